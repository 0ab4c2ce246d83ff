#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unit tests of gannetctl's pure parts and the shared client modules:
# kubeconfig parsing/merging (test-kubeconfig), tables, ages, per-kind
# columns, resource-kind mapping and apply's three-way merge (test-ctl).
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
rc=0
for t in test-kubeconfig test-ctl; do
	bin=$BUILD/bin/$t
	if [ ! -x "$bin" ]; then
		echo "missing $bin (run make)"
		exit 1
	fi
	echo "--- $t"
	"$bin" || rc=1
done
exit $rc
