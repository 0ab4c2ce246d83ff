#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Maglev table unit tests (no root): evenness, order independence,
# disruption on removal/addition, weights. BUILD=build-san runs it under
# ASan/UBSan.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
rc=0
bin=$BUILD/tests/unit/maglev_test
if [ ! -x "$bin" ]; then
	echo "FAIL: missing $bin (run make first)"
	rc=1
else
	echo "--- $bin"
	out=$("$bin" 2>&1)
	st=$?
	echo "$out"
	# The summary line must be there: a crash before it is a failure.
	if [ $st -ne 0 ] || ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' <<<"$out"; then
		echo "FAIL: $bin (exit $st)"
		rc=1
	fi
fi
exit $rc
