#!/usr/bin/env bash
# npm run test:asan: builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer,
# runs the whole suite with the sanitizer runtimes preloaded into Node (Node itself is
# not instrumented), and rebuilds the normal addon afterwards. Any report aborts the
# process that made it, so a green suite means zero reports.
set -euo pipefail
cd "$(dirname "$0")/.."
asan=$(gcc -print-file-name=libasan.so)
ubsan=$(gcc -print-file-name=libubsan.so)
restore() { npx node-gyp rebuild >/dev/null; }
trap restore EXIT
npx node-gyp rebuild -- -Dsanitize=1 >/dev/null
grep -q __asan_init build/Release/nsbox.node || { echo "test:asan: the addon is not instrumented" >&2; exit 1; }
npx tsc -p tsconfig.json
# Node leaks on purpose at exit; everything else is reported and fatal.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Node processes get the runtimes; test/helpers.ts keeps them from the other programs
# the tests start (sh, ps, python3), some of which hang with them.
LD_PRELOAD="$asan:$ubsan" npx ava "$@"
