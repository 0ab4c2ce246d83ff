#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy engine (policies/): the unit test (every NetworkPolicy
# semantic, incremental change sets, identities, ipcache, validation
# errors, randomized incremental-vs-full and entries-vs-trace checks), then
# a short libFuzzer run (make fuzz-policy; clang + libclang-rt) whose target
# aborts on any engine invariant violation. No root, no kernel.
#   POLICY_FUZZ_SECONDS=0 skips the fuzz run; BUILD=build-san runs the unit
#   test under ASan/UBSan.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
FUZZ_SECONDS=${POLICY_FUZZ_SECONDS:-30}
rc=0
bin=$BUILD/tests/unit/policy_test
if [ ! -x "$bin" ]; then
	echo "FAIL: missing $bin (run make first)"
	exit 1
fi
echo "--- $bin"
out=$("$bin" 2>&1)
st=$?
echo "$out"
# The summary line must be there: a crash before it is a failure.
if [ $st -ne 0 ] || ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' <<<"$out"; then
	echo "FAIL: $bin (exit $st)"
	rc=1
fi

if [ "$FUZZ_SECONDS" = 0 ]; then
	echo "fuzz run disabled (POLICY_FUZZ_SECONDS=0)"
	exit $rc
fi
echo "--- make fuzz-policy"
if ! command -v clang >/dev/null; then
	echo "fuzz part skipped: clang not installed"
	exit $rc
fi
if ! make -s BUILD="$BUILD" fuzz-policy >/tmp/policy-fuzz-build.$$ 2>&1; then
	if grep -qi 'fuzzer' /tmp/policy-fuzz-build.$$ && grep -qi 'cannot find\|not found\|No such file' /tmp/policy-fuzz-build.$$; then
		echo "fuzz part skipped: no libFuzzer runtime (libclang-rt-14-dev)"
	else
		cat /tmp/policy-fuzz-build.$$
		echo "FAIL: building the fuzz target"
		rc=1
	fi
	rm -f /tmp/policy-fuzz-build.$$
	exit $rc
fi
rm -f /tmp/policy-fuzz-build.$$
corpus=$(mktemp -d /tmp/policy-fuzz-corpus.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
cp tests/fuzz/policy_corpus/* "$corpus"/
echo "--- policy_fuzz for ${FUZZ_SECONDS}s"
"$BUILD/fuzz/policy_fuzz" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=1024 -timeout=20 \
	-dict=tests/fuzz/policy.dict -artifact_prefix="$corpus/" "$corpus" >"$corpus/log" 2>&1
st=$?
tail -n 5 "$corpus/log"
if [ $st -ne 0 ]; then
	echo "FAIL: fuzzer found a crash or invariant violation:"
	grep -v '^#' "$corpus/log" | tail -n 40
	for a in "$corpus"/crash-* "$corpus"/leak-* "$corpus"/timeout-*; do
		[ -f "$a" ] && { echo "input $a:"; head -c 2000 "$a"; echo; }
	done
	rc=1
fi
exit $rc
