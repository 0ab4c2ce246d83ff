#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unit tests of the API security module (no root needed): PKI bootstrap and
# client-certificate authentication, static and ServiceAccount tokens
# (auth_test), RBAC evaluation (rbac_test), Secrets encryption (secretbox_test).
# Each binary prints "N passed, M failed" and exits non-zero on failure.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
rc=0
for t in auth_test rbac_test secretbox_test; do
	bin=$BUILD/tests/unit/$t
	if [ ! -x "$bin" ]; then
		echo "missing $bin (run make first)"
		rc=1
		continue
	fi
	echo "--- $t"
	out=$("$bin" 2>&1)
	st=$?
	echo "$out"
	# Require a clean summary as well as the exit code: a crash before
	# the summary must not look like success.
	if [ $st -ne 0 ] || ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' <<<"$out"; then
		echo "FAIL: $t (exit $st)"
		rc=1
	fi
done
exit $rc
