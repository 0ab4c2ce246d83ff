#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of gannetctl against a live gannet-apiserver (HTTPS,
# client-certificate kubeconfig written by the server, 127.0.0.1 only):
# apply of a directory, a multi-document file and stdin; re-apply is a no-op;
# changed manifests update and removed fields go away; get in every output
# format with -l/-n/-A; get -w sees another client's changes; describe;
# delete by name, -f and -l; exit codes and messages for not found, server
# validation errors, malformed YAML (nothing applied), bad kubeconfig and an
# unreachable server.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
CTL=$PWD/$BUILD/bin/gannetctl

[ -x "$CTL" ] || { echo "missing $CTL (run make)"; exit 1; }
[ -x "$BUILD/bin/gannet-apiserver" ] || { echo "skip: gannet-apiserver not built"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

TMP=$(mktemp -d /tmp/gannetctl-test.XXXXXX)
WATCH_PID=
# shellcheck source=../lib/apiserver.sh
. tests/lib/apiserver.sh
cleanup() {
	[ -n "$WATCH_PID" ] && kill "$WATCH_PID" 2>/dev/null
	apiserver_cleanup
	rm -rf "$TMP"
}
APISERVER_NO_TRAP=1
trap cleanup EXIT
apiserver_start || { echo "FAIL: could not start gannet-apiserver"; exit 1; }
[ -f "$KUBECONFIG" ] || { echo "FAIL: no kubeconfig at $KUBECONFIG"; exit 1; }

# ---- helpers ------------------------------------------------------------
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok   $*"; }
# run EXPECTED_RC ARGS...: runs gannetctl, keeps stdout in $OUT, stderr in $ERR
run() {
	local want=$1; shift
	"$CTL" "$@" >"$TMP/out" 2>"$TMP/err"
	RC=$?
	OUT=$(cat "$TMP/out"); ERR=$(cat "$TMP/err")
	if [ "$RC" != "$want" ]; then
		fail "gannetctl $* exited $RC, expected $want"
		echo "    stdout: $OUT" | head -20
		echo "    stderr: $ERR" | head -20
		return 1
	fi
	return 0
}
has() { grep -qE -- "$2" <<<"$1" || { fail "$3: missing /$2/ in:"; sed 's/^/    /' <<<"$1" | head -30; return 1; }; }
hasnt() { ! grep -qE -- "$2" <<<"$1" || { fail "$3: unexpected /$2/ in:"; sed 's/^/    /' <<<"$1" | head -30; return 1; }; }

# ---- apply: directory, multi-doc file, stdin -----------------------------
run 0 apply -f examples/ && {
	has "$OUT" '^namespace/demo created$' "apply dir"
	has "$OUT" '^configmap/web-config created$' "apply dir"
	has "$OUT" '^secret/web-credentials created$' "apply dir"
	has "$OUT" '^deployment.apps/web created$' "apply dir"
	has "$OUT" '^service/web created$' "apply dir"
	has "$OUT" '^service/web-nodeport created$' "apply dir (2nd doc of a file)"
	has "$OUT" '^networkpolicy.networking.k8s.io/web-allow-clients created$' "apply dir"
	has "$OUT" '^ingress.networking.k8s.io/web created$' "apply dir"
	has "$OUT" '^role.rbac.authorization.k8s.io/pod-reader created$' "apply dir"
	has "$OUT" '^rolebinding.rbac.authorization.k8s.io/read-pods created$' "apply dir"
	[ "$(wc -l <<<"$OUT")" = 11 ] || fail "apply dir: expected 11 objects, got $(wc -l <<<"$OUT")"
	pass "apply directory (11 objects)"
}
run 0 apply -f examples/ && {
	[ "$(grep -c ' unchanged$' <<<"$OUT")" = 11 ] || fail "re-apply should leave all 11 unchanged: $OUT"
	pass "re-apply of unchanged manifests is a no-op"
}
run 0 apply -f examples/bundle/shop.yaml && {
	has "$OUT" '^namespace/shop created$' "multi-doc"
	has "$OUT" '^configmap/shop-config created$' "multi-doc"
	has "$OUT" '^deployment.apps/cart created$' "multi-doc"
	has "$OUT" '^service/cart created$' "multi-doc"
	pass "apply multi-document file"
}
"$CTL" apply -n shop -f - >"$TMP/out" 2>"$TMP/err" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: from-stdin
  labels: {origin: stdin, app: web}
data:
  k: v1
  drop-me: "x"
EOF
[ $? = 0 ] && has "$(cat "$TMP/out")" '^configmap/from-stdin created$' "stdin" && pass "apply from stdin with -n"

# Update: changed value configured, removed key removed, resourceVersion moves.
rv1=$("$CTL" get cm from-stdin -n shop -o json | jq -r .metadata.resourceVersion)
"$CTL" apply -n shop -f - >"$TMP/out" 2>"$TMP/err" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: from-stdin
  labels: {origin: stdin, app: web}
data:
  k: v2
EOF
has "$(cat "$TMP/out")" '^configmap/from-stdin configured$' "update" && {
	run 0 get cm from-stdin -n shop -o json
	[ "$(jq -r .data.k <<<"$OUT")" = v2 ] || fail "update: data.k is $(jq -r .data.k <<<"$OUT")"
	[ "$(jq -r '.data["drop-me"]' <<<"$OUT")" = null ] || fail "update: removed key still present"
	[ "$(jq -r .metadata.resourceVersion <<<"$OUT")" != "$rv1" ] || fail "update: resourceVersion unchanged"
	jq -e '.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"] | fromjson | .data.k == "v2"' \
		<<<"$OUT" >/dev/null || fail "update: last-applied annotation not recorded"
	pass "re-apply with changes: configured, removed field removed, annotation kept"
}
# Deployment scale via a changed manifest.
sed 's/replicas: 2/replicas: 3/' examples/20-deployment.yaml >"$TMP/deploy3.yaml"
run 0 apply -f "$TMP/deploy3.yaml" && has "$OUT" '^deployment.apps/web configured$' "deploy update" &&
	[ "$("$CTL" get deploy web -n demo -o json | jq .spec.replicas)" = 3 ] && pass "deployment configured (replicas 3)"
run 0 apply -f examples/20-deployment.yaml && has "$OUT" 'configured' "deploy revert"

# ---- get -----------------------------------------------------------------
run 0 get cm -n demo && {
	has "$OUT" '^NAME +DATA +AGE$' "get cm header"
	has "$OUT" '^web-config +3 +[0-9]+s$' "get cm row"
	pass "get configmaps table"
}
run 0 get svc -n demo -o wide && {
	has "$OUT" '^NAME +TYPE +CLUSTER-IP +EXTERNAL-IP +PORT\(S\) +AGE +SELECTOR$' "svc wide header"
	has "$OUT" '^web +ClusterIP .* 80/TCP +[0-9]+s +app=web$' "svc wide row"
	has "$OUT" '^web-nodeport +NodePort .* 80:30080/TCP ' "svc nodeport row"
	pass "get services -o wide"
}
run 0 get deploy -n demo && has "$OUT" '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$' "deploy header" &&
	has "$OUT" '^web +[0-9]+/2 ' "deploy row" && pass "get deployments"
run 0 get deploy web -n demo -o wide && has "$OUT" 'CONTAINERS +IMAGES +SELECTOR' "deploy wide" &&
	has "$OUT" 'httpd +busybox +app=web' "deploy wide row" && pass "get deployment NAME -o wide"
run 0 get cm -A && {
	has "$OUT" '^NAMESPACE +NAME +DATA +AGE$' "get -A header"
	has "$OUT" '^demo +web-config ' "get -A demo"
	has "$OUT" '^shop +shop-config ' "get -A shop"
	pass "get -A"
}
run 0 get cm -A -l app=web && {
	has "$OUT" 'web-config' "get -l"
	has "$OUT" 'from-stdin' "get -l"
	hasnt "$OUT" 'shop-config' "get -l"
	pass "get -l across namespaces"
}
run 0 get cm web-config -n demo -o yaml && {
	has "$OUT" '^kind: ConfigMap$' "yaml"
	has "$OUT" 'GREETING: hello from gannet' "yaml"
	pass "get -o yaml"
}
run 0 get cm -n demo -o json && [ "$(jq -r '.kind, (.items[] | select(.metadata.name=="web-config") | .data.LISTEN_PORT)' <<<"$OUT" | tr '\n' ' ')" = "List 8080 " ] &&
	pass "get -o json (List)" || fail "get -o json: $OUT"
run 0 get ns demo shop -o name && [ "$OUT" = "namespace/demo
namespace/shop" ] && pass "get -o name" || fail "get -o name: $OUT"
run 0 get cm/web-config svc/web -n demo && has "$OUT" '^configmap/web-config ' "type/name" &&
	has "$OUT" '^service/web ' "type/name" && pass "get TYPE/NAME mixed"
run 0 get netpol,ing,role,rolebinding -n demo && has "$OUT" 'networkpolicy.networking.k8s.io/web-allow-clients +app=web' "netpol" &&
	has "$OUT" 'ingress.networking.k8s.io/web +<none> +web.demo.example' "ingress" &&
	has "$OUT" 'rolebinding.rbac.authorization.k8s.io/read-pods +Role/pod-reader' "rolebinding" &&
	pass "get short names for networking and rbac kinds"
run 0 get -f examples/30-service.yaml -o name && [ "$OUT" = "service/web
service/web-nodeport" ] && pass "get -f (objects named by a manifest)" || fail "get -f: $OUT"
run 0 describe -f examples/10-configmap.yaml && has "$OUT" '^Name: +web-config$' "describe -f" && pass "describe -f"
run 0 apply -R -f examples/ && has "$OUT" '^deployment.apps/cart unchanged$' "apply -R" &&
	has "$OUT" '^namespace/demo unchanged$' "apply -R" && pass "apply -R descends into subdirectories"
run 0 get cm --no-headers -n demo && hasnt "$OUT" '^NAME' "no-headers" && pass "--no-headers"
run 0 get cm -n shop --show-labels && has "$OUT" 'from-stdin .*app=web,origin=stdin|from-stdin .*origin=stdin,app=web' "show-labels" && pass "--show-labels"
run 0 get cm -n demo -l app=nothing && has "$ERR" 'No resources found in demo namespace' "empty" && pass "empty list message"
# Namespace from the kubeconfig context when -n is absent; -n wins.
sed 's/^\(    user: admin\)$/\1\n    namespace: shop/' "$KUBECONFIG" >"$TMP/ctxns.kubeconfig"
run 0 get cm --kubeconfig "$TMP/ctxns.kubeconfig" && has "$OUT" '^shop-config ' "context namespace" &&
	pass "context namespace used by default"
run 0 get cm -n demo --kubeconfig "$TMP/ctxns.kubeconfig" && has "$OUT" '^web-config ' "-n over context" &&
	hasnt "$OUT" 'shop-config' "-n over context" && pass "-n overrides the context namespace"
# Credentials from files referenced relative to the kubeconfig's directory.
mkdir -p "$TMP/kc/pki"
cp "$CA_CERT" "$ADMIN_CERT" "$ADMIN_KEY" "$TMP/kc/pki/"
sed -e "s|certificate-authority-data: .*|certificate-authority: pki/ca.crt|" \
    -e "s|client-certificate-data: .*|client-certificate: pki/admin.crt|" \
    -e "s|client-key-data: .*|client-key: pki/admin.key|" "$KUBECONFIG" >"$TMP/kc/files.kubeconfig"
(cd / && "$CTL" get ns demo --kubeconfig "$TMP/kc/files.kubeconfig" -o name) >"$TMP/out" 2>&1 &&
	[ "$(cat "$TMP/out")" = namespace/demo ] && pass "kubeconfig with relative credential files" ||
	fail "relative credential files: $(cat "$TMP/out")"
# $KUBECONFIG with several files: the first that defines the context wins.
KUBECONFIG="$TMP/nonexistent:$TMP/ctxns.kubeconfig:$KUBECONFIG" run 0 get cm &&
	has "$OUT" '^shop-config ' "KUBECONFIG list" && pass "\$KUBECONFIG list merged (first wins)"
# config: view redacts credentials, use-context edits a copy atomically.
run 0 config view && has "$OUT" 'client-key-data: DATA\+OMITTED' "config view" &&
	hasnt "$OUT" "$(grep client-key-data "$KUBECONFIG" | awk '{print substr($2, 1, 40)}')" "config view must redact" &&
	pass "config view redacts credentials"
run 0 config view --raw && has "$OUT" "$(grep client-key-data "$KUBECONFIG" | awk '{print substr($2, 1, 40)}')" "config view --raw" && pass "config view --raw"
run 0 config current-context && [ "$OUT" = "$(awk '/^current-context:/{print $2}' "$KUBECONFIG")" ] && pass "config current-context"
cp "$TMP/ctxns.kubeconfig" "$TMP/switch.kubeconfig" && chmod 600 "$TMP/switch.kubeconfig"
sed -i 's/^contexts:$/contexts:\n- name: other\n  context: {cluster: gannet, user: admin, namespace: demo}/' "$TMP/switch.kubeconfig"
run 0 config use-context other --kubeconfig "$TMP/switch.kubeconfig" && run 0 get cm --kubeconfig "$TMP/switch.kubeconfig" &&
	has "$OUT" '^web-config ' "use-context" && [ "$(stat -c %a "$TMP/switch.kubeconfig")" = 600 ] &&
	pass "config use-context switches context (file stays 0600)"
run 1 config use-context nope --kubeconfig "$TMP/switch.kubeconfig" && pass "use-context of an unknown context: exit 1"
run 0 version && has "$OUT" '^Server Version: ' "version" && pass "version"
# --dry-run sends nothing that changes state.
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dry, namespace: demo}\n' >"$TMP/dry.yaml"
run 0 apply --dry-run -f "$TMP/dry.yaml" && has "$OUT" 'configmap/dry created \(dry run\)' "dry run" &&
	run 1 get cm dry -n demo && pass "apply --dry-run creates nothing"

# ---- get -w sees another client's changes ----------------------------------
"$CTL" get cm -n demo -w --output-watch-events --request-timeout 20s >"$TMP/watch" 2>"$TMP/watch.err" &
WATCH_PID=$!
# Change things only once the list is printed: the watch starts at the
# list's resourceVersion, so every later change must then be seen.
for _ in $(seq 100); do grep -q '^EVENT' "$TMP/watch" && break; sleep 0.1; done
# Another client (curl) creates and deletes, gannetctl apply updates.
acurl -X POST -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"watched"},"data":{"a":"1"}}' \
	/api/v1/namespaces/demo/configmaps >/dev/null
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {a: "2", b: "3"}\n' | "$CTL" apply -n demo -f - >/dev/null
acurl -X DELETE /api/v1/namespaces/demo/configmaps/watched >/dev/null
for _ in $(seq 50); do grep -q '^DELETED' "$TMP/watch" && break; sleep 0.2; done
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null; WATCH_PID=
W=$(cat "$TMP/watch")
has "$W" '^EVENT +NAME +DATA +AGE$' "watch header" &&
	has "$W" '^ADDED +web-config ' "watch initial list" &&
	has "$W" '^ADDED +watched +1 ' "watch ADDED" &&
	has "$W" '^MODIFIED +watched +2 ' "watch MODIFIED" &&
	has "$W" '^DELETED +watched ' "watch DELETED" && pass "get -w prints create/update/delete by another client"
# A watch bounded by --request-timeout ends with status 0.
start=$(date +%s)
run 0 get ns -w --request-timeout 2s && [ $(( $(date +%s) - start )) -lt 10 ] && pass "watch bounded by --request-timeout"
run 0 get cm web-config -n demo -w -o json --request-timeout 1s && [ "$(jq -r .metadata.name <<<"$OUT" | head -1)" = web-config ] && pass "watch of one name"

# One keep-alive connection for discovery and the request.
run 0 get ns -v -v && [ "$(grep -c 'new connection' <<<"$ERR")" = 1 ] && has "$ERR" 'reused connection' "keep-alive" &&
	pass "requests share one connection" || fail "connection reuse: $(grep -- '->' <<<"$ERR")"
# Fields the server does not know are reported, as kubectl does.
cat >"$TMP/unknown-field.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: odd, namespace: demo}
data: {a: b}
notAField: 1
EOF
"$CTL" apply -f "$TMP/unknown-field.yaml" >"$TMP/out" 2>"$TMP/err"
if grep -q 'Warning: ' "$TMP/err"; then
	has "$(cat "$TMP/err")" 'Warning: .*notAField' "warning" && pass "server warnings (unknown fields) printed"
else
	# A server may reject instead of warn; then the message must say why.
	has "$(cat "$TMP/err")" 'notAField' "unknown field reported" && pass "unknown field rejected with a message"
fi
"$CTL" delete cm odd -n demo --ignore-not-found >/dev/null

# ---- describe -----------------------------------------------------------
run 0 describe cm web-config -n demo && {
	has "$OUT" '^Name: +web-config$' "describe"
	has "$OUT" '^Namespace: +demo$' "describe"
	has "$OUT" '^Labels: +app=web$' "describe"
	has "$OUT" '^GREETING: +hello from gannet$' "describe data"
	hasnt "$OUT" 'last-applied' "describe hides last-applied"
	pass "describe configmap"
}
run 0 describe secret/web-credentials -n demo && {
	has "$OUT" '^password: +15 bytes$' "describe secret sizes"
	hasnt "$OUT" 's3cr3t|czNjcjN0' "describe secret must not print values"
	pass "describe secret shows sizes, not values"
}
run 0 describe deploy web -n demo && has "$OUT" 'Replicas: +2' "describe deploy" && has "$OUT" 'Image: +busybox' "describe deploy" && pass "describe deployment"

# ---- exit codes and errors ----------------------------------------------
run 1 get cm does-not-exist -n demo && has "$ERR" 'NotFound' "not found" && has "$ERR" 'does-not-exist' "not found" && pass "get missing object: exit 1 with the server's NotFound"
run 0 get cm does-not-exist -n demo --ignore-not-found && pass "--ignore-not-found"
run 1 get frobnicators && has "$ERR" "doesn't have a resource type \"frobnicators\"" "unknown type" && pass "unknown resource type: exit 1"
run 2 get && pass "get without type: usage exit 2"
run 2 apply && pass "apply without -f: usage exit 2"
run 2 get pods --bogus-flag && pass "unknown flag: exit 2"
run 2 frobnicate && pass "unknown command: exit 2"
cat >"$TMP/bad-port.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: bad-port, namespace: demo}
spec:
  selector: {app: web}
  ports: [{port: 99999}]
EOF
run 1 apply -f "$TMP/bad-port.yaml" && has "$ERR" 'Error from server \(Invalid\)' "validation" && has "$ERR" 'port' "validation message" &&
	pass "server validation error printed with exit 1"
run 1 get svc bad-port -n demo >/dev/null && pass "invalid object was not created"
# Malformed YAML: line number, nothing applied (the first doc is valid).
cat >"$TMP/malformed.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: must-not-exist, namespace: demo}
data: {a: b}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: [unterminated
data: {}
EOF
run 1 apply -f "$TMP/malformed.yaml" && has "$ERR" 'malformed.yaml' "yaml error names the file" && has "$ERR" 'line [0-9]+' "yaml error has a line" &&
	pass "malformed YAML rejected client-side with a line number"
run 1 get cm must-not-exist -n demo && pass "nothing from the malformed file was applied"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: demo}\n' >"$TMP/noname.yaml"
run 1 apply -f "$TMP/noname.yaml" && has "$ERR" 'metadata.name' "missing name" && pass "missing metadata.name rejected"
printf 'apiVersion: example.com/v9\nkind: Gizmo\nmetadata: {name: g}\n' >"$TMP/gizmo.yaml"
run 1 apply -f "$TMP/gizmo.yaml" && has "$ERR" 'no matches for kind "Gizmo"' "unknown kind" && pass "unknown kind rejected"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\n' >"$TMP/nsmismatch.yaml"
run 1 apply -n demo -f "$TMP/nsmismatch.yaml" && has "$ERR" 'does not match the namespace' "ns mismatch" && pass "-n contradicting the manifest rejected"
run 1 get ns --kubeconfig "$TMP/nonexistent" && has "$ERR" 'nonexistent' "bad kubeconfig path" && pass "missing kubeconfig: exit 1 with message"
printf 'apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: [\n' >"$TMP/broken.kubeconfig"
run 1 get ns --kubeconfig "$TMP/broken.kubeconfig" && has "$ERR" 'broken.kubeconfig' "broken kubeconfig" && has "$ERR" 'line' "broken kubeconfig line" && pass "malformed kubeconfig: exit 1 with file and line"
run 1 get ns --context no-such-context && has "$ERR" 'context "no-such-context" does not exist' "bad context" && pass "unknown context: exit 1"
run 1 get ns --server https://127.0.0.1:1 && has "$ERR" '127.0.0.1:1' "unreachable" && pass "unreachable server: exit 1 with the address"
# Wrong CA: a server certificate that does not match is refused.
sed 's/certificate-authority-data: .*/certificate-authority-data: '"$(grep client-certificate-data "$KUBECONFIG" | awk '{print $2}')"'/' "$KUBECONFIG" >"$TMP/wrongca.kubeconfig"
run 1 get ns --kubeconfig "$TMP/wrongca.kubeconfig" && pass "server certificate verified against the kubeconfig CA"
# tls-server-name: the certificate is checked against that name.
sed 's/^\(    server: .*\)$/\1\n    tls-server-name: localhost/' "$KUBECONFIG" >"$TMP/tlsname-ok.kubeconfig"
sed 's/^\(    server: .*\)$/\1\n    tls-server-name: wrong.example/' "$KUBECONFIG" >"$TMP/tlsname-bad.kubeconfig"
run 0 get ns default --kubeconfig "$TMP/tlsname-ok.kubeconfig" && run 1 get ns default --kubeconfig "$TMP/tlsname-bad.kubeconfig" &&
	pass "tls-server-name honoured (SAN localhost ok, wrong name refused)"
# No credentials: 401 from the server, exit 1.
grep -v 'client-certificate-data\|client-key-data' "$KUBECONFIG" >"$TMP/anon.kubeconfig"
run 1 get ns --kubeconfig "$TMP/anon.kubeconfig" && has "$ERR" 'Unauthorized|Forbidden' "anonymous" && pass "anonymous request refused: exit 1"

# ---- delete ---------------------------------------------------------------
run 0 delete cm from-stdin -n shop && [ "$OUT" = 'configmap "from-stdin" deleted' ] && pass "delete by name" || fail "delete by name: $OUT"
run 1 delete cm from-stdin -n shop && has "$ERR" 'NotFound' "delete missing" && pass "delete of a missing object: exit 1"
run 0 delete cm from-stdin -n shop --ignore-not-found && pass "delete --ignore-not-found"
run 0 delete -f examples/bundle/shop.yaml && {
	has "$OUT" '^namespace "shop" deleted$' "delete -f"
	has "$OUT" '^deployment.apps "cart" deleted$' "delete -f"
	has "$OUT" '^service "cart" deleted$' "delete -f"
	pass "delete -f multi-doc file"
}
run 0 delete svc -l app=web -n demo && has "$OUT" '^service "web" deleted$' "delete -l" && hasnt "$OUT" 'web-nodeport' "delete -l selects" &&
	pass "delete -l"
run 1 get svc web -n demo && run 0 get svc web-nodeport -n demo && pass "delete -l removed only the selected object"
run 2 delete cm -n demo && pass "delete TYPE without names: usage exit 2"
run 0 delete secrets --all -n demo && has "$OUT" '^secret "web-credentials" deleted$' "delete --all" &&
	run 0 get secrets -n demo && hasnt "$OUT" 'web-credentials' "delete --all" && pass "delete --all"
run 0 delete -f examples/ --ignore-not-found && has "$OUT" '^namespace "demo" deleted$' "delete dir" && pass "delete -f directory"

# ---- interoperability with kubectl (same annotation, same manifests) -------
if command -v kubectl >/dev/null; then
	if kubectl apply -f examples/bundle/shop.yaml >"$TMP/k.out" 2>&1; then
		run 0 apply -f examples/bundle/shop.yaml &&
			[ "$(grep -c ' unchanged$' <<<"$OUT")" = 4 ] && pass "gannetctl re-apply after kubectl apply: unchanged" ||
			fail "after kubectl apply: $OUT"
		sed 's/currency: EUR/currency: USD/' examples/bundle/shop.yaml >"$TMP/shop2.yaml"
		run 0 apply -f "$TMP/shop2.yaml" && has "$OUT" '^configmap/shop-config configured$' "interop update"
		kubectl apply -f "$TMP/shop2.yaml" >"$TMP/k.out" 2>&1
		grep -q 'configmap/shop-config unchanged' "$TMP/k.out" && pass "kubectl re-apply after gannetctl apply: unchanged" ||
			fail "kubectl after gannetctl: $(cat "$TMP/k.out")"
		run 0 delete -f examples/bundle/shop.yaml
	else
		fail "kubectl apply of examples/bundle/shop.yaml: $(cat "$TMP/k.out")"
	fi
else
	echo "note: kubectl not installed, interoperability checks not run"
fi

echo
if [ $fails -gt 0 ]; then
	echo "$fails check(s) failed"
	echo "--- server log:"; tail -20 "$APISERVER_LOG"
	exit 1
fi
echo "all gannetctl checks passed"
