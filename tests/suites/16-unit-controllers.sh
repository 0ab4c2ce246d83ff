#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unit tests of the controllers' pure decisions (tests/unit/controllers_test.c):
# ReplicaSet scale/adoption, Deployment rollouts simulated step by step,
# DaemonSet placement, node IPAM, node lifecycle timing, GC verdicts, the
# work queue and the informer cache. No server, no root.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
bin=$BUILD/bin/test-controllers
[ -x "$bin" ] || { echo "missing $bin (run make)"; exit 1; }
out=$("$bin" 2>&1)
st=$?
echo "$out"
# A crash before the summary must not look like success.
if [ $st -ne 0 ] || ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' <<<"$out"; then
	exit 1
fi
