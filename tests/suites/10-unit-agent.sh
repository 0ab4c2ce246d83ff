#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unit tests of the agent's pure modules (no root needed): IPAM allocator
# and store, agent YAML config, CNI env/config validation and error JSON.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
rc=0
for t in ipam_test agentcfg_test cni_test; do
	bin=$BUILD/tests/unit/$t
	if [ ! -x "$bin" ]; then
		echo "missing $bin (run make)"; rc=1; continue
	fi
	echo "--- $t"
	"$bin" || rc=1
done
exit $rc
