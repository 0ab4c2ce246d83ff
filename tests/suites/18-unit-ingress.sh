#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Ingress renderer unit tests (no root, no network): host/path precedence,
# wildcard hosts, Exact vs Prefix, default backend, TLS + redirect, named
# ports, missing Service/Secret -> 503 for that route + status, invalid
# input, legacy serviceName/servicePort, class selection, determinism; every
# rendered config goes through `nginx -t` when nginx is installed. Then the
# CLI on a YAML snapshot: same output twice, and --check accepts it.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
bin=$BUILD/tests/unit/ingress_render_test
cli=$BUILD/bin/gannet-ingress-render
for b in "$bin" "$cli"; do
	if [ ! -x "$b" ]; then
		echo "FAIL: missing $b (run make first)"
		exit 1
	fi
done
rc=0
echo "--- $bin"
out=$("$bin" 2>&1)
st=$?
echo "$out"
if [ $st -ne 0 ] || ! grep -Eq '^[1-9][0-9]* passed, 0 failed$' <<<"$out"; then
	echo "FAIL: $bin (exit $st)"
	rc=1
fi
if command -v nginx >/dev/null && grep -q '^note: nginx not installed' <<<"$out"; then
	echo "FAIL: nginx is installed but the nginx -t checks did not run"
	rc=1
fi

echo "--- $cli"
tmp=$(mktemp -d /tmp/gannet-ingress-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/snap.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: shop}
subsets:
- addresses: [{ip: 10.244.1.7}, {ip: 10.244.0.3}]
  ports: [{name: http, port: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  ingressClassName: gannet
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {name: http}}}}
      - {path: /cart, pathType: Exact, backend: {service: {name: cart, port: {number: 80}}}}
YAML
a=$("$cli" -l 127.0.0.1:18080 --status "$tmp/st.json" "$tmp/snap.yaml") || { echo "FAIL: render"; rc=1; }
b=$("$cli" -l 127.0.0.1:18080 "$tmp/snap.yaml")
[ "$a" = "$b" ] || { echo "FAIL: two renders differ"; rc=1; }
grep -q 'server 10.244.0.3:8080 max_fails=0;' <<<"$a" || { echo "FAIL: upstream server missing"; rc=1; }
grep -q 'server_name shop.example.com;' <<<"$a" || { echo "FAIL: server_name missing"; rc=1; }
jq -e '."shop/shop".errors == ["service shop/cart not found (503)"]' "$tmp/st.json" >/dev/null ||
	{ echo "FAIL: status"; cat "$tmp/st.json"; rc=1; }
if command -v nginx >/dev/null; then
	"$cli" -q -l 127.0.0.1:18080 -p "$tmp/pfx" --check "$tmp/snap.yaml" || { echo "FAIL: nginx -t"; rc=1; }
fi
[ $rc -eq 0 ] && echo "ok"
exit $rc
