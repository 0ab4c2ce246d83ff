#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Unit tests of the container runtime library's pure parts (no root, no
# runc): OCI config generation from container specs (securityContext,
# capabilities, no_new_privs, read-only root, mounts, env, resources), bad
# input, quantities, back-off sequence, log records, image references.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
bin=$BUILD/tests/unit/runtime_test
if [ ! -x "$bin" ]; then
	echo "missing $bin (run make)"
	exit 1
fi
"$bin"
