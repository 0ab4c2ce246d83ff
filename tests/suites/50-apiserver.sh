#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gannet-apiserver over real HTTPS: unit tests of the pure modules, CRUD for
# every kind, selectors, patch types, status/scale subresources, finalizers,
# watch (resume, 410, bookmarks), optimistic concurrency (409), validation
# (422 with field paths), authn (401), RBAC (403 then 200 after a
# RoleBinding), Secrets encrypted at rest, /metrics.
set -u
cd "$(dirname "$0")/../.."
export GANNET_ROOT=$PWD BUILD=${BUILD:-build}
. tests/lib/apiserver.sh

fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails+1)); }
expect() { # expect NAME WANT GOT
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: want '$2' got '$3'"; fi
}
contains() { # contains NAME NEEDLE HAYSTACK
	if [[ "$3" == *"$2"* ]]; then ok "$1"; else fail "$1: '$2' not in: ${3:0:400}"; fi
}

for t in test-yamljson test-apiserver-units; do
	if "$BUILD/bin/$t" >/tmp/gannet-50-$$.log 2>&1; then ok "unit $t"; else fail "unit $t"; cat /tmp/gannet-50-$$.log; fi
	rm -f /tmp/gannet-50-$$.log
done

TOKENS=$(mktemp /tmp/gannet-50-tokens.XXXXXX)
chmod 600 "$TOKENS"
printf 'tok-alice-123456,alice,uid-alice,dev\n' >"$TOKENS"
printf 'tok-nsadmin-123456,nsadmin,uid-nsadmin,dev\n' >>"$TOKENS"
cleanup_all() { apiserver_cleanup; rm -f "$TOKENS"; }
APISERVER_NO_TRAP=1
trap cleanup_all EXIT
apiserver_start --token-file "$TOKENS" --watch-cache-size 50 --bookmark-interval 300 \
	--compaction-interval 500ms --compaction-keep 5 || exit 1

J='Content-Type: application/json'

# ---- health, discovery, version ------------------------------------------------
expect "livez public" 200 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" "$APISERVER_URL/livez")"
expect "readyz" 200 "$(acurl_code /readyz)"
contains "version" '"gitVersion"' "$(acurl /version)"
contains "discovery /api" '"versions":["v1"]' "$(acurl /api)"
contains "discovery /apis" '"rbac.authorization.k8s.io"' "$(acurl /apis)"
contains "discovery apps/v1" '"deployments/scale"' "$(acurl /apis/apps/v1)"
contains "default namespace exists" '"name":"default"' "$(acurl /api/v1/namespaces/default)"
contains "kube-system namespace exists" '"name":"kube-system"' "$(acurl /api/v1/namespaces/kube-system)"

# ---- CRUD for every kind -----------------------------------------------------------
# path-of-collection | body (name "t1" in each)
KINDS=(
'/api/v1/namespaces|{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t1"}}'
'/api/v1/namespaces/default/pods|{"apiVersion":"v1","kind":"Pod","metadata":{"name":"t1","labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}'
'/api/v1/namespaces/default/services|{"apiVersion":"v1","kind":"Service","metadata":{"name":"t1"},"spec":{"selector":{"app":"a"},"ports":[{"port":80}]}}'
'/api/v1/namespaces/default/endpoints|{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"t1"},"subsets":[{"addresses":[{"ip":"10.244.0.5"}],"ports":[{"port":80}]}]}'
'/api/v1/nodes|{"apiVersion":"v1","kind":"Node","metadata":{"name":"t1"},"spec":{"podCIDR":"10.244.1.0/24"}}'
'/api/v1/namespaces/default/configmaps|{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"t1"},"data":{"k":"v"}}'
'/api/v1/namespaces/default/secrets|{"apiVersion":"v1","kind":"Secret","metadata":{"name":"t1"},"data":{"k":"dg=="}}'
'/api/v1/namespaces/default/serviceaccounts|{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"t1"}}'
'/apis/apps/v1/namespaces/default/deployments|{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"t1"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}'
'/apis/apps/v1/namespaces/default/replicasets|{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"t1"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}'
'/apis/apps/v1/namespaces/default/daemonsets|{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"t1"},"spec":{"selector":{"matchLabels":{"app":"a"}},"template":{"metadata":{"labels":{"app":"a"}},"spec":{"containers":[{"name":"c","image":"busybox"}]}}}}'
'/apis/networking.k8s.io/v1/namespaces/default/networkpolicies|{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"t1"},"spec":{"podSelector":{"matchLabels":{"app":"a"}},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8"}}],"ports":[{"port":80}]}]}}'
'/apis/networking.k8s.io/v1/namespaces/default/ingresses|{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"t1"},"spec":{"rules":[{"host":"a.example","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"t1","port":{"number":80}}}}]}}]}}'
'/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles|{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"t1"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}'
'/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings|{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"t1"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"t1"},"subjects":[{"kind":"User","name":"nobody"}]}'
'/apis/rbac.authorization.k8s.io/v1/clusterroles|{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"t1"},"rules":[{"apiGroups":[""],"resources":["nodes"],"verbs":["get"]}]}'
'/apis/rbac.authorization.k8s.io/v1/clusterrolebindings|{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"t1"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"t1"},"subjects":[{"kind":"User","name":"nobody"}]}'
'/api/v1/namespaces/default/events|{"apiVersion":"v1","kind":"Event","metadata":{"name":"t1"},"involvedObject":{"kind":"Pod","name":"p","namespace":"default"},"reason":"Scheduled","message":"assigned","type":"Normal"}'
'/apis/coordination.k8s.io/v1/namespaces/default/leases|{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"t1"},"spec":{"holderIdentity":"n1","leaseDurationSeconds":40}}'
)
for entry in "${KINDS[@]}"; do
	coll=${entry%%|*}
	body=${entry#*|}
	kind=$(jq -r .kind <<<"$body")
	out=$(acurl -X POST -H "$J" -d "$body" -w '\n%{http_code}' "$coll")
	code=${out##*$'\n'}; obj=${out%$'\n'*}
	expect "$kind create" 201 "$code"
	uid=$(jq -r .metadata.uid <<<"$obj"); rv=$(jq -r .metadata.resourceVersion <<<"$obj")
	[ -n "$uid" ] && [ "$uid" != null ] && [ "$(jq -r .metadata.creationTimestamp <<<"$obj")" != null ] &&
		[ "$(jq -r .metadata.generation <<<"$obj")" = 1 ] && ok "$kind server metadata" || fail "$kind server metadata: $obj"
	expect "$kind duplicate create" 409 "$(acurl_code -X POST -H "$J" -d "$body" "$coll")"
	got=$(acurl "$coll/t1")
	expect "$kind get uid" "$uid" "$(jq -r .metadata.uid <<<"$got")"
	contains "$kind list" '"name":"t1"' "$(acurl "$coll")"
	upd=$(jq -c '.metadata.labels={"upd":"yes"}' <<<"$got")
	out=$(acurl -X PUT -H "$J" -d "$upd" -w '\n%{http_code}' "$coll/t1")
	code=${out##*$'\n'}; obj=${out%$'\n'*}
	expect "$kind update" 200 "$code"
	rv2=$(jq -r .metadata.resourceVersion <<<"$obj")
	[ "$rv2" -gt "$rv" ] 2>/dev/null && ok "$kind update bumps resourceVersion" || fail "$kind rv $rv -> $rv2"
	expect "$kind update keeps uid" "$uid" "$(jq -r .metadata.uid <<<"$obj")"
	expect "$kind stale update 409" 409 "$(acurl_code -X PUT -H "$J" -d "$upd" "$coll/t1")"
	out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"annotations":{"p":"1"}}}' "$coll/t1")
	expect "$kind merge patch" 1 "$(jq -r '.metadata.annotations.p' <<<"$out")"
	expect "$kind patch kept labels" yes "$(jq -r '.metadata.labels.upd' <<<"$out")"
	expect "$kind delete" 200 "$(acurl_code -X DELETE "$coll/t1")"
	expect "$kind get after delete" 404 "$(acurl_code "$coll/t1")"
done

P=/api/v1/namespaces/default/pods
mkpod() { # name labels-json [node]
	acurl -X POST -H "$J" -o /dev/null -w '%{http_code}' -d "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\",\"labels\":$2},\"spec\":{\"nodeName\":\"${3:-}\",\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}" $P
}

# ---- defaults, YAML in/out, generateName -----------------------------------------------
out=$(acurl -X POST -H 'Content-Type: application/yaml' --data-binary $'apiVersion: v1\nkind: Pod\nmetadata:\n  generateName: gen-\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n' $P)
name=$(jq -r .metadata.name <<<"$out")
[[ "$name" == gen-?????* ]] && ok "generateName ($name)" || fail "generateName: $out"
expect "defaults restartPolicy" Always "$(jq -r .spec.restartPolicy <<<"$out")"
expect "defaults imagePullPolicy" IfNotPresent "$(jq -r '.spec.containers[0].imagePullPolicy' <<<"$out")"
expect "defaults phase" Pending "$(jq -r .status.phase <<<"$out")"
contains "YAML response" "kind: Pod" "$(acurl -H 'Accept: application/yaml' $P/$name)"
acurl -X DELETE -o /dev/null $P/$name

out=$(acurl -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nulls","creationTimestamp":null,"labels":null},"data":{"a":"1","b":null}}' /api/v1/namespaces/default/configmaps)
expect "null fields dropped" '{"a":"1"}|null' "$(jq -c '.data' <<<"$out")|$(jq -c '.metadata.labels' <<<"$out")"
[ "$(jq -r .metadata.creationTimestamp <<<"$out")" != null ] && ok "creationTimestamp null replaced by server" || fail "creationTimestamp: $out"

# ---- validation -------------------------------------------------------------------------
out=$(acurl -X POST -H "$J" -w '\n%{http_code}' -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name"},"spec":{"containers":[{"name":"c"}]}}' $P)
expect "invalid pod 422" 422 "${out##*$'\n'}"
contains "422 field path name" '"field":"metadata.name"' "$out"
contains "422 field path image" '"field":"spec.containers[0].image"' "$out"
contains "422 reason" '"reason":"Invalid"' "$out"
out=$(acurl -X POST -H "$J" -w '\n%{http_code}' -d '{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"},"spec":{"ports":[{"port":70000}]}}' /api/v1/namespaces/default/services)
contains "service port range" '"field":"spec.ports[0].port"' "$out"
out=$(acurl -X POST -H "$J" -w '\n%{http_code}' -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"selector":{"matchLabels":{"app":"x"}},"template":{"metadata":{"labels":{"app":"y"}},"spec":{"containers":[{"name":"c","image":"i"}]}}}}' /apis/apps/v1/namespaces/default/deployments)
contains "deployment selector/template mismatch" '"field":"spec.template.metadata.labels"' "$out"
out=$(acurl -X POST -H "$J" -D - -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"unk"},"data":{},"extra":1}' /api/v1/namespaces/default/configmaps)
contains "unknown field warning" 'unknown field \"extra\"' "$out"
expect "strict unknown field 400" 400 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"unk2"},"bogus":1}' '/api/v1/namespaces/default/configmaps?fieldValidation=Strict')"
expect "missing namespace 404" 404 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}' /api/v1/namespaces/nope/configmaps)"
expect "protected namespace" 403 "$(acurl_code -X DELETE /api/v1/namespaces/default)"

# ---- selectors -------------------------------------------------------------------------------
mkpod s1 '{"app":"web","tier":"fe"}' n1 >/dev/null
mkpod s2 '{"app":"web","tier":"be"}' n2 >/dev/null
mkpod s3 '{"app":"db"}' n1 >/dev/null
names() { jq -r '[.items[].metadata.name]|sort|join(",")'; }
expect "label =" "s1,s2" "$(acurl "$P?labelSelector=app%3Dweb" | names)"
expect "label in + =" "s2" "$(acurl "$P?labelSelector=tier%20in%20(be),app%3Dweb" | names)"
expect "label in (set)" "s1,s2" "$(acurl "$P?labelSelector=tier%20in%20(fe,be)" | names)"
expect "label !exists" "s3" "$(acurl "$P?labelSelector=!tier" | names)"
expect "label !=" "s1,s3" "$(acurl "$P?labelSelector=tier!%3Dbe" | names)"
expect "field nodeName" "s1,s3" "$(acurl "$P?fieldSelector=spec.nodeName%3Dn1" | names)"
expect "field + label" "s1" "$(acurl "$P?fieldSelector=spec.nodeName%3Dn1&labelSelector=app%3Dweb" | names)"
expect "all-namespace list" "s1,s2,s3" "$(acurl "/api/v1/pods?labelSelector=app" | names)"
expect "bad selector 400" 400 "$(acurl_code "$P?labelSelector=a%20in%20b")"
page=$(acurl "$P?limit=2")
cont=$(jq -r .metadata.continue <<<"$page")
expect "limit" 2 "$(jq '.items|length' <<<"$page")"
expect "continue" 1 "$(acurl -G --data-urlencode "continue=$cont" "$P" | jq '.items|length')"

# ---- patch types -------------------------------------------------------------------------------
out=$(acurl -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"add","path":"/metadata/labels/x","value":"1"},{"op":"replace","path":"/spec/containers/0/image","value":"busybox:2"}]' $P/s1)
expect "json patch add" 1 "$(jq -r .metadata.labels.x <<<"$out")"
expect "json patch replace" busybox:2 "$(jq -r '.spec.containers[0].image' <<<"$out")"
expect "json patch test failure 422" 422 "$(acurl_code -X PATCH -H 'Content-Type: application/json-patch+json' -d '[{"op":"test","path":"/metadata/name","value":"zz"}]' $P/s1)"
out=$(acurl -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' -d '{"spec":{"containers":[{"name":"c","image":"busybox:3"}]}}' $P/s1)
expect "strategic patch merges by name" busybox:3 "$(jq -r '.spec.containers[0].image' <<<"$out")"
expect "strategic patch keeps fields" File "$(jq -r '.spec.containers[0].terminationMessagePolicy' <<<"$out")"
expect "patch unknown content type 415" 415 "$(acurl_code -X PATCH -H 'Content-Type: text/plain' -d '{}' $P/s1)"
rv=$(acurl $P/s1 | jq -r .metadata.resourceVersion)
expect "patch with stale rv 409" 409 "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"metadata\":{\"resourceVersion\":\"$((rv-1))\",\"labels\":{\"q\":\"1\"}}}" $P/s1)"
expect "nodeName immutable" 422 "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"nodeName":"other"}}' $P/s1)"

# ---- pods/binding (what the scheduler uses) ----------------------------------------
mkpod bindme '{"app":"b"}' >/dev/null
expect "binding 201" 201 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bindme"},"target":{"apiVersion":"v1","kind":"Node","name":"node-7"}}' $P/bindme/binding)"
out=$(acurl $P/bindme)
expect "binding set nodeName" node-7 "$(jq -r .spec.nodeName <<<"$out")"
expect "binding set PodScheduled" True "$(jq -r '.status.conditions[] | select(.type=="PodScheduled") | .status' <<<"$out")"
expect "second binding 409" 409 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"bindme"},"target":{"kind":"Node","name":"node-8"}}' $P/bindme/binding)"
expect "binding without target 422" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"s2"}}' $P/s2/binding)"
expect "binding of missing pod 404" 404 "$(acurl_code -X POST -H "$J" -d '{"target":{"kind":"Node","name":"n"}}' $P/ghost/binding)"
expect "GET binding 405" 405 "$(acurl_code $P/bindme/binding)"

# ---- status subresource --------------------------------------------------------------------------
out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"status":{"phase":"Running","podIP":"10.244.0.9"}}' $P/s1/status)
expect "status patch" Running "$(jq -r .status.phase <<<"$out")"
out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"status":{"phase":"Failed"},"metadata":{"labels":{"m":"1"}}}' $P/s1)
expect "main resource ignores status" Running "$(jq -r .status.phase <<<"$out")"
gen=$(jq -r .metadata.generation <<<"$out")
out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"status":{"phase":"Succeeded"},"spec":{"activeDeadlineSeconds":5}}' $P/s1/status)
expect "status ignores spec" null "$(jq -r .spec.activeDeadlineSeconds <<<"$out")"
expect "status does not bump generation" "$gen" "$(jq -r .metadata.generation <<<"$out")"

# ---- scale subresource ------------------------------------------------------------------------------
D=/apis/apps/v1/namespaces/default/deployments
acurl -X POST -H "$J" -o /dev/null -d '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}' $D
out=$(acurl $D/web/scale)
expect "scale get kind" Scale "$(jq -r .kind <<<"$out")"
expect "scale get replicas" 2 "$(jq -r .spec.replicas <<<"$out")"
expect "scale selector" "app=web" "$(jq -r .status.selector <<<"$out")"
out=$(acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":7}}' $D/web/scale)
expect "scale patch" 7 "$(jq -r .spec.replicas <<<"$out")"
expect "deployment replicas after scale" 7 "$(acurl $D/web | jq -r .spec.replicas)"
expect "deployment generation after scale" 2 "$(acurl $D/web | jq -r .metadata.generation)"
sc=$(acurl $D/web/scale | jq -c '.spec.replicas=3')
expect "scale put" 3 "$(acurl -X PUT -H "$J" -d "$sc" $D/web/scale | jq -r .spec.replicas)"
expect "negative scale 422" 422 "$(acurl_code -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":-1}}' $D/web/scale)"

# DeleteOptions preconditions
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"pre"}}' /api/v1/namespaces/default/configmaps
expect "delete with wrong uid precondition 409" 409 "$(acurl_code -X DELETE -H "$J" -d '{"kind":"DeleteOptions","apiVersion":"v1","preconditions":{"uid":"not-the-uid"}}' /api/v1/namespaces/default/configmaps/pre)"
puid=$(acurl /api/v1/namespaces/default/configmaps/pre | jq -r .metadata.uid)
expect "delete with right uid precondition" 200 "$(acurl_code -X DELETE -H "$J" -d "{\"preconditions\":{\"uid\":\"$puid\"}}" /api/v1/namespaces/default/configmaps/pre)"

# ---- ownerReferences, finalizers, deletionTimestamp ---------------------------------------------------
duid=$(acurl $D/web | jq -r .metadata.uid)
out=$(acurl -X POST -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"fin\",\"finalizers\":[\"example.com/keep\"],\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\",\"uid\":\"$duid\"}]}}" /api/v1/namespaces/default/configmaps)
expect "ownerReferences stored" "$duid" "$(jq -r '.metadata.ownerReferences[0].uid' <<<"$out")"
expect "bad ownerReference 422" 422 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"badown","ownerReferences":[{"kind":"X"}]}}' /api/v1/namespaces/default/configmaps)"
expect "delete with finalizer 202" 202 "$(acurl_code -X DELETE /api/v1/namespaces/default/configmaps/fin)"
out=$(acurl /api/v1/namespaces/default/configmaps/fin)
[ "$(jq -r .metadata.deletionTimestamp <<<"$out")" != null ] && ok "deletionTimestamp set" || fail "deletionTimestamp: $out"
acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"finalizers":null}}' /api/v1/namespaces/default/configmaps/fin
expect "gone after last finalizer" 404 "$(acurl_code /api/v1/namespaces/default/configmaps/fin)"

# ---- watch -----------------------------------------------------------------------------------------------
C=/api/v1/namespaces/default/configmaps
rv0=$(acurl -X POST -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w1"}}' $C | jq -r .metadata.resourceVersion)
acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d '{"data":{"a":"1"}}' $C/w1
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w2"}}' $C
acurl -X DELETE -o /dev/null $C/w1
ev=$(acurl -N "$C?watch=true&resourceVersion=$rv0&timeoutSeconds=1")
expect "watch resume events" "MODIFIED:w1 ADDED:w2 DELETED:w1" "$(jq -r '.type+":"+.object.metadata.name' <<<"$ev" | xargs)"
rvs=$(jq -r .object.metadata.resourceVersion <<<"$ev" | xargs)
sorted=$(tr ' ' '\n' <<<"$rvs" | sort -n | uniq | xargs)
expect "watch revisions increasing, unique" "$rvs" "$sorted"
mid=$(jq -r .object.metadata.resourceVersion <<<"$ev" | head -1)
ev2=$(acurl -N "$C?watch=true&resourceVersion=$mid&timeoutSeconds=1")
expect "watch resume mid-stream" "ADDED:w2 DELETED:w1" "$(jq -r '.type+":"+.object.metadata.name' <<<"$ev2" | xargs)"
ev3=$(acurl -N "$C?watch=true&timeoutSeconds=1")
contains "watch without rv starts with state" '"type":"ADDED"' "$ev3"
# live events with a label selector, to a watcher started first
acurl -N "$C?watch=1&labelSelector=w%3Dyes&timeoutSeconds=2" >/tmp/gannet-50-w.$$ &
wpid=$!
sleep 0.5
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w3","labels":{"w":"yes"}}}' $C
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"w4","labels":{"w":"no"}}}' $C
wait $wpid
expect "live watch with selector" "ADDED:w3" "$(jq -r '.type+":"+.object.metadata.name' </tmp/gannet-50-w.$$ | xargs)"
rm -f /tmp/gannet-50-w.$$
# label changes move objects in and out of a selector's view
lrv=$(acurl $C | jq -r .metadata.resourceVersion)
acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"w":"no"}}}' $C/w3
acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"w":"yes"}}}' $C/w4
acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d '{"data":{"z":"1"}}' $C/w4
ev=$(acurl -N "$C?watch=1&labelSelector=w%3Dyes&resourceVersion=$lrv&timeoutSeconds=1")
expect "selector transitions" "DELETED:w3 ADDED:w4 MODIFIED:w4" "$(jq -r '.type+":"+.object.metadata.name' <<<"$ev" | xargs)"
bm=$(acurl -N "$C?watch=1&resourceVersion=$(acurl $C | jq -r .metadata.resourceVersion)&allowWatchBookmarks=true&timeoutSeconds=1")
contains "bookmark" '"type":"BOOKMARK"' "$bm"
# a stalled watcher (reads 2 KB/s) must not delay a normal one
big=$(head -c 20000 /dev/zero | tr '\0' 'x')
startrv=$(acurl $C | jq -r .metadata.resourceVersion)
curl -s -N --limit-rate 2K --max-time 8 --cacert "$CA_CERT" --cert "$ADMIN_CERT" --key "$ADMIN_KEY" \
	"$APISERVER_URL$C?watch=1&resourceVersion=$startrv" >/dev/null 2>&1 &
slowpid=$!
acurl -N "$C?watch=1&resourceVersion=$startrv&labelSelector=slow%3Dtest&timeoutSeconds=4" >/tmp/gannet-50-fast.$$ &
fastpid=$!
sleep 0.3
t0=$(date +%s%N)
for i in $(seq 1 40); do
	acurl -X POST -o /dev/null -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"slow-$i\",\"labels\":{\"slow\":\"test\"}},\"data\":{\"big\":\"$big\"}}" $C
done
for _ in $(seq 1 100); do
	[ "$(grep -c '"type":"ADDED"' /tmp/gannet-50-fast.$$)" -ge 40 ] && break
	sleep 0.05
done
t1=$(date +%s%N)
expect "normal watcher unaffected by a stalled one" 40 "$(grep -c '"type":"ADDED"' /tmp/gannet-50-fast.$$)"
[ $(( (t1 - t0) / 1000000 )) -lt 5000 ] && ok "fast watcher caught up in $(( (t1 - t0) / 1000000 )) ms" || fail "fast watcher took $(( (t1 - t0) / 1000000 )) ms"
wait $fastpid 2>/dev/null; kill $slowpid 2>/dev/null; wait $slowpid 2>/dev/null
rm -f /tmp/gannet-50-fast.$$
acurl -X DELETE -o /dev/null "$C?labelSelector=slow%3Dtest"

# 410: the cache holds 50 events; push it past rv0
for i in $(seq 1 60); do
	acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d "{\"data\":{\"i\":\"$i\"}}" $C/w2
done
out=$(acurl -w '\n%{http_code}' "$C?watch=true&resourceVersion=$rv0")
expect "watch too old 410" 410 "${out##*$'\n'}"
contains "410 reason Expired" '"reason":"Expired"' "$out"

# ---- store compaction ------------------------------------------------------------------------------------------
# Every 500 ms the server compacts history behind the watch cache's window
# (and at least 5 revisions back): rv0 is now compacted in the store too.
crev() { acurl /metrics | awk '$1 == "apiserver_storage_compacted_revision" {print $2}'; }
for i in $(seq 1 40); do [ "$(crev)" -gt "$rv0" ] 2>/dev/null && break; sleep 0.1; done
cr=$(crev)
if [ "${cr:-0}" -gt "$rv0" ] 2>/dev/null; then ok "store compacted up to $cr (> rv0 $rv0)"; else fail "no compaction past rv0 $rv0: '$cr'"; fi
out=$(acurl -w '\n%{http_code}' "$C?watch=true&resourceVersion=$rv0")
expect "watch from a compacted revision 410" 410 "${out##*$'\n'}"
expect "list after compaction" 200 "$(acurl_code "$C")"
contains "list after compaction has w2" '"name":"w2"' "$(acurl "$C")"
expect "w2 latest value kept" 60 "$(acurl "$C/w2" | jq -r .data.i)"
rvl=$(acurl "$C" | jq -r .metadata.resourceVersion)
acurl -X PATCH -o /dev/null -H 'Content-Type: application/merge-patch+json' -d '{"data":{"i":"after"}}' $C/w2
ev=$(acurl -N "$C?watch=true&resourceVersion=$rvl&timeoutSeconds=1")
contains "watch from a recent revision still resumes" '"i":"after"' "$ev"

# ---- authn / RBAC ------------------------------------------------------------------------------------------
expect "anonymous 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" "$APISERVER_URL/api/v1/pods")"
expect "bad token 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" -H 'Authorization: Bearer nope' "$APISERVER_URL/api/v1/pods")"
alice() { curl -s --cacert "$CA_CERT" -H 'Authorization: Bearer tok-alice-123456' "$@"; }
expect "alice forbidden 403" 403 "$(alice -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/namespaces/default/pods")"
contains "403 message" 'cannot list resource' "$(alice "$APISERVER_URL/api/v1/namespaces/default/pods")"
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"pod-reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]}' /apis/rbac.authorization.k8s.io/v1/namespaces/default/roles
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"alice-reads"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"pod-reader"},"subjects":[{"kind":"User","name":"alice"}]}' /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings
code=000
for i in $(seq 1 40); do
	code=$(alice -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/namespaces/default/pods")
	[ "$code" = 200 ] && break
	sleep 0.05
done
expect "alice granted by RoleBinding" 200 "$code"
expect "alice still cannot create" 403 "$(alice -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{}' "$APISERVER_URL/api/v1/namespaces/default/pods")"
expect "alice cannot read other namespace" 403 "$(alice -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/namespaces/kube-system/pods")"
acurl -X DELETE -o /dev/null /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/alice-reads
code=000
for i in $(seq 1 40); do
	code=$(alice -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/namespaces/default/pods")
	[ "$code" = 403 ] && break
	sleep 0.05
done
expect "alice revoked" 403 "$code"

# ---- RBAC escalation prevention ---------------------------------------------------------------------------------
# nsadmin is admin of namespace "esc" only: it may write RBAC objects
# there, but not grant what it does not hold.
R=/apis/rbac.authorization.k8s.io/v1/namespaces/esc
nsadmin() { curl -s --cacert "$CA_CERT" -H 'Authorization: Bearer tok-nsadmin-123456' "$@"; }
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"esc"}}' /api/v1/namespaces
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"nsadmin-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"admin"},"subjects":[{"kind":"User","name":"nsadmin"}]}' $R/rolebindings
code=000
for i in $(seq 1 40); do
	code=$(nsadmin -o /dev/null -w '%{http_code}' "$APISERVER_URL$R/rolebindings")
	[ "$code" = 200 ] && break
	sleep 0.05
done
expect "nsadmin lists rolebindings in esc" 200 "$code"
out=$(nsadmin -w '\n%{http_code}' -X POST -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"me-cluster-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"nsadmin"}]}' "$APISERVER_URL$R/rolebindings")
expect "nsadmin cannot bind cluster-admin to itself" 403 "${out##*$'\n'}"
msg=$(jq -r .message <<<"${out%$'\n'*}")
contains "escalation 403 names the binding" 'rolebindings.rbac.authorization.k8s.io "me-cluster-admin" is forbidden' "$msg"
expect "403 message not repeated" 1 "$(grep -o 'forbidden' <<<"$msg" | wc -l)"
expect "cluster-admin binding not stored" 404 "$(acurl_code $R/rolebindings/me-cluster-admin)"
expect "nsadmin creates a Role within its rights" 201 "$(nsadmin -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"reader"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list"]}]}' "$APISERVER_URL$R/roles")"
expect "nsadmin binds its own Role" 201 "$(nsadmin -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"bob-reader"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},"subjects":[{"kind":"User","name":"bob"}]}' "$APISERVER_URL$R/rolebindings")"
expect "nsadmin cannot create a Role granting *" 403 "$(nsadmin -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"all"},"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}' "$APISERVER_URL$R/roles")"
expect "nsadmin cannot patch its Role to grant *" 403 "$(nsadmin -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"rules":[{"apiGroups":["*"],"resources":["*"],"verbs":["*"]}]}' "$APISERVER_URL$R/roles/reader")"
expect "Role unchanged after refused patch" '["get","list"]' "$(acurl $R/roles/reader | jq -c '.rules[0].verbs')"
expect "nsadmin may patch its Role within its rights" 200 "$(nsadmin -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get","list","watch"]}]}' "$APISERVER_URL$R/roles/reader")"
rb=$(acurl $R/rolebindings/bob-reader)
expect "nsadmin cannot PUT a binding to cluster-admin" 403 "$(nsadmin -o /dev/null -w '%{http_code}' -X PUT -H "$J" -d "$(jq -c '.roleRef.kind = "ClusterRole" | .roleRef.name = "cluster-admin"' <<<"$rb")" "$APISERVER_URL$R/rolebindings/bob-reader")"
expect "admin (system:masters) may bind cluster-admin" 201 "$(acurl_code -X POST -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"ops-cluster-admin"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"ops"}]}' $R/rolebindings)"

# ---- node restriction on create (credentials from node-kubeconfig) ------------------------------------------------
SRVBIN=${GANNET_APISERVER:-$BUILD/bin/gannet-apiserver}
NKC=$(mktemp /tmp/gannet-50-node.XXXXXX)
if "$SRVBIN" node-kubeconfig --data-dir "$APISERVER_DATA" --node n1 --server "$APISERVER_URL" --out "$NKC"; then
	ok "node-kubeconfig"
	expect "node kubeconfig mode 600" 600 "$(stat -c %a "$NKC")"
	if command -v kubectl >/dev/null; then
		kubectl --kubeconfig "$NKC" get pods -o name >/dev/null 2>&1 && ok "kubectl reads pods with the node kubeconfig" ||
			fail "kubectl get pods with the node kubeconfig"
		contains "kubectl as the node: identity system:node:n1" 'User "system:node:n1" cannot create' \
			"$(kubectl --kubeconfig "$NKC" create configmap from-node 2>&1)"
	fi
	n1() { curl -s --cacert "$CA_CERT" --cert "$APISERVER_DATA/pki/nodes/n1.crt" --key "$APISERVER_DATA/pki/nodes/n1.key" "$@"; }
	expect "node n1 creates Node n1" 201 "$(n1 -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}' "$APISERVER_URL/api/v1/nodes")"
	out=$(n1 -w '\n%{http_code}' -X POST -H "$J" -d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n2"}}' "$APISERVER_URL/api/v1/nodes")
	expect "node n1 cannot create Node n2" 403 "${out##*$'\n'}"
	contains "node restriction message" 'nodes "n2" is forbidden: node "n1" may only modify its own' "$(jq -r .message <<<"${out%$'\n'*}")"
	expect "Node n2 not created" 404 "$(acurl_code /api/v1/nodes/n2)"
	expect "node n1 cannot create Lease n2" 403 "$(n1 -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n2","namespace":"kube-node-lease"},"spec":{"holderIdentity":"n2"}}' "$APISERVER_URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")"
	expect "node n1 creates Lease n1" 201 "$(n1 -o /dev/null -w '%{http_code}' -X POST -H "$J" -d '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"n1","namespace":"kube-node-lease"},"spec":{"holderIdentity":"n1"}}' "$APISERVER_URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases")"
	expect "node n1 cannot patch Node t1" 403 "$(n1 -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"x":"y"}}}' "$APISERVER_URL/api/v1/nodes/n1x")"
else
	fail "node-kubeconfig"
fi
rm -f "$NKC"

# ServiceAccount tokens (TokenRequest) authenticate as system:serviceaccount:<ns>:<name>
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"robot"}}' /api/v1/namespaces/default/serviceaccounts
out=$(acurl -X POST -H "$J" -w '\n%{http_code}' -d '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}' /api/v1/namespaces/default/serviceaccounts/robot/token)
expect "TokenRequest 201" 201 "${out##*$'\n'}"
SAT=$(jq -r .status.token <<<"${out%$'\n'*}")
expect "TokenRequest for missing SA 404" 404 "$(acurl_code -X POST -H "$J" -d '{}' /api/v1/namespaces/default/serviceaccounts/ghost/token)"
robot() { curl -s --cacert "$CA_CERT" -H "Authorization: Bearer $SAT" "$@"; }
contains "SA token identity in 403" 'system:serviceaccount:default:robot' "$(robot "$APISERVER_URL/api/v1/namespaces/default/configmaps")"
acurl -X POST -o /dev/null -H "$J" -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"robot-view"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"view"},"subjects":[{"kind":"ServiceAccount","name":"robot","namespace":"default"}]}' /apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings
code=000
for i in $(seq 1 40); do
	code=$(robot -o /dev/null -w '%{http_code}' "$APISERVER_URL/api/v1/namespaces/default/configmaps")
	[ "$code" = 200 ] && break
	sleep 0.05
done
expect "SA token granted view (aggregated ClusterRole)" 200 "$code"
expect "tampered SA token 401" 401 "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" -H "Authorization: Bearer ${SAT}x" "$APISERVER_URL/api/v1/namespaces/default/configmaps")"

# ---- secrets at rest ------------------------------------------------------------------------------------------
PLAIN="gannet-secret-plaintext-$$"
B64=$(printf %s "$PLAIN" | base64 -w0)
CM_MARK="gannet-configmap-marker-$$"
acurl -X POST -o /dev/null -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"atrest\"},\"data\":{\"pw\":\"$B64\"},\"stringData\":{\"sd\":\"$PLAIN-sd\"}}" /api/v1/namespaces/default/secrets
expect "secret readable over API" "$PLAIN" "$(acurl /api/v1/namespaces/default/secrets/atrest | jq -r .data.pw | base64 -d)"
expect "stringData merged into data" "$PLAIN-sd" "$(acurl /api/v1/namespaces/default/secrets/atrest | jq -r .data.sd | base64 -d)"
acurl -X POST -o /dev/null -H "$J" -d "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"atrest-cm\"},\"data\":{\"marker\":\"$CM_MARK\"}}" /api/v1/namespaces/default/configmaps
# the files holding the store: SQLite by default, etcd's when 54 reruns us
if [ -n "${APISERVER_DB_FILES_DIR:-}" ]; then dbfiles=$(find "$APISERVER_DB_FILES_DIR" -type f | xargs); else dbfiles=$(ls "$APISERVER_DATA"/state.db*); fi
# control: an unencrypted object written the same way is visible, so the
# negative check below can fail
if cat $dbfiles | grep -aq "$CM_MARK"; then ok "control: configmap plaintext visible in db files"; else fail "control: configmap not found in db files"; fi
if cat $dbfiles | grep -aqE "$PLAIN|$B64"; then fail "secret plaintext found in db files"; else ok "secret not in db files"; fi

# ---- metrics --------------------------------------------------------------------------------------------------------
m=$(acurl /metrics)
contains "metrics counter" 'apiserver_request_total{verb="create",resource="pods",code="201"}' "$m"
contains "metrics histogram" 'apiserver_request_duration_seconds_bucket{verb="get"' "$m"

# server survived everything
expect "still healthy" 200 "$(acurl_code /readyz)"
apiserver_stop
if grep -qE 'AddressSanitizer|runtime error' "$APISERVER_LOG"; then
	fail "sanitizer report in server log (BUILD=$BUILD)"
	grep -A 20 -E 'AddressSanitizer|runtime error' "$APISERVER_LOG" | head -40
fi
if [ $fails -gt 0 ]; then echo "$fails check(s) failed"; echo "--- server log"; tail -n 20 "$APISERVER_LOG"; exit 1; fi
echo "all apiserver checks passed"
