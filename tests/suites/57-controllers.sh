#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Controllers against a live gannet-apiserver: gannet-controller-manager
# (own client certificate, CN=system:kube-controller-manager), the scheduler
# when built (else the test binds pods itself) and a fake kubelet loop that
# renews node Leases and marks bound pods Running, then Ready, through the
# status subresource. Checks: node IPAM, Deployment 6 replicas spread over
# the nodes, scale 2 / 10, rolling update never below replicas -
# maxUnavailable ready pods (sampled continuously), kubectl rollout undo,
# DaemonSet one pod per node, a node whose Lease stops being renewed
# becomes NotReady and its pods come back elsewhere within 60 s, cascading
# delete of a Deployment, namespace deletion. Everything on 127.0.0.1.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
export BUILD
CM=${GANNET_CM:-$BUILD/bin/gannet-controller-manager}
SCHED=$BUILD/bin/gannet-scheduler
TOOL=$BUILD/tests/unit/auth_tool
for b in "$CM" "$BUILD/bin/gannet-apiserver" "$TOOL"; do
	[ -x "$b" ] || { echo "missing $b (run make)"; exit 1; }
done
command -v jq >/dev/null || { echo "jq not installed"; exit 77; }
command -v kubectl >/dev/null || { echo "kubectl not installed"; exit 77; }

. tests/lib/apiserver.sh
APISERVER_NO_TRAP=1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	apiserver_cleanup
}
trap cleanup EXIT
apiserver_start || exit 1
T=$APISERVER_DATA
FAIL=0
fail() { echo "FAIL: $*"; FAIL=1; }
ok() { echo "ok   $*"; }

# ---- credentials ---------------------------------------------------------
mkkc() { # user cert key out
	cat >"$4" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "$APISERVER_URL", certificate-authority: "$CA_CERT"}}]
users: [{name: $1, user: {client-certificate: "$2", client-key: "$3"}}]
contexts: [{name: t, context: {cluster: t, user: $1}}]
current-context: t
EOF
}
"$TOOL" client "$T" system:kube-controller-manager "" "$T/cm.crt" "$T/cm.key" || exit 1
mkkc cm "$T/cm.crt" "$T/cm.key" "$T/cm.kubeconfig"
"$TOOL" client "$T" system:kube-scheduler "" "$T/sched.crt" "$T/sched.key" || exit 1
mkkc sched "$T/sched.crt" "$T/sched.key" "$T/sched.kubeconfig"

# ---- helpers ---------------------------------------------------------------
J() { acurl -H 'Content-Type: application/json' "$@"; }
now_micro() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
# wait_for SECONDS DESCRIPTION COMMAND...: polls until COMMAND succeeds.
wait_for() {
	local t=$1 what=$2; shift 2
	local end=$(( $(date +%s) + t ))
	while [ "$(date +%s)" -lt "$end" ]; do
		if "$@"; then return 0; fi
		sleep 0.3
	done
	fail "$what (not within ${t}s)"
	return 1
}
pods_json() { acurl "/api/v1/namespaces/${2:-default}/pods?labelSelector=$1"; }
# Running+Ready pods of a selector (not being deleted).
ready_count() {
	pods_json "$1" "${2:-default}" | jq '[.items[] | select(.metadata.deletionTimestamp == null)
		| select(any(.status.conditions[]?; .type == "Ready" and .status == "True"))] | length'
}
pod_count() { pods_json "$1" "${2:-default}" | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length'; }
ready_is() { [ "$(ready_count "$1")" = "$2" ] && [ "$(pod_count "$1")" = "$2" ]; }

# ---- nodes, leases, fake kubelet -------------------------------------------
NODES="node-a node-b node-c"
J -X POST -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kube-node-lease"}}' \
	/api/v1/namespaces >/dev/null
for n in $NODES; do
	J -X POST -d "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$n\",\"labels\":{\"kubernetes.io/hostname\":\"$n\"}},
		\"spec\":{}}" /api/v1/nodes >/dev/null
	J -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"status\":{
		\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"$(date -u +%FT%TZ)\",\"lastTransitionTime\":\"$(date -u +%FT%TZ)\"}],
		\"capacity\":{\"cpu\":\"8\",\"memory\":\"16Gi\",\"pods\":\"110\"},
		\"allocatable\":{\"cpu\":\"8\",\"memory\":\"16Gi\",\"pods\":\"110\"}}}" \
		"/api/v1/nodes/$n/status" >/dev/null
	J -X POST -d "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":\"$n\",\"namespace\":\"kube-node-lease\"},
		\"spec\":{\"holderIdentity\":\"$n\",\"leaseDurationSeconds\":40,\"renewTime\":\"$(now_micro)\"}}" \
		/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases >/dev/null
done

USE_SCHED=0
[ -x "$SCHED" ] && USE_SCHED=1
# The fake kubelet: renews leases of live nodes (a node is dead once
# $T/dead-<node> exists), binds pods itself when there is no scheduler,
# and moves bound pods Pending -> Running (not ready) -> Ready one step
# per round, so that a rollout really passes through unready pods.
fake_kubelet() {
	local rr=0
	while :; do
		for n in $NODES; do
			[ -e "$T/dead-$n" ] && continue
			J -X PATCH -H 'Content-Type: application/merge-patch+json' \
				-d "{\"spec\":{\"renewTime\":\"$(now_micro)\"}}" \
				"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$n" >/dev/null 2>>"$T/kubelet.log" ||
				echo "$(date +%T) lease $n: renew failed" >>"$T/kubelet.log"
		done
		acurl /api/v1/pods 2>/dev/null | jq -r '.items[] | select(.metadata.deletionTimestamp == null) |
			[.metadata.namespace, .metadata.name, (.spec.nodeName // ""),
			 (.status.phase // "Pending"),
			 (if any(.status.conditions[]?; .type == "Ready" and .status == "True") then "R" else "N" end)] | @tsv' |
		while IFS=$'\t' read -r ns name node phase ready; do
			if [ -z "$node" ]; then
				[ "$USE_SCHED" = 1 ] && continue
				set -- $NODES
				local live=()
				for x in "$@"; do [ -e "$T/dead-$x" ] || live+=("$x"); done
				node=${live[$(( rr % ${#live[@]} ))]}; rr=$((rr + 1))
				J -X PATCH -H 'Content-Type: application/json-patch+json' \
					-d "[{\"op\":\"add\",\"path\":\"/spec/nodeName\",\"value\":\"$node\"}]" \
					"/api/v1/namespaces/$ns/pods/$name" >/dev/null 2>&1
				continue
			fi
			[ -e "$T/dead-$node" ] && continue
			local ts; ts=$(date -u +%FT%TZ)
			if [ "$phase" != Running ]; then
				J -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"status\":{\"phase\":\"Running\",
					\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"$ts\"}]}}" \
					"/api/v1/namespaces/$ns/pods/$name/status" >/dev/null 2>&1
			elif [ "$ready" = N ]; then
				J -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"status\":{\"phase\":\"Running\",
					\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$ts\"}]}}" \
					"/api/v1/namespaces/$ns/pods/$name/status" >/dev/null 2>&1
			fi
		done
		sleep 0.3
	done
}
fake_kubelet &
PIDS+=($!)
if [ "$USE_SCHED" = 1 ]; then
	"$SCHED" --kubeconfig "$T/sched.kubeconfig" >"$T/scheduler.log" 2>&1 &
	PIDS+=($!)
else
	echo "note: $SCHED not built, the fake kubelet binds pods"
fi
"$CM" --kubeconfig "$T/cm.kubeconfig" --node-grace 5s --eviction-timeout 3s ${CM_ARGS:-} \
	>"$T/cm.log" 2>&1 &
CM_PID=$!
PIDS+=($CM_PID)

# ---- node IPAM -------------------------------------------------------------
cidrs() { acurl /api/v1/nodes | jq -r '[.items[].spec.podCIDR // empty] | sort | join(" ")'; }
three_cidrs() { [ "$(acurl /api/v1/nodes | jq '[.items[].spec.podCIDR // empty] | unique | length')" = 3 ]; }
if wait_for 15 "3 nodes get distinct pod CIDRs" three_cidrs; then
	c=$(cidrs)
	if [[ "$c" =~ ^10\.244\.[0-9]+\.0/24\ 10\.244\.[0-9]+\.0/24\ 10\.244\.[0-9]+\.0/24$ ]]; then
		ok "node IPAM: $c"
	else
		fail "node IPAM: unexpected CIDRs '$c'"
	fi
fi

# ---- Deployment: 6 replicas spread over the nodes ---------------------------
cat >"$T/web.json" <<'EOF'
{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},
 "spec":{"replicas":6,"selector":{"matchLabels":{"app":"web"}},
  "strategy":{"type":"RollingUpdate","rollingUpdate":{"maxSurge":2,"maxUnavailable":1}},
  "template":{"metadata":{"labels":{"app":"web"}},
   "spec":{"containers":[{"name":"c","image":"busybox:1","args":["sleep","3600"]}]}}}}
EOF
J -X POST -d @"$T/web.json" /apis/apps/v1/namespaces/default/deployments >/dev/null
if wait_for 30 "deployment web: 6 ready pods" ready_is app%3Dweb 6; then
	spread=$(pods_json app%3Dweb | jq '[.items[].spec.nodeName] | unique | length')
	[ "$spread" = 3 ] && ok "6 pods running, spread over $spread nodes" ||
		fail "6 pods on only $spread nodes"
fi
dstat() { acurl /apis/apps/v1/namespaces/default/deployments/web | jq -r "$1"; }
avail_is() { [ "$(dstat .status.availableReplicas)" = "$1" ] && [ "$(dstat .status.updatedReplicas)" = "$1" ]; }
wait_for 10 "deployment status availableReplicas=6 updatedReplicas=6" avail_is 6 && ok "deployment status"
[ "$(dstat '.metadata.annotations["deployment.kubernetes.io/revision"]')" = 1 ] &&
	ok "revision annotation 1" || fail "revision annotation: $(dstat .metadata.annotations)"
rs1=$(acurl /apis/apps/v1/namespaces/default/replicasets | jq -r '.items[0].metadata.name')
rsh=$(acurl "/apis/apps/v1/namespaces/default/replicasets/$rs1" |
	jq -r '.metadata.labels["pod-template-hash"] + " " + .metadata.annotations["deployment.kubernetes.io/desired-replicas"] + " " + .metadata.annotations["deployment.kubernetes.io/max-replicas"]')
[[ "$rs1" == "web-${rsh%% *}" && "${rsh#* }" == "6 8" ]] && ok "replicaset $rs1 (hash label, desired 6, max 8)" ||
	fail "replicaset naming/annotations: $rs1 $rsh"

# ---- scale to 2 and to 10 ------------------------------------------------------
kubectl scale deployment web --replicas=2 >/dev/null || fail "kubectl scale 2"
wait_for 30 "scale to 2" ready_is app%3Dweb 2 && ok "scaled to 2"
kubectl scale deployment web --replicas=10 >/dev/null || fail "kubectl scale 10"
wait_for 30 "scale to 10" ready_is app%3Dweb 10 && ok "scaled to 10"
kubectl scale deployment web --replicas=6 >/dev/null || fail "kubectl scale 6"
wait_for 30 "scale back to 6" ready_is app%3Dweb 6

# ---- rolling update, sampled continuously ---------------------------------------
: >"$T/samples"
( while [ ! -e "$T/stop-sampler" ]; do ready_count app%3Dweb >>"$T/samples"; sleep 0.1; done ) &
SAMPLER=$!
kubectl set image deployment/web c=busybox:2 >/dev/null || fail "kubectl set image"
new_image_done() {
	[ "$(pods_json app%3Dweb | jq '[.items[] | select(.spec.containers[0].image == "busybox:2")] | length')" = 6 ] &&
		ready_is app%3Dweb 6 && avail_is 6
}
wait_for 60 "rolling update to busybox:2" new_image_done && ok "rolling update finished"
touch "$T/stop-sampler"
wait $SAMPLER 2>/dev/null
min=$(sort -n "$T/samples" | head -1)
n=$(wc -l <"$T/samples")
if [ "$n" -ge 5 ] && [ "$min" -ge 5 ]; then
	ok "ready pods never below 5 (= 6 - maxUnavailable) during the update: min $min over $n samples"
else
	fail "ready pods dropped to $min (need >= 5) over $n samples"
fi
[ "$(dstat '.metadata.annotations["deployment.kubernetes.io/revision"]')" = 2 ] &&
	ok "revision 2 after the update" || fail "revision after update: $(dstat '.metadata.annotations')"

# ---- rollout undo --------------------------------------------------------------
if out=$(kubectl rollout undo deployment/web 2>&1); then
	ok "kubectl rollout undo: $out"
else
	fail "kubectl rollout undo: $out"
fi
old_image_done() {
	[ "$(pods_json app%3Dweb | jq '[.items[] | select(.spec.containers[0].image == "busybox:1")] | length')" = 6 ] &&
		ready_is app%3Dweb 6
}
wait_for 60 "rollback to busybox:1" old_image_done && ok "rolled back to busybox:1 pods"
[ "$(dstat '.metadata.annotations["deployment.kubernetes.io/revision"]')" = 3 ] &&
	[ "$(acurl "/apis/apps/v1/namespaces/default/replicasets/$rs1" | jq -r '.metadata.annotations["deployment.kubernetes.io/revision"]')" = 3 ] &&
	ok "the first ReplicaSet became revision 3" || fail "revision after undo"
nrs=$(acurl /apis/apps/v1/namespaces/default/replicasets | jq '.items | length')
[ "$nrs" = 2 ] && ok "2 ReplicaSets (one per template)" || fail "$nrs ReplicaSets"

# ---- pause / resume, rollout status and history ----------------------------------
kubectl rollout pause deployment/web >/dev/null || fail "kubectl rollout pause"
kubectl set image deployment/web c=busybox:3 >/dev/null || fail "kubectl set image (paused)"
sleep 2
n3=$(pods_json app%3Dweb | jq '[.items[] | select(.spec.containers[0].image == "busybox:3")] | length')
nrs=$(acurl /apis/apps/v1/namespaces/default/replicasets | jq '.items | length')
[ "$n3" = 0 ] && [ "$nrs" = 2 ] && ok "paused: template change not rolled out" ||
	fail "paused deployment rolled out ($n3 new pods, $nrs ReplicaSets)"
kubectl rollout resume deployment/web >/dev/null || fail "kubectl rollout resume"
if out=$(kubectl rollout status deployment/web --timeout=60s 2>&1); then
	ok "kubectl rollout status: $(tail -n 1 <<<"$out")"
else
	fail "kubectl rollout status: $out"
fi
v3_done() {
	[ "$(pods_json app%3Dweb | jq '[.items[] | select(.spec.containers[0].image == "busybox:3")] | length')" = 6 ] &&
		ready_is app%3Dweb 6
}
wait_for 60 "resumed rollout to busybox:3" v3_done && ok "resumed: rolled out busybox:3"
hist=$(kubectl rollout history deployment/web 2>&1 | awk '$1 ~ /^[0-9]+$/ {print $1}' | tr '\n' ' ')
[ "$hist" = "2 3 4 " ] && ok "kubectl rollout history: revisions $hist" || fail "rollout history: '$hist'"

# ---- DaemonSet -------------------------------------------------------------------
J -X POST -d '{"apiVersion":"apps/v1","kind":"DaemonSet","metadata":{"name":"agent"},
 "spec":{"selector":{"matchLabels":{"app":"agent"}},"template":{"metadata":{"labels":{"app":"agent"}},
 "spec":{"containers":[{"name":"a","image":"busybox:1"}]}}}}' /apis/apps/v1/namespaces/default/daemonsets >/dev/null
ds_ok() { [ "$(pods_json app%3Dagent | jq '[.items[].spec.nodeName] | unique | length')" = 3 ] &&
	[ "$(pod_count app%3Dagent)" = 3 ]; }
wait_for 20 "daemonset: one pod per node" ds_ok && ok "daemonset: one pod on each of the 3 nodes"
ds_ready() { [ "$(ready_count app%3Dagent)" = 3 ]; }
wait_for 20 "daemonset pods ready" ds_ready
kubectl set image daemonset/agent a=busybox:2 >/dev/null || fail "kubectl set image daemonset"
ds_updated() {
	[ "$(pods_json app%3Dagent | jq '[.items[] | select(.spec.containers[0].image == "busybox:2")] | length')" = 3 ] &&
		ds_ready && ds_ok
}
wait_for 40 "daemonset rolling update" ds_updated && ok "daemonset rolled out busybox:2 on the 3 nodes"
ds_status() { [ "$(acurl /apis/apps/v1/namespaces/default/daemonsets/agent | jq -r '.status | "\(.desiredNumberScheduled) \(.updatedNumberScheduled) \(.numberReady)"')" = "3 3 3" ]; }
wait_for 10 "daemonset status desired/updated/ready 3" ds_status && ok "daemonset status: desired 3, updated 3, ready 3"

# ---- node failure ------------------------------------------------------------------
victim=$(pods_json app%3Dweb | jq -r '[.items[].spec.nodeName] | group_by(.) | max_by(length) | .[0]')
nv=$(pods_json app%3Dweb | jq --arg n "$victim" '[.items[] | select(.spec.nodeName == $n)] | length')
touch "$T/dead-$victim"
t0=$(date +%s)
node_unknown() {
	acurl "/api/v1/nodes/$victim" | jq -e '(any(.status.conditions[]; .type == "Ready" and .status == "Unknown"))
		and (any(.spec.taints[]?; .key == "node.kubernetes.io/unreachable" and .effect == "NoExecute"))' >/dev/null
}
wait_for 30 "$victim NotReady + unreachable taint" node_unknown && ok "$victim: Ready=Unknown, tainted unreachable after $(( $(date +%s) - t0 ))s"
moved() {
	[ "$(pods_json app%3Dweb | jq --arg n "$victim" '[.items[] | select(.spec.nodeName == $n)] | length')" = 0 ] &&
		ready_is app%3Dweb 6
}
if wait_for 60 "pods of $victim replaced on the other nodes" moved; then
	ok "$nv pods of $victim back on other nodes after $(( $(date +%s) - t0 ))s (< 60 s)"
fi
[ "$(pods_json app%3Dagent | jq --arg n "$victim" '[.items[] | select(.spec.nodeName == $n)] | length')" = 1 ] &&
	ok "daemonset pod on $victim kept (tolerates unreachable)" || fail "daemonset pod on $victim evicted"
pods_json app%3Dagent | jq -e --arg n "$victim" '[.items[] | select(.spec.nodeName == $n) |
	select(any(.status.conditions[]; .type == "Ready" and .status == "False" and .reason == "NodeUnreachable"))] | length == 1' >/dev/null &&
	ok "its pods marked Ready=False (NodeUnreachable)" || fail "pods on $victim still Ready"

rm -f "$T/dead-$victim"
back() { ! acurl "/api/v1/nodes/$victim" | jq -e 'any(.spec.taints[]?; .key == "node.kubernetes.io/unreachable")' >/dev/null; }
wait_for 20 "$victim untainted after its lease is renewed again" back && ok "$victim recovered"

# ---- node IPAM across a restart of the controller-manager -----------------------
kill "$CM_PID"; wait "$CM_PID" 2>/dev/null
"$CM" --kubeconfig "$T/cm.kubeconfig" --node-grace 5s --eviction-timeout 3s >>"$T/cm.log" 2>&1 &
CM_PID=$!
PIDS+=($CM_PID)
J -X POST -d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-d"}}' /api/v1/nodes >/dev/null
four() { [ "$(acurl /api/v1/nodes | jq '[.items[].spec.podCIDR // empty] | unique | length')" = 4 ]; }
wait_for 15 "node-d gets a fourth distinct CIDR after a restart" four && ok "node IPAM stable across restart: $(cidrs)"
acurl -X DELETE /api/v1/nodes/node-d >/dev/null

# ---- cascading delete -----------------------------------------------------------
kubectl delete deployment web >/dev/null || fail "kubectl delete deployment"
gone() { [ "$(acurl /apis/apps/v1/namespaces/default/replicasets | jq '.items | length')" = 0 ] &&
	[ "$(pod_count app%3Dweb)" = 0 ]; }
wait_for 20 "deployment delete cascades to ReplicaSets and pods" gone && ok "cascading delete: ReplicaSets and pods gone"

# ---- foreground deletion ---------------------------------------------------------
J -X POST -d '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"fg","finalizers":["foregroundDeletion"]},
 "spec":{"replicas":2,"selector":{"matchLabels":{"app":"fg"}},"template":{"metadata":{"labels":{"app":"fg"}},
 "spec":{"containers":[{"name":"c","image":"busybox:1"}]}}}}' /apis/apps/v1/namespaces/default/replicasets >/dev/null
fg_up() { [ "$(pod_count app%3Dfg)" = 2 ]; }
wait_for 20 "replicaset fg: 2 pods" fg_up
acurl -X DELETE /apis/apps/v1/namespaces/default/replicasets/fg >/dev/null
fg_gone() { [ "$(pod_count app%3Dfg)" = 0 ] && [ "$(acurl_code /apis/apps/v1/namespaces/default/replicasets/fg)" = 404 ]; }
wait_for 20 "foreground deletion: pods first, then the ReplicaSet" fg_gone && ok "foreground deletion: pods deleted, finalizer removed, ReplicaSet gone"

# ---- namespace deletion ---------------------------------------------------------
J -X POST -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team"}}' /api/v1/namespaces >/dev/null
sed 's/"namespace":"default"/"namespace":"team"/; s/"replicas":6/"replicas":2/' "$T/web.json" >"$T/team.json"
J -X POST -d @"$T/team.json" /apis/apps/v1/namespaces/team/deployments >/dev/null
J -X POST -d '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cfg"},"data":{"a":"b"}}' \
	/api/v1/namespaces/team/configmaps >/dev/null
J -X POST -d '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"r"},"rules":[]}' \
	/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles >/dev/null
J -X POST -d '{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"deny"},"spec":{"podSelector":{}}}' \
	/apis/networking.k8s.io/v1/namespaces/team/networkpolicies >/dev/null
team_up() { [ "$(ready_count app%3Dweb team)" = 2 ]; }
wait_for 30 "team deployment up" team_up
kubectl delete namespace team >/dev/null 2>&1 || acurl -X DELETE /api/v1/namespaces/team >/dev/null
empty() {
	[ "$(acurl /api/v1/namespaces/team/pods | jq '.items | length')" = 0 ] &&
	[ "$(acurl /apis/apps/v1/namespaces/team/replicasets | jq '.items | length')" = 0 ] &&
	[ "$(acurl /apis/apps/v1/namespaces/team/deployments | jq '.items | length')" = 0 ] &&
	[ "$(acurl /api/v1/namespaces/team/configmaps | jq '.items | length')" = 0 ] &&
	[ "$(acurl /apis/rbac.authorization.k8s.io/v1/namespaces/team/roles | jq '.items | length')" = 0 ] &&
	[ "$(acurl /apis/networking.k8s.io/v1/namespaces/team/networkpolicies | jq '.items | length')" = 0 ]
}
wait_for 20 "namespace deletion removes its contents" empty && ok "namespace team deleted with its contents"

if [ "$FAIL" != 0 ]; then
	echo "--- controller-manager log (tail)"
	tail -n 60 "$T/cm.log"
	echo "--- fake kubelet errors (tail)"
	tail -n 20 "$T/kubelet.log" 2>/dev/null
	exit 1
fi
echo "all controller checks passed"
