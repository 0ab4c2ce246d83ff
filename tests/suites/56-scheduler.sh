#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gannet-scheduler against a live gannet-apiserver (127.0.0.1 only), with its
# own credential (client cert CN=system:kube-scheduler, the bootstrap RBAC
# role): pods of one ReplicaSet spread evenly over 3 Ready nodes and never
# land on a NotReady one; a pod asking for too much CPU gets
# PodScheduled=False/Unschedulable with kube-scheduler's message and is
# bound once a big node joins; a nodeSelector pod waits until a node gets the
# label; anti-affinity by hostname keeps replicas apart; pods of another
# scheduler are left alone; resources are never overcommitted.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
export GANNET_ROOT=$PWD
BUILD=${BUILD:-build}
SCHED=$BUILD/bin/gannet-scheduler
TOOL=$BUILD/tests/unit/auth_tool
for b in "$SCHED" "$TOOL" "$BUILD/bin/gannet-apiserver"; do
	[ -x "$b" ] || { echo "FAIL: missing $b (run make first)"; exit 1; }
done
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
. tests/lib/apiserver.sh

rc=0
fail() { echo "FAIL: $*"; rc=1; }
SCHED_PID=
cleanup() {
	if [ -n "$SCHED_PID" ]; then
		kill "$SCHED_PID" 2>/dev/null
		wait "$SCHED_PID" 2>/dev/null
	fi
	apiserver_cleanup
}
trap cleanup EXIT
APISERVER_NO_TRAP=1 apiserver_start || { echo "FAIL: apiserver did not start"; exit 1; }

post() { # PATH JSON
	local code
	code=$(acurl -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$2" "$1")
	case $code in 2??) ;; *) fail "POST $1 -> $code";; esac
}
mknode() { # NAME READY CPU [LABELS-JSON]
	post /api/v1/nodes "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$1\",\"labels\":${4:-{\}}},
		\"status\":{\"allocatable\":{\"cpu\":\"$3\",\"memory\":\"8Gi\",\"pods\":\"20\"},
		\"conditions\":[{\"type\":\"Ready\",\"status\":\"$2\"}]}}"
}
mkpod() { # NAME CPU [EXTRA-SPEC-JSON] [EXTRA-METADATA-JSON]
	post /api/v1/namespaces/default/pods "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",
		\"metadata\":{\"name\":\"$1\"${4:+,$4}},
		\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\",
		\"resources\":{\"requests\":{\"cpu\":\"$2\",\"memory\":\"64Mi\"}}}]${3:+,$3}}}"
}
node_of() { acurl "/api/v1/namespaces/default/pods/$1" | jq -r '.spec.nodeName // ""'; }
wait_for() { # SECONDS CMD...: poll until CMD succeeds
	local t=$1; shift
	local end=$((SECONDS + t))
	while [ $SECONDS -lt $end ]; do
		"$@" && return 0
		sleep 0.2
	done
	return 1
}
bound() { [ -n "$(node_of "$1")" ]; }
all_bound() { for p in "$@"; do bound "$p" || return 1; done; }
sched_cond() { # POD -> "status reason message" of PodScheduled
	acurl "/api/v1/namespaces/default/pods/$1" |
		jq -r '(.status.conditions // [])[] | select(.type=="PodScheduled") | "\(.status)|\(.reason // "")|\(.message // "")"'
}
unsched() { sched_cond "$1" | grep -q '^False|Unschedulable|'; }

echo "--- scheduler credential (CN=system:kube-scheduler)"
D=$APISERVER_DATA
"$TOOL" client "$D" system:kube-scheduler "" "$D/sched.crt" "$D/sched.key" 2>/dev/null ||
	{ echo "FAIL: cannot issue the scheduler certificate"; exit 1; }
cat >"$D/scheduler.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: gannet
  cluster: {server: "$APISERVER_URL", certificate-authority: "$CA_CERT"}
users:
- name: system:kube-scheduler
  user: {client-certificate: "$D/sched.crt", client-key: "$D/sched.key"}
contexts:
- name: scheduler
  context: {cluster: gannet, user: "system:kube-scheduler"}
current-context: scheduler
KC
# The bootstrap role lets the scheduler create pods/binding. Servers that do
# not serve that subresource yet are bound with a JSON patch on the pod,
# which needs "patch" on pods: grant exactly that, and say so.
probe=$(acurl -X POST -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Binding","metadata":{"name":"none"},"target":{"name":"none"}}' \
	/api/v1/namespaces/default/pods/none/binding)
if grep -q 'could not find the requested resource' <<<"$probe"; then
	echo "note: no pods/binding subresource; granting patch on pods to system:kube-scheduler"
	post /apis/rbac.authorization.k8s.io/v1/clusterroles '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
		"metadata":{"name":"test:scheduler-bind-patch"},"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["patch"]}]}'
	post /apis/rbac.authorization.k8s.io/v1/clusterrolebindings '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
		"metadata":{"name":"test:scheduler-bind-patch"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"test:scheduler-bind-patch"},
		"subjects":[{"kind":"User","name":"system:kube-scheduler","apiGroup":"rbac.authorization.k8s.io"}]}'
fi

echo "--- cluster: 3 Ready nodes (2 cpu), 1 NotReady"
for n in n1 n2 n3; do mknode $n True 2; done
mknode n4 False 64
"$SCHED" --kubeconfig "$D/scheduler.kubeconfig" -v -v >"$D/scheduler.log" 2>&1 &
SCHED_PID=$!

echo "--- 6 replicas spread 2/2/2"
owner='"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"rs-web-1","controller":true}],"labels":{"app":"web"}'
for i in 1 2 3 4 5 6; do mkpod web-$i 100m "" "$owner"; done
wait_for 20 all_bound web-1 web-2 web-3 web-4 web-5 web-6 || fail "web pods not all bound"
dist=$(for i in 1 2 3 4 5 6; do node_of web-$i; done | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
echo "distribution: $dist"
[ "$dist" = "n1=2 n2=2 n3=2 " ] || fail "not spread evenly: $dist"

echo "--- a pod that fits nowhere"
mkpod huge 8
wait_for 15 unsched huge || fail "huge: no PodScheduled=False condition: $(sched_cond huge)"
msg=$(sched_cond huge | cut -d'|' -f3)
echo "message: $msg"
[ "$msg" = "0/4 nodes are available: 1 node(s) were not ready, 3 Insufficient cpu." ] ||
	fail "huge: unexpected message: $msg"
[ -z "$(node_of huge)" ] || fail "huge was bound"

echo "--- nodeSelector pod waits for a labelled node"
mkpod picky 100m '"nodeSelector":{"disk":"ssd"}'
wait_for 15 unsched picky || fail "picky: not marked unschedulable"
sched_cond picky | grep -q "didn't match Pod's node affinity/selector" || fail "picky: message: $(sched_cond picky)"
code=$(acurl -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"metadata":{"labels":{"disk":"ssd"}}}' /api/v1/nodes/n2)
[ "$code" = 200 ] || fail "label n2 -> $code"
wait_for 20 bound picky || fail "picky not bound after n2 got the label"
[ "$(node_of picky)" = n2 ] || fail "picky on $(node_of picky), want n2"

echo "--- a big node joins: the huge pod is retried and bound"
mknode big True 16
wait_for 25 bound huge || fail "huge not bound after a big node joined"
[ "$(node_of huge)" = big ] || fail "huge on $(node_of huge), want big"
wait_for 10 eval '[ "$(sched_cond huge | cut -d"|" -f1)" = True ]' || fail "huge: PodScheduled not True: $(sched_cond huge)"

echo "--- anti-affinity by hostname"
anti='"affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"kubernetes.io/hostname","labelSelector":{"matchLabels":{"app":"solo"}}}]}}'
for i in 1 2 3 4 5; do mkpod solo-$i 10m "$anti" '"labels":{"app":"solo"}'; done
wait_for 20 all_bound solo-1 solo-2 solo-3 solo-4 || fail "solo pods not bound"
nodes=$(for i in 1 2 3 4 5; do node_of solo-$i; done | grep . | sort)
echo "solo nodes: $(echo $nodes)"
[ "$(echo "$nodes" | wc -l)" = 4 ] || fail "want exactly 4 solo pods bound (4 Ready nodes): $(echo $nodes)"
[ "$(echo "$nodes" | uniq -d)" = "" ] || fail "two solo pods share a node"
wait_for 15 unsched solo-5 || fail "solo-5: not unschedulable"
sched_cond solo-5 | grep -q "4 node(s) didn't match pod anti-affinity rules" || fail "solo-5: $(sched_cond solo-5)"

echo "--- another scheduler's pod is left alone"
mkpod foreign 10m '"schedulerName":"other-scheduler"'
sleep 2
[ -z "$(node_of foreign)" ] || fail "foreign pod bound by us"
[ -z "$(sched_cond foreign)" ] || fail "foreign pod got a condition from us"

echo "--- a pod we cannot handle says why"
mkpod zonal 10m '"affinity":{"podAntiAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":[{"topologyKey":"topology.kubernetes.io/zone","labelSelector":{"matchLabels":{"app":"z"}}}]}}'
wait_for 15 unsched zonal || fail "zonal: no PodScheduled=False condition"
sched_cond zonal | grep -q 'topologyKey "topology.kubernetes.io/zone" is not supported' ||
	fail "zonal: message: $(sched_cond zonal)"
[ -z "$(node_of zonal)" ] || fail "zonal was bound"

echo "--- no overcommit: 40 pods of 300m on 4 Ready nodes"
for i in $(seq 1 40); do mkpod fill-$i 300m; done
# Each pod is either bound or marked unschedulable within a few seconds.
fill_settled() {
	acurl /api/v1/namespaces/default/pods | jq -e '[.items[] | select(.metadata.name|startswith("fill-"))
		| select((.spec.nodeName // "") == "" and ([(.status.conditions // [])[] | select(.type=="PodScheduled" and .status=="False")] | length) == 0)]
		| length == 0' >/dev/null
}
wait_for 30 fill_settled || fail "fill pods neither bound nor marked unschedulable"
acurl /api/v1/namespaces/default/pods >"$D/pods.json"
acurl /api/v1/nodes >"$D/nodes.json"
over=$(jq -r --slurpfile nodes "$D/nodes.json" '
	def cpu: if endswith("m") then (.[:-1]|tonumber) else (tonumber*1000) end;
	[.items[] | select(.spec.nodeName) | {n: .spec.nodeName, c: ([.spec.containers[].resources.requests.cpu | cpu] | add)}]
	| group_by(.n) | map({n: .[0].n, used: (map(.c)|add)})
	| map(. as $u | ($nodes[0].items[] | select(.metadata.name == $u.n) | .status.allocatable.cpu | cpu) as $a
	      | select($u.used > $a) | "\($u.n) \($u.used)m > \($a)m") | .[]' "$D/pods.json")
[ -z "$over" ] || fail "overcommitted: $over"
nfill=$(jq '[.items[] | select(.metadata.name|startswith("fill-")) | select(.spec.nodeName)] | length' "$D/pods.json")
echo "fill pods bound: $nfill of 40"
# Exactly what fits: n1 and n3 have 1790m free (5 pods), n2 1690m (5),
# big is limited by its 20 pods (2 already there: 18).
[ "$nfill" = 33 ] || fail "fill pods bound: $nfill, want 33"
maxpods=$(jq '[.items[] | select(.spec.nodeName) | .spec.nodeName] | group_by(.) | map(length) | max' "$D/pods.json")
[ "$maxpods" -le 20 ] || fail "a node got $maxpods pods (allocatable 20)"

kill -0 "$SCHED_PID" 2>/dev/null || fail "scheduler died"
echo "--- clean shutdown on SIGTERM"
kill -TERM "$SCHED_PID"
end=$((SECONDS + 10))
while kill -0 "$SCHED_PID" 2>/dev/null && [ $SECONDS -lt $end ]; do sleep 0.1; done
if kill -0 "$SCHED_PID" 2>/dev/null; then
	fail "scheduler did not stop within 10 s of SIGTERM"
else
	wait "$SCHED_PID"
	st=$?
	[ $st -eq 0 ] || fail "scheduler exit status $st"
fi
SCHED_PID=
grep -q 'Sanitizer' "$D/scheduler.log" && fail "sanitizer report in the scheduler log"
if grep -q ' 403 ' "$D/scheduler.log"; then fail "scheduler got 403s"; grep ' 403 ' "$D/scheduler.log" | head -3; fi
if [ $rc -ne 0 ]; then echo "--- scheduler log (tail)"; tail -n 40 "$D/scheduler.log"; fi
[ $rc -eq 0 ] && echo "scheduler integration: all checks passed"
exit $rc
