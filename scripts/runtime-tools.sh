#!/usr/bin/env bash
# The OCI runtime-spec validation suite (opencontainers/runtime-tools) against
# nsbox-runtime and runc, one line per validation file with both counts.
#
#   scripts/runtime-tools.sh RUNTIME_TOOLS_CHECKOUT [OUTDIR]
#
# The checkout (commit 260e151 was used) builds offline from its vendored sources with
# Debian's golang-go (1.19). CI cannot fetch it, so this script is run by hand, as
# root, with no other test creating containers meanwhile. `runtimetest` is linked
# statically: the suite's rootfs has no libc, and a dynamic one reports nothing.
# A file passes when it printed at least one "ok" and no "not ok".
set -euo pipefail
src=$(realpath "${1:?usage: scripts/runtime-tools.sh RUNTIME_TOOLS_CHECKOUT [OUTDIR]}")
out=$(realpath -m "${2:-$(mktemp -d /tmp/runtime-tools-XXXXXX)}")
here=$(cd "$(dirname "$0")/.." && pwd)
ours="$here/bin/nsbox-runtime"
command -v go >/dev/null || { echo "runtime-tools: needs golang-go (apt-get install golang-go)" >&2; exit 1; }
command -v runc >/dev/null || { echo "runtime-tools: needs runc for the comparison" >&2; exit 1; }
export GOFLAGS=-mod=vendor GOCACHE="$out/gocache" GOPATH="$out/gopath"
cd "$src"
CGO_ENABLED=0 go build -tags 'netgo osusergo' -ldflags '-extldflags -static' -o runtimetest ./cmd/runtimetest
tests=()
for d in validation/*/; do
  t=$(basename "$d")
  [ "$t" = util ] && continue
  go build -o "validation/$t/$t.t" "./validation/$t"
  tests+=("$t")
done

# What a validation leaves behind: containers, its cgroups, bundles and their mounts.
cleanup() {
  for id in $(ls /run/nsbox-runtime 2>/dev/null); do "$ours" delete -f "$id" >/dev/null 2>&1 || true; done
  for id in $(ls /run/runc 2>/dev/null); do runc delete -f "$id" >/dev/null 2>&1 || true; done
  grep -o " /tmp/ocitest[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf /tmp/ocitest*
  for h in /sys/fs/cgroup/*/; do
    for d in testdir cgrouptest; do [ -d "$h$d" ] && find "$h$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  done
  true
}

count() { # FILE -> "OK NOTOK"
  echo "$(grep -c '^ok' "$1" || true) $(grep -c '^not ok' "$1" || true)"
}

passed_ours=0
passed_runc=0
printf '%-36s %-16s %s\n' validation nsbox-runtime runc
for t in "${tests[@]}"; do
  for rt in ours runc; do
    bin=$([ "$rt" = ours ] && echo "$ours" || command -v runc)
    RUNTIME="$bin" timeout 180 "./validation/$t/$t.t" > "$out/$t.$rt.tap" 2>&1 || true
    cleanup
  done
  read -r ok_o nok_o < <(count "$out/$t.ours.tap")
  read -r ok_r nok_r < <(count "$out/$t.runc.tap")
  [ "$ok_o" -gt 0 ] && [ "$nok_o" -eq 0 ] && passed_ours=$((passed_ours + 1))
  [ "$ok_r" -gt 0 ] && [ "$nok_r" -eq 0 ] && passed_runc=$((passed_runc + 1))
  printf '%-36s %-16s %s\n' "$t" "$ok_o ok, $nok_o not" "$ok_r ok, $nok_r not"
done
echo "files passing: nsbox-runtime $passed_ours, runc $passed_runc of ${#tests[@]} (TAP output in $out)"
