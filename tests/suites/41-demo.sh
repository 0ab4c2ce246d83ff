#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The demo (make demo) works end to end and leaves nothing behind: it must
# exit 0 (pods on different nodes talk), and afterwards no namespace, pin
# directory or state directory of its run may remain.
set -u
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
[ -x "${BUILD:-build}/bin/gannet-agent" ] || { echo "SKIP: gannet-agent not built"; exit 77; }
run=gc$$demo
CL_RUN=$run scripts/demo.sh
rc=$?
[ $rc -eq 0 ] || { echo "demo failed rc=$rc"; exit 1; }
left=$(ip netns list | awk '{print $1}' | grep "^$run-")
[ -z "$left" ] || { echo "demo left namespaces: $left"; exit 1; }
[ ! -e "/sys/fs/bpf/gannet-test-$run" ] || { echo "demo left pins"; exit 1; }
[ ! -e "/tmp/gannet-test-$run" ] || { echo "demo left state"; exit 1; }
echo "demo passed and cleaned up"
