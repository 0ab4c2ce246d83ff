#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole API suite (50-apiserver.sh) again with the etcd v3 backend: a
# local single-member etcd on 127.0.0.1 random ports in a temp dir, the
# server started with --store etcd:http://...; the Secret-at-rest check
# greps etcd's own database files. Skips when etcd is not installed.
set -u
cd "$(dirname "$0")/../.."
command -v etcd >/dev/null || { echo "etcd not installed"; exit 77; }
E=$(mktemp -d /tmp/gannet-54-etcd.XXXXXX)
EP=
cleanup() { [ -n "$EP" ] && kill "$EP" 2>/dev/null && wait "$EP" 2>/dev/null; rm -rf "$E"; }
trap cleanup EXIT
port() { local p; while :; do p=$((20000 + RANDOM % 40000)); ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }; done; }
C=$(port); P=$(port)
etcd --name gannet-test --data-dir "$E/data" \
	--listen-client-urls "http://127.0.0.1:$C" --advertise-client-urls "http://127.0.0.1:$C" \
	--listen-peer-urls "http://127.0.0.1:$P" --initial-advertise-peer-urls "http://127.0.0.1:$P" \
	--initial-cluster "gannet-test=http://127.0.0.1:$P" >"$E/etcd.log" 2>&1 &
EP=$!
for _ in $(seq 1 100); do
	curl -sf "http://127.0.0.1:$C/health" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -sf "http://127.0.0.1:$C/health" >/dev/null || { echo "etcd did not start"; tail "$E/etcd.log"; exit 1; }
export APISERVER_EXTRA_ARGS="--store etcd:http://127.0.0.1:$C"
export APISERVER_DB_FILES_DIR="$E/data"
tests/suites/50-apiserver.sh
