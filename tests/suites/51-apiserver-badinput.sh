#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hostile input against gannet-apiserver built with ASan+UBSan (build-san/):
# malformed JSON/YAML, >3 MB bodies, deep nesting, alias bombs, wrong kinds,
# bad names, type confusion, bad query parameters, non-TLS bytes. Every
# request must get a clear 4xx, the server must stay healthy, and the
# sanitizers must report nothing.
set -u
cd "$(dirname "$0")/../.."
export GANNET_ROOT=$PWD
export BUILD=${SAN_BUILD:-build-san}
# (re)build: incremental, so a stale sanitizer binary is never tested
make -s SAN=1 -j2 gannet-apiserver >/dev/null 2>&1 || { echo "cannot build the SAN=1 apiserver"; exit 1; }
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
. tests/lib/apiserver.sh

fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails+1)); }
expect() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want '$2' got '$3'"; fi; }
expect4xx() { if [[ "$2" == 4?? ]]; then ok "$1 ($2)"; else fail "$1: want 4xx got '$2'"; fi; }
contains() { if [[ "$3" == *"$2"* ]]; then ok "$1"; else fail "$1: '$2' not in: ${3:0:300}"; fi; }

TMP=$(mktemp -d /tmp/gannet-51.XXXXXX)
cleanup_all() { apiserver_cleanup; rm -rf "$TMP"; }
APISERVER_NO_TRAP=1
trap cleanup_all EXIT
apiserver_start || exit 1

J='Content-Type: application/json'
Y='Content-Type: application/yaml'
P=/api/v1/namespaces/default/pods
C=/api/v1/namespaces/default/configmaps

# ---- malformed documents -------------------------------------------------------------
out=$(acurl -X POST -H "$J" -w '\n%{http_code}' -d '{"apiVersion": "v1", "kind":' $P)
expect "truncated JSON 400" 400 "${out##*$'\n'}"
contains "JSON error has position" 'line 1' "$out"
out=$(acurl -X POST -H "$Y" -w '\n%{http_code}' --data-binary $'apiVersion: v1\nkind: Pod\nmetadata: [a, b\n  name: x\n' $P)
expect "malformed YAML 400" 400 "${out##*$'\n'}"
contains "YAML error has line" 'line ' "$out"
expect "tab-indented YAML" 400 "$(acurl_code -X POST -H "$Y" --data-binary $'a:\n\t- b\n' $P)"
expect "empty body" 400 "$(acurl_code -X POST -H "$J" --data-binary '' $P)"
expect "array body" 400 "$(acurl_code -X POST -H "$J" -d '[1,2,3]' $P)"
expect "string body" 400 "$(acurl_code -X POST -H "$J" -d '"pod"' $P)"
expect "duplicate keys" 400 "$(acurl_code -X POST -H "$J" -d '{"kind":"Pod","kind":"Pod"}' $P)"
printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x\xff\xfe"}}' >"$TMP/badutf8"
expect "invalid UTF-8" 400 "$(acurl_code -X POST -H "$J" --data-binary @"$TMP/badutf8" $C)"
printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a\\u0000b"}}' >"$TMP/nul"
expect4xx "NUL in name" "$(acurl_code -X POST -H "$J" --data-binary @"$TMP/nul" $C)"
expect "multi-doc YAML to one object" 400 "$(acurl_code -X POST -H "$Y" --data-binary $'kind: Pod\n---\nkind: Pod\n' $P)"
PB='Content-Type: application/vnd.kubernetes.protobuf'
printf 'k8s\0\x0a' >"$TMP/pb1"
expect "truncated protobuf 400" 400 "$(acurl_code -X POST -H "$PB" --data-binary @"$TMP/pb1" $P)"
printf 'nope' >"$TMP/pb2"
expect "protobuf without magic 400" 400 "$(acurl_code -X POST -H "$PB" --data-binary @"$TMP/pb2" $P)"
# envelope {typeMeta{apiVersion v1, kind Widget}, raw ""}
printf 'k8s\0\x0a\x0c\x0a\x02v1\x12\x06Widget\x12\x00' >"$TMP/pb3"
expect "protobuf of unknown kind 415" 415 "$(acurl_code -X POST -H "$PB" --data-binary @"$TMP/pb3" $P)"
# ConfigMap whose raw has a length running past the end
printf 'k8s\0\x0a\x0f\x0a\x02v1\x12\x09ConfigMap\x12\x04\x0a\x7f\x0a\x01' >"$TMP/pb4"
expect "protobuf bad length 400" 400 "$(acurl_code -X POST -H "$PB" --data-binary @"$TMP/pb4" $C)"
{ printf 'k8s\0'; head -c 5000 /dev/urandom; } >"$TMP/pb5"
expect4xx "protobuf random bytes" "$(acurl_code -X POST -H "$PB" --data-binary @"$TMP/pb5" $C)"
expect "CBOR body 415" 415 "$(acurl_code -X POST -H 'Content-Type: application/cbor' --data-binary 'x' $P)"

# ---- size limits ----------------------------------------------------------------------------
head -c $((4*1024*1024)) /dev/zero | tr '\0' 'a' | sed 's/^/{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"k":"/; s/$/"}}/' >"$TMP/big.json"
expect "4 MB body 413" 413 "$(acurl_code -X POST -H "$J" --data-binary @"$TMP/big.json" $C)"
expect "4 MB chunked body 413" 413 "$(acurl_code -X POST -H "$J" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big.json" $C)"
head -c $((2*1024*1024)) /dev/zero | tr '\0' 'b' | sed 's/^/{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"twomb"},"data":{"k":"/; s/$/"}}/' >"$TMP/two.json"
expect "2 MB body accepted" 201 "$(acurl_code -X POST -H "$J" --data-binary @"$TMP/two.json" $C)"

# ---- nesting and alias bombs -------------------------------------------------------------------
python3 -c 'print("{\"a\":" * 5000 + "1" + "}" * 5000)' >"$TMP/deep.json"
out=$(acurl -X POST -H "$J" -w '\n%{http_code}' --data-binary @"$TMP/deep.json" $C)
expect "deep JSON 400" 400 "${out##*$'\n'}"
python3 -c 'print("[" * 100000)' >"$TMP/deeper.json"
expect4xx "100k open brackets" "$(acurl_code -X POST -H "$J" --data-binary @"$TMP/deeper.json" $C)"
python3 -c '
d = 800
print("a:" + "".join("\n" + "  " * (i + 1) + "b:" for i in range(d)) + " 1")' >"$TMP/deep.yaml"
expect "deep YAML 400" 400 "$(acurl_code -X POST -H "$Y" --data-binary @"$TMP/deep.yaml" $C)"
python3 -c 'print("[" * 20000)' >"$TMP/deep-flow.yaml"
expect "deep YAML flow 400" 400 "$(acurl_code -X POST -H "$Y" --data-binary @"$TMP/deep-flow.yaml" $C)"
cat >"$TMP/bomb.yaml" <<'EOF'
a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
EOF
out=$(acurl -X POST -H "$Y" -w '\n%{http_code}' --data-binary @"$TMP/bomb.yaml" $C)
expect "YAML alias bomb 400" 400 "${out##*$'\n'}"

# ---- wrong kinds, bad names, type confusion ---------------------------------------------------------
expect "Service body to pods" 400 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"}}' $P)"
expect "wrong apiVersion" 400 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"x"}}' $P)"
expect "namespace mismatch" 400 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"kube-system"}}' $C)"
for n in 'UPPER' 'a_b' '-lead' 'trail-' 'dots..x' "$(printf 'x%.0s' $(seq 1 300))" '' ' '; do
	expect "bad name '${n:0:20}' 422" 422 "$(acurl_code -X POST -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"$n\"}}" $C)"
done
expect "namespace name with dot" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a.b"}}' /api/v1/namespaces)"
expect "name not a string" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":42}}' $C)"
expect4xx "metadata is a string" "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":"x"}' $C)"
expect "spec is an array" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":[1]}' $P)"
expect "containers is an object" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":{"a":1}}}' $P)"
expect "container is a number" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":[7]}}' $P)"
expect "labels non-string" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":{"a":1}}}' $C)"
expect "labels is array" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","labels":["a"]}}' $C)"
expect "data non-string" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":{"b":1}}}' $C)"
expect "replicas string" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicas":"3","selector":{"matchLabels":{"a":"b"}},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}' /apis/apps/v1/namespaces/default/deployments)"
expect "selector operator bogus" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"x"},"spec":{"selector":{"matchExpressions":[{"key":"a","operator":"Maybe"}]},"template":{"metadata":{"labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}' /apis/apps/v1/namespaces/default/replicasets)"
expect "binding roleRef kind" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"x"},"roleRef":{"kind":"Role","name":"r"}}' /apis/rbac.authorization.k8s.io/v1/clusterrolebindings)"

# ---- patches ---------------------------------------------------------------------------------------------
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"p"}}' $C
expect4xx "json patch not array" "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '{"op":"add"}' $C/p)"
expect4xx "json patch bad op" "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"explode","path":"/a"}]' $C/p)"
expect4xx "json patch bad path" "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"add","path":"a/b/c","value":1}]' $C/p)"
expect4xx "json patch bad index" "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"add","path":"/metadata/finalizers/99","value":"x"}]' $C/p)"
expect4xx "json patch remove root" "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"remove","path":""}]' $C/p)"
expect4xx "json patch replace root with array" "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"replace","path":"","value":[1]}]' $C/p)"
expect4xx "merge patch changes name" "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"name":"other"}}' $C/p)"
expect4xx "merge patch changes kind" "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"kind":"Secret"}' $C/p)"
expect4xx "patch bad resourceVersion" "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"resourceVersion":"abc"}}' $C/p)"
expect "patch missing object" 404 "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{}' $C/nothere)"

# ---- paths, methods, query parameters ------------------------------------------------------------------------
expect "unknown resource" 404 "$(acurl_code /api/v1/namespaces/default/widgets)"
expect "unknown group" 404 "$(acurl_code /apis/nope.io/v1/things)"
expect "too deep path" 404 "$(acurl_code /api/v1/namespaces/default/pods/a/b/c/d/e/f)"
expect "bad subresource" 404 "$(acurl_code $C/p/status)"
expect "namespaced kind without namespace + name" 404 "$(acurl_code /api/v1/pods/x)"
expect "POST to a name" 405 "$(acurl_code -X POST -H "$J" -d '{}' $C/p)"
expect "PUT to collection" 405 "$(acurl_code -X PUT -H "$J" -d '{}' $C)"
expect "bad watch rv" 400 "$(acurl_code "$C?watch=1&resourceVersion=abc")"
expect "bad label selector" 400 "$(acurl_code "$C?labelSelector=%28%28%28")"
expect "bad field selector" 400 "$(acurl_code "$C?fieldSelector=a%20in%20(b)")"
expect "bad continue token" 400 "$(acurl_code "$C?continue=/registry/secrets/x")"
expect "long URL" 404 "$(acurl_code "/api/v1/namespaces/$(printf 'n%.0s' $(seq 1 2000))/pods")"
# plain HTTP bytes on the TLS port, and a connection dropped mid-handshake
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 3 socat - "TCP:127.0.0.1:$APISERVER_PORT" >/dev/null 2>&1
head -c 70000 /dev/urandom | timeout 3 socat - "TCP:127.0.0.1:$APISERVER_PORT" >/dev/null 2>&1
# a watch whose client vanishes
timeout 1 curl -s -N --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" "$APISERVER_URL$C?watch=1" >/dev/null 2>&1

# ---- still alive and correct -------------------------------------------------------------------------------------
expect "healthy after abuse" 200 "$(acurl_code /readyz)"
expect "still serves creates" 201 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after"}}' $C)"
apiserver_stop
if grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$APISERVER_LOG"; then
	fail "sanitizer report in server log"
	grep -A 30 -E 'AddressSanitizer|runtime error' "$APISERVER_LOG" | head -60
else
	ok "no sanitizer reports"
fi
if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; tail -n 20 "$APISERVER_LOG"; exit 1; fi
echo "all bad-input checks passed"
