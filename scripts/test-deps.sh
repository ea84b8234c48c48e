#!/usr/bin/env bash
# What the test suite needs beyond the library: busybox-static for minimal rootfs
# directories. Installed with apt-get when missing (the tests run as root anyway).
set -euo pipefail
if [ ! -x /bin/busybox ]; then
  echo "test: installing busybox-static with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq busybox-static >/dev/null
fi
