#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# API security module (no root needed).
#  1. Unit tests: PKI bootstrap and client-certificate authentication,
#     static and ServiceAccount tokens (auth_test), RBAC evaluation
#     (rbac_test), Secrets encryption (secretbox_test).
#  2. Interop: the generated PKI and kubeconfig checked by independent
#     implementations: kubectl parses the kubeconfig; openssl s_server on
#     127.0.0.1 with the serving cert and client-cert verification against
#     our CA accepts curl and kubectl with the admin credential and refuses
#     no cert / a foreign CA's cert; authn maps certs and tokens to users;
#     secretbox output never contains the plaintext.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
U=$BUILD/tests/unit
rc=0
fail() { echo "FAIL: $*"; rc=1; }

for t in auth_test rbac_test secretbox_test; do
	bin=$U/$t
	if [ ! -x "$bin" ]; then
		fail "missing $bin (run make first)"
		continue
	fi
	echo "--- $t"
	out=$("$bin" 2>&1)
	st=$?
	echo "$out"
	# Require a clean summary as well as the exit code: a crash before
	# the summary must not look like success.
	if [ $st -ne 0 ] || ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' <<<"$out"; then
		fail "$t (exit $st)"
	fi
done

TOOL=$U/auth_tool
[ -x "$TOOL" ] || { fail "missing $TOOL"; exit 1; }
TMP=$(mktemp -d /tmp/gannet-auth-XXXXXX)
SRV_PID=
cleanup() {
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

echo "--- PKI bootstrap + kubeconfig"
D=$TMP/data
"$TOOL" bootstrap "$D" https://127.0.0.1:6443 2>/dev/null || fail "bootstrap"
"$TOOL" bootstrap "$TMP/other" https://127.0.0.1:6443 2>/dev/null || fail "bootstrap other"
for k in pki/ca.key pki/server.key pki/admin.key admin.kubeconfig; do
	m=$(stat -c %a "$D/$k" 2>/dev/null)
	[ "$m" = 600 ] || fail "$k mode $m, want 600"
done
if command -v kubectl >/dev/null; then
	KC="kubectl --kubeconfig $D/admin.kubeconfig"
	[ "$($KC config current-context)" = admin@gannet ] || fail "kubectl current-context"
	$KC config view --raw -o jsonpath='{.users[0].user.client-certificate-data}' | base64 -d >"$TMP/kc-admin.crt"
	cmp -s "$TMP/kc-admin.crt" "$D/pki/admin.crt" || fail "kubeconfig client cert differs from admin.crt"
	$KC config view --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$TMP/kc-ca.crt"
	cmp -s "$TMP/kc-ca.crt" "$D/pki/ca.crt" || fail "kubeconfig CA differs from ca.crt"
else
	echo "note: kubectl not installed, kubeconfig parse check skipped"
fi

echo "--- authn: who is who"
"$TOOL" node "$D" https://127.0.0.1:6443 n1 "$TMP/n1.kubeconfig" 2>/dev/null || fail "node kubeconfig"
w=$("$TOOL" whoami "$D" --cert "$D/pki/admin.crt" 2>/dev/null)
[ "$w" = "user=admin uid= groups=system:masters,system:authenticated" ] || fail "admin whoami: $w"
w=$("$TOOL" whoami "$D" --cert "$D/pki/nodes/n1.crt" 2>/dev/null)
[ "$w" = "user=system:node:n1 uid= groups=system:nodes,system:authenticated" ] || fail "node whoami: $w"
w=$("$TOOL" whoami "$D" --cert "$TMP/other/pki/admin.crt" 2>/dev/null)
[ "$w" = unauthenticated ] || fail "foreign CA accepted: $w"
w=$("$TOOL" whoami "$D" --cert "$D/pki/server.crt" 2>/dev/null)
[ "$w" = unauthenticated ] || fail "serving cert accepted as client: $w"
tok=$("$TOOL" sa-token "$D" default builder 2>/dev/null)
w=$("$TOOL" whoami "$D" --token "$tok" 2>/dev/null)
[ "$w" = "user=system:serviceaccount:default:builder uid= groups=system:serviceaccounts,system:serviceaccounts:default,system:authenticated" ] ||
	fail "sa whoami: $w"
w=$("$TOOL" whoami "$TMP/other" --token "$tok" 2>/dev/null)
[ "$w" = unauthenticated ] || fail "SA token accepted by another cluster: $w"
printf 'abcdefgh12345678,ci,7,"deploy,audit"\n' >"$TMP/tokens.csv"
chmod 600 "$TMP/tokens.csv"
w=$("$TOOL" whoami "$D" --token-file "$TMP/tokens.csv" --token abcdefgh12345678 2>/dev/null)
[ "$w" = "user=ci uid=7 groups=deploy,audit,system:authenticated" ] || fail "static token whoami: $w"
w=$("$TOOL" whoami "$D" --token-file "$TMP/tokens.csv" --token abcdefgh1234567 2>/dev/null)
[ "$w" = unauthenticated ] || fail "token prefix accepted: $w"
w=$("$TOOL" whoami "$D" 2>/dev/null)
[ "$w" = unauthenticated ] || fail "anonymous accepted: $w"

echo "--- secretbox at rest"
plain='{"kind":"Secret","data":{"password":"c3VwZXJzZWNyZXQ="},"stringData":"hunter2-hunter2"}'
printf '%s' "$plain" | "$TOOL" seal "$D/secrets.key" >"$TMP/sealed" 2>/dev/null || fail "seal"
grep -q '^gannet:aesgcm:v1:' "$TMP/sealed" || fail "sealed prefix"
grep -q -e hunter2 -e c3VwZXJzZWNyZXQ -e password "$TMP/sealed" && fail "plaintext visible in sealed output"
[ "$("$TOOL" open "$D/secrets.key" <"$TMP/sealed" 2>/dev/null)" = "$plain" ] || fail "open roundtrip"
"$TOOL" open "$TMP/other.key" <"$TMP/sealed" >/dev/null 2>&1 && fail "opened with the wrong key"
[ "$(stat -c %a "$D/secrets.key")" = 600 ] || fail "secrets.key mode"

echo "--- TLS interop (openssl s_server, curl, kubectl)"
if command -v openssl >/dev/null && command -v curl >/dev/null; then
	port=
	for try in 1 2 3 4 5; do
		p=$((20000 + RANDOM % 40000))
		openssl s_server -accept "127.0.0.1:$p" -cert "$D/pki/server.crt" -key "$D/pki/server.key" \
			-CAfile "$D/pki/ca.crt" -Verify 1 -verify_return_error -www -quiet \
			>"$TMP/s_server.log" 2>&1 &
		SRV_PID=$!
		for _ in $(seq 50); do
			if ! kill -0 "$SRV_PID" 2>/dev/null; then break; fi
			if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
			sleep 0.1
		done
		[ -n "$port" ] && break
		kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; SRV_PID=
	done
	if [ -z "$port" ]; then
		fail "could not start openssl s_server"
	else
		C="curl -sS --max-time 10 --cacert $D/pki/ca.crt"
		for host in localhost 127.0.0.1; do
			out=$($C --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" "https://$host:$port/")
			grep -q 's_server' <<<"$out" || fail "curl with admin cert via $host"
		done
		$C "https://127.0.0.1:$port/" >/dev/null 2>&1 && fail "server accepted a client without certificate"
		$C --cert "$TMP/other/pki/admin.crt" --key "$TMP/other/pki/admin.key" "https://127.0.0.1:$port/" \
			>/dev/null 2>&1 && fail "server accepted a foreign CA's client cert"
		# our CA must not vouch for a different server key: the other
		# cluster's CA refuses this server
		curl -sS --max-time 10 --cacert "$TMP/other/pki/ca.crt" "https://127.0.0.1:$port/" \
			>/dev/null 2>&1 && fail "foreign CA trusted our server"
		if command -v kubectl >/dev/null; then
			out=$(timeout 20 kubectl --kubeconfig "$D/admin.kubeconfig" \
				--server "https://127.0.0.1:$port" get --raw / 2>&1)
			grep -q 's_server' <<<"$out" || fail "kubectl over TLS with admin.kubeconfig: $out"
			out=$(timeout 20 kubectl --kubeconfig "$TMP/n1.kubeconfig" \
				--server "https://localhost:$port" get --raw / 2>&1)
			grep -q 's_server' <<<"$out" || fail "kubectl over TLS with node kubeconfig: $out"
		fi
	fi
else
	echo "note: openssl or curl missing, TLS interop skipped"
fi

[ $rc -eq 0 ] && echo "all auth checks passed"
exit $rc
