#!/usr/bin/env bash
# The OCI runtime-spec validation suite (opencontainers/runtime-tools) against
# nsbox-runtime, runc and crun, one line per validation file with each one's verdict.
#
#   scripts/runtime-tools.sh RUNTIME_TOOLS_CHECKOUT [OUTDIR]
#   ONLY="kill state" scripts/runtime-tools.sh RUNTIME_TOOLS_CHECKOUT [OUTDIR]
#
# The checkout (commit 260e151 was used) builds offline from its vendored sources with
# Debian's golang-go (1.19). CI cannot fetch it, so this script is run by hand, as
# root, with no other test creating containers meanwhile. `runtimetest` is linked
# statically: the suite's rootfs has no libc, and a dynamic one reports nothing.
# A file passes when it exits 0 and prints no "not ok" and no error of its own: the
# suite reports a failed lifecycle step as a diagnostic that follows no test, and a
# *_fail file passes by exiting 0 once the runtime refused its config.
set -euo pipefail
src=$(realpath "${1:?usage: scripts/runtime-tools.sh RUNTIME_TOOLS_CHECKOUT [OUTDIR]}")
out=$(realpath -m "${2:-$(mktemp -d /tmp/runtime-tools-XXXXXX)}")
here=$(cd "$(dirname "$0")/.." && pwd)
ours="$here/bin/nsbox-runtime"
command -v go >/dev/null || { echo "runtime-tools: needs golang-go (apt-get install golang-go)" >&2; exit 1; }
command -v runc >/dev/null || { echo "runtime-tools: needs runc for the comparison" >&2; exit 1; }
command -v crun >/dev/null || { echo "runtime-tools: needs crun for the comparison (apt-get install crun)" >&2; exit 1; }
mkdir -p "$out"
# crun 1.8 refuses a hybrid host while cgroup2 is mounted beside the v1 hierarchies, so
# it runs in a mount namespace of its own without that mount (on a host of one kind
# the umount fails and nothing changes).
cat > "$out/crun" <<'SH'
#!/bin/sh
exec unshare --mount --propagation slave sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec crun "$@"' crun "$@"
SH
chmod +x "$out/crun"
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
  for id in $(ls /run/crun 2>/dev/null); do "$out/crun" delete -f "$id" >/dev/null 2>&1 || true; done
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

passes() { # TAPFILE EXITCODE -> 0 when the file passed
  [ "$2" -eq 0 ] || return 1
  python3 - "$1" <<'PY'
import json, sys
last, block = None, None  # the last TAP line's kind; the diagnostic being read
for line in open(sys.argv[1], errors='replace').read().splitlines():
    if block is not None:
        if line.strip() != '...':
            block.append(line)
            continue
        try:
            fatal = last != 'ok' and 'error' in json.loads('\n'.join(block))
        except ValueError:
            fatal = True
        if fatal: sys.exit(1)
        block = None
        continue
    if line.startswith('not ok'): sys.exit(1)
    if line.startswith('ok'): last = 'ok'
    elif line.startswith('1..'): last = 'plan'
    elif line.strip() == '---': block = []
sys.exit(0)
PY
}

declare -A passed=([ours]=0 [runc]=0 [crun]=0)
printf '%-36s %-22s %-22s %s\n' validation nsbox-runtime runc crun
for t in "${tests[@]}"; do
  # ONLY="file file..." runs those files alone, when working on them.
  if [ -n "${ONLY:-}" ]; then case " $ONLY " in *" $t "*) ;; *) continue ;; esac; fi
  line=()
  for rt in ours runc crun; do
    case $rt in ours) bin=$ours ;; runc) bin=$(command -v runc) ;; crun) bin=$out/crun ;; esac
    rc=0
    RUNTIME="$bin" timeout 180 "./validation/$t/$t.t" > "$out/$t.$rt.tap" 2>&1 || rc=$?
    echo "$rc" > "$out/$t.$rt.rc"
    cleanup
    read -r ok nok < <(count "$out/$t.$rt.tap")
    verdict=fail
    passes "$out/$t.$rt.tap" "$rc" && { verdict=pass; passed[$rt]=$((passed[$rt] + 1)); }
    line+=("$verdict ($ok ok, $nok not)")
  done
  printf '%-36s %-22s %-22s %s\n' "$t" "${line[@]}"
done
echo "files passing: nsbox-runtime ${passed[ours]}, runc ${passed[runc]}, crun ${passed[crun]} of ${#tests[@]} (TAP output in $out)"
