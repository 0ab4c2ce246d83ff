#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kubectl against a live gannet-apiserver with the generated admin
# kubeconfig: get (tables), create -f, apply -f (create + update), get -w,
# scale, patch (merge, json, strategic), label, delete, describe, api-resources,
# create <generator> (protobuf bodies), strict server-side validation, RBAC
# with a token user.
set -u
cd "$(dirname "$0")/../.."
export GANNET_ROOT=$PWD BUILD=${BUILD:-build}
command -v kubectl >/dev/null || { echo "kubectl not installed"; exit 77; }
. tests/lib/apiserver.sh

fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails+1)); }
expect() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want '$2' got '$3'"; fi; }
contains() { if [[ "$3" == *"$2"* ]]; then ok "$1"; else fail "$1: '$2' not in: ${3:0:500}"; fi; }

TMP=$(mktemp -d /tmp/gannet-53.XXXXXX)
printf 'tok-bob-abcdef,bob,uid-bob,\n' >"$TMP/tokens"
chmod 600 "$TMP/tokens"
cleanup_all() { apiserver_cleanup; rm -rf "$TMP"; }
APISERVER_NO_TRAP=1
trap cleanup_all EXIT
apiserver_start --token-file "$TMP/tokens" || exit 1
export KUBECONFIG
K="timeout 30 kubectl --request-timeout=20s"

cat >"$TMP/app.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
EOF

out=$($K get namespaces 2>&1)
contains "get namespaces (table)" "kube-system" "$out"
contains "table header" "STATUS" "$out"
contains "version" "Server Version: v1.32" "$($K version 2>&1)"
out=$($K api-resources 2>&1)
contains "api-resources" "deployments" "$out"
contains "api-resources short names" "netpol" "$out"

out=$($K create -f "$TMP/app.yaml" 2>&1)
contains "create -f deployment" "deployment.apps/web created" "$out"
contains "create -f service" "service/web created" "$out"
contains "create -f configmap" "configmap/web-config created" "$out"
out=$($K get deploy,svc,cm 2>&1)
contains "get multiple kinds" "deployment.apps/web" "$out"
contains "service row" "80/TCP" "$out"
expect "get -o jsonpath" 2 "$($K get deploy web -o jsonpath='{.spec.replicas}' 2>&1)"
contains "get -o yaml" "kind: Deployment" "$($K get deploy web -o yaml 2>&1)"
contains "get by short name" "web" "$($K get deploy -l app=web -o name 2>&1)"

# watch: kubectl get -w prints the list then each change
($K get configmaps -w >"$TMP/watch.out" 2>&1 &)
sleep 2
$K scale deploy web --replicas=4 >"$TMP/scale.out" 2>&1
contains "scale" "scaled" "$(cat "$TMP/scale.out")"
expect "scale took effect" 4 "$($K get deploy web -o jsonpath='{.spec.replicas}')"
$K patch configmap web-config -p '{"data":{"greeting":"hi"}}' >/dev/null 2>&1
$K patch configmap web-config --type=json -p '[{"op":"add","path":"/data/extra","value":"x"}]' >/dev/null 2>&1
expect "patch merge + json" "hi x" "$($K get cm web-config -o jsonpath='{.data.greeting} {.data.extra}')"
$K patch deploy web --type=strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.26"}]}}}}' >/dev/null 2>&1
expect "strategic patch keeps ports" "nginx:1.26 80" "$($K get deploy web -o jsonpath='{.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}')"
$K label configmap web-config tier=frontend >/dev/null 2>&1
expect "label + selector" "configmap/web-config" "$($K get cm -l tier=frontend -o name 2>&1)"
sleep 2
lines=$(grep -c web-config "$TMP/watch.out")
[ "$lines" -ge 3 ] && ok "get -w streamed changes ($lines lines)" || { fail "get -w: $lines lines"; cat "$TMP/watch.out"; }

# apply: update an existing object from a changed manifest, then create new
sed -i 's/nginx:1.25/nginx:1.27/; s/greeting: hello/greeting: bonjour/' "$TMP/app.yaml"
out=$($K apply -f "$TMP/app.yaml" 2>&1)
contains "apply -f configured" "deployment.apps/web configured" "$out"
expect "apply updated image" "nginx:1.27" "$($K get deploy web -o jsonpath='{.spec.template.spec.containers[0].image}')"
expect "apply updated data" "bonjour" "$($K get cm web-config -o jsonpath='{.data.greeting}')"
out=$($K apply -f - 2>&1 <<'EOF'
apiVersion: v1
kind: Secret
metadata: {name: s1}
stringData: {password: hunter2}
EOF
)
contains "apply -f - creates" "secret/s1 created" "$out"
out=$($K apply -f "$TMP/app.yaml" 2>&1)
contains "apply idempotent" "unchanged" "$out"

# describe
contains "describe" "Name:" "$($K describe deploy web 2>&1)"

# strict validation happens server side
out=$($K create -f - 2>&1 <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata: {name: bad}
data: {a: b}
bogus: field
EOF
)
contains "unknown field rejected" 'unknown field "bogus"' "$out"
out=$($K create -f - 2>&1 <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: Bad_Pod}
spec:
  containers: [{name: c}]
EOF
)
contains "invalid object message" "spec.containers[0].image: Required value" "$out"

# RBAC through kubectl with a token user
BOBCFG="$TMP/bob.kubeconfig"
kubectl config view --raw --minify >"$BOBCFG"
KUBECONFIG="$BOBCFG" kubectl config set-credentials bob --token=tok-bob-abcdef >/dev/null
KUBECONFIG="$BOBCFG" kubectl config set-context --current --user=bob >/dev/null
out=$(KUBECONFIG="$BOBCFG" $K get pods 2>&1)
contains "token user forbidden" "Forbidden" "$out"
$K create rolebinding bob-view --clusterrole=view --user=bob >/dev/null 2>&1
sleep 0.5
out=$(KUBECONFIG="$BOBCFG" $K get cm 2>&1)
contains "token user granted view" "web-config" "$out"

# generators (kubectl's typed clients send protobuf): each stored object
# must carry every non-empty field of the client's own dry-run rendering
cmp_generated() { # KIND NAME kubectl-create-args...
	local kind=$1 name=$2 want got diff; shift 2
	out=$($K "$@" 2>&1)
	contains "kubectl $*" "created" "$out"
	want=$($K "$@" --dry-run=client -o json 2>/dev/null)
	got=$($K get "$kind" "$name" -o json 2>/dev/null)
	diff=$(jq -c --argjson got "${got:-null}" '
		[paths(scalars) as $p | select(getpath($p) != "" and getpath($p) != null and ($p[0] != "status")) |
		 select(($p | tostring | test("creationTimestamp")) | not) |
		 {p: $p, want: getpath($p), got: ($got | getpath($p))} | select(.want != .got)]' <<<"$want")
	expect "kubectl $* stored as sent" "[]" "$diff"
}
cmp_generated ns gen-ns create namespace gen-ns
cmp_generated cm gen-cm create configmap gen-cm --from-literal=a=b --from-literal=c=d
cmp_generated secret gen-secret create secret generic gen-secret --from-literal=pw=hunter2
cmp_generated sa gen-sa create serviceaccount gen-sa
cmp_generated deploy gen-deploy create deployment gen-deploy --image=nginx:1.25 --replicas=3 --port=80
cmp_generated deploy gen-zero create deployment gen-zero --image=busybox --replicas=0
cmp_generated svc gen-svc create service clusterip gen-svc --tcp=80:8080
cmp_generated role gen-role create role gen-role --verb=get,list --resource=pods
cmp_generated clusterrole gen-crole create clusterrole gen-crole --verb=get --resource=nodes
cmp_generated rolebinding gen-rb create rolebinding gen-rb --role=gen-role --user=bob
cmp_generated clusterrolebinding gen-crb create clusterrolebinding gen-crb --clusterrole=gen-crole --group=devs
tok=$($K create token gen-sa --duration=1h 2>&1)
expect "kubectl create token" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" -H "Authorization: Bearer $tok" "$APISERVER_URL/version")"
contains "token user identity" "system:serviceaccount:default:gen-sa" "$(curl -s --cacert "$CA_CERT" -H "Authorization: Bearer $tok" "$APISERVER_URL/api/v1/namespaces/default/pods")"
$K annotate configmap gen-cm note=hello >/dev/null 2>&1
expect "kubectl annotate" hello "$($K get cm gen-cm -o jsonpath='{.metadata.annotations.note}')"
expect "secret value round trip" hunter2 "$($K get secret gen-secret -o jsonpath='{.data.pw}' | base64 -d)"

# delete
out=$($K delete -f "$TMP/app.yaml" 2>&1)
contains "delete -f" 'deployment.apps "web" deleted' "$out"
contains "get after delete" "NotFound" "$($K get deploy web 2>&1)"
$K delete secret s1 >/dev/null 2>&1
contains "no resources" "No resources found" "$($K get deploy -l app=web 2>&1)"

if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; tail -n 20 "$APISERVER_LOG"; exit 1; fi
echo "kubectl checks passed"
