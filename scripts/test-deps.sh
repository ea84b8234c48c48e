#!/usr/bin/env bash
# What the test suite needs beyond the library: busybox-static for minimal rootfs
# directories; containerd (with ctr and its runc shim) and umoci for the end-to-end
# tests of the runtime command line; runc, to run the same config for comparison;
# python3 as a console socket's receiving end; losetup for a disk to throttle; Docker,
# podman and buildah for the clients' end-to-end suite.
# Installed with apt-get when missing (the tests run as root anyway).
set -euo pipefail
need=()
[ -x /bin/busybox ] || need+=(busybox-static)
command -v containerd >/dev/null 2>&1 && command -v ctr >/dev/null 2>&1 || need+=(containerd)
command -v umoci >/dev/null 2>&1 || need+=(umoci)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v losetup >/dev/null 2>&1 || need+=(mount)
# Debian's own python3: containers on the host's view run it (a pyenv under /root is hidden there).
[ -x /usr/bin/python3 ] || need+=(python3)
command -v script >/dev/null 2>&1 || need+=(bsdutils)
# The clients of the end-to-end suite (test/clients.test.ts).
command -v dockerd >/dev/null 2>&1 && [ -x /usr/bin/docker ] || need+=(docker.io)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
if [ ${#need[@]} -gt 0 ]; then
  echo "test: installing ${need[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
