#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Security module cost per request, one thread (tests/bench/auth_bench.c):
# authentication (static token among N, ServiceAccount JWS, client cert),
# RBAC on the default policy plus N namespaces with RoleBindings to
# admin/edit/view, and Secret sealing. Each group is compared with a floor
# measured in the same run: one SHA-256 of the token, the system:masters
# short cut, bare AES-256-GCM of the same 2 KiB.
#
#   BENCH_MS=300 BENCH_N=1000 tests/bench/bench-auth.sh
set -u
GANNET_ROOT=${GANNET_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
BIN=$GANNET_ROOT/$BUILD/tests/bench/auth_bench
MS=${BENCH_MS:-300}
N=${BENCH_N:-1000}
[ -x "$BIN" ] || { echo "missing $BIN (run make)"; exit 1; }
PIN=
command -v taskset >/dev/null && PIN="taskset -c 0"

out=$($PIN "$BIN" "$MS" "$N" 2>/dev/null) || { echo "auth_bench failed"; exit 1; }
if grep -q ERRORS <<<"$out"; then
	echo "auth_bench reported failed operations:"
	echo "$out"
	exit 1
fi
get() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }

row() { # label name floor_name
	local v f
	v=$(get "$2"); f=$(get "$3")
	awk -v l="$1" -v v="$v" -v f="$f" 'BEGIN {
		printf "%-44s %12.0f %12.0f %10.1f\n", l, v, (v > 0 ? 1e9 / v : 0), (f > 0 ? v / f : 0) }'
}

printf '\nAPI security cost per request: one thread, %d static tokens, %d namespaces with RoleBindings\n\n' "$N" "$N"
printf '%-44s %12s %12s %10s\n' operation ns/op ops/s "x floor"
row "floor: SHA-256 of a token"                  authn_floor_sha256 authn_floor_sha256
row "authn: static token (sorted digests)"       authn_static_token authn_floor_sha256
row "authn: unknown token (static + JWS shape)"  authn_reject_bad_token authn_floor_sha256
row "authn: ServiceAccount token (HS256 JWS)"    authn_sa_token authn_floor_sha256
row "authn: client cert (verified, cached)"      authn_client_cert authn_floor_sha256
row "  ref: X509 parse+verify (a cache miss)"   x509_verify_uncached authn_floor_sha256
echo
row "floor: system:masters short cut"            authz_floor_masters authz_floor_masters
row "authz: node via ClusterRoleBinding"         authz_node_crb authz_floor_masters
row "authz: admin RB, rule via admin<-edit<-view" authz_rb_admin_via_view authz_floor_masters
row "authz: admin RB, rule via aggregate-to-admin" authz_rb_admin_direct authz_floor_masters
row "authz: denied (all bindings scanned)"        authz_deny authz_floor_masters
echo
row "floor: AES-256-GCM 2 KiB (no framing)"      box_floor_gcm_2k box_floor_gcm_2k
row "secretbox: seal 2 KiB Secret"               box_seal_2k box_floor_gcm_2k
row "secretbox: open 2 KiB Secret"               box_open_2k box_floor_gcm_2k
