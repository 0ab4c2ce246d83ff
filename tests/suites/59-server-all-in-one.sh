#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The all-in-one server: gannet-apiserver with its in-process scheduler and
# controllers (no gannet-scheduler / gannet-controller-manager process).
# Checks: the loops' own credentials (kubeconfigs 0600, RBAC users
# system:kube-scheduler / system:kube-controller-manager), 2 Ready Nodes
# created without podCIDR get one from node IPAM, examples/ Deployment
# scaled to 4 -> ReplicaSet + 4 pods bound and spread 2/2, a fake kubelet
# (node credentials from `gannet-apiserver node-kubeconfig`) marks them
# Running/Ready -> deployment Available; scale to 1 -> 3 pods deleted;
# delete -> cascade (ReplicaSet and pods gone); SIGTERM -> exit 0 within
# 5 s; a restart with --no-scheduler keeps the controllers but binds
# nothing. Everything on 127.0.0.1.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
export BUILD
SRV=$BUILD/bin/gannet-apiserver
[ -x "$SRV" ] || { echo "missing $SRV (run make)"; exit 1; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }
command -v kubectl >/dev/null || { echo "skip: kubectl not installed"; exit 77; }

. tests/lib/apiserver.sh
APISERVER_NO_TRAP=1
export APISERVER_CONTROLLERS=1
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	apiserver_cleanup
}
trap cleanup EXIT
# A short node grace would evict pods of a node whose fake lease renewal
# lags; the default (40 s) is what the server runs with.
apiserver_start || exit 1
T=$APISERVER_DATA
FAIL=0
fail() { echo "FAIL: $*"; FAIL=1; }
ok() { echo "ok   $*"; }

J() { acurl -H 'Content-Type: application/json' "$@"; }
MP='Content-Type: application/merge-patch+json'
# strategic merge: conditions merge by type (PodScheduled stays), as a kubelet does
SP='Content-Type: application/strategic-merge-patch+json'
now_micro() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
wait_for() { # SECONDS DESCRIPTION COMMAND...
	local t=$1 what=$2; shift 2
	local end=$(( $(date +%s) + t ))
	while [ "$(date +%s)" -lt "$end" ]; do
		if "$@"; then return 0; fi
		sleep 0.3
	done
	fail "$what (not within ${t}s)"
	return 1
}

# ---- the loops run in-process with their own credentials ------------------
for f in kube-scheduler kube-controller-manager; do
	m=$(stat -c %a "$T/$f.kubeconfig" 2>/dev/null)
	[ "$m" = 600 ] && ok "$f.kubeconfig mode 600" || fail "$f.kubeconfig mode '$m'"
done
subj=$(openssl x509 -noout -subject -in "$T/pki/kube-scheduler.crt" 2>/dev/null)
[[ "$subj" == *"CN = system:kube-scheduler"* ]] && ok "scheduler cert: $subj" || fail "scheduler cert subject: $subj"
# the scheduler's credential is not an admin one: RBAC limits it
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" --cert "$T/pki/kube-scheduler.crt" \
	--key "$T/pki/kube-scheduler.key" "$APISERVER_URL/api/v1/namespaces/default/secrets")
[ "$code" = 403 ] && ok "scheduler credential cannot list secrets (403)" || fail "scheduler list secrets: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$CA_CERT" --cert "$T/pki/kube-scheduler.crt" \
	--key "$T/pki/kube-scheduler.key" "$APISERVER_URL/api/v1/pods")
[ "$code" = 200 ] && ok "scheduler credential lists pods" || fail "scheduler list pods: $code"
grep -q 'scheduler running in-process as system:kube-scheduler' "$APISERVER_LOG" &&
grep -q 'controllers running in-process as system:kube-controller-manager' "$APISERVER_LOG" &&
	ok "loops started in-process" || fail "no in-process loops in the log"

# ---- node credentials and two Ready nodes without podCIDR ------------------
NODES="aio-a aio-b"
for n in $NODES; do
	"$SRV" node-kubeconfig --data-dir "$T" --node "$n" --server "$APISERVER_URL" --out "$T/$n.kubeconfig" ||
		fail "node-kubeconfig $n"
done
m=$(stat -c %a "$T/aio-a.kubeconfig" 2>/dev/null)
[ "$m" = 600 ] && ok "node kubeconfig mode 600" || fail "node kubeconfig mode '$m'"
"$SRV" node-kubeconfig --data-dir "$T" --node "../x" --server "$APISERVER_URL" --out "$T/bad.kubeconfig" 2>/dev/null &&
	fail "node-kubeconfig accepted a bad node name" || ok "node-kubeconfig refuses '../x'"
# node agents act with their own certificate (CN=system:node:<n>)
NC() { local n=$1; shift; curl -s --max-time 20 --cacert "$CA_CERT" --cert "$T/pki/nodes/$n.crt" --key "$T/pki/nodes/$n.key" "$@"; }
for n in $NODES; do
	code=$(NC "$n" -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Node\",
		\"metadata\":{\"name\":\"$n\",\"labels\":{\"kubernetes.io/hostname\":\"$n\"}},\"spec\":{}}" "$APISERVER_URL/api/v1/nodes")
	[ "$code" = 201 ] && ok "node $n registers itself with its kubeconfig" || fail "node $n create: $code"
	NC "$n" -o /dev/null -X PATCH -H "$MP" -d "{\"status\":{
		\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"reason\":\"KubeletReady\",\"lastHeartbeatTime\":\"$(date -u +%FT%TZ)\",\"lastTransitionTime\":\"$(date -u +%FT%TZ)\"}],
		\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"},
		\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\"}}}" "$APISERVER_URL/api/v1/nodes/$n/status"
	NC "$n" -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",
		\"metadata\":{\"name\":\"$n\",\"namespace\":\"kube-node-lease\"},
		\"spec\":{\"holderIdentity\":\"$n\",\"leaseDurationSeconds\":40,\"renewTime\":\"$(now_micro)\"}}" \
		"$APISERVER_URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
done
two_cidrs() { [ "$(acurl /api/v1/nodes | jq '[.items[].spec.podCIDR // empty] | unique | length')" = 2 ]; }
if wait_for 15 "node IPAM: both nodes get a podCIDR" two_cidrs; then
	c=$(acurl /api/v1/nodes | jq -r '[.items[].spec.podCIDR] | sort | join(" ")')
	[[ "$c" =~ ^10\.244\.[0-9]+\.0/24\ 10\.244\.[0-9]+\.0/24$ ]] && ok "node IPAM: $c" || fail "podCIDRs '$c'"
fi

# The fake kubelet: renews leases and moves bound pods to Running, then
# Ready (one step per round), each node with its own credential.
fake_kubelet() {
	while :; do
		for n in $NODES; do
			NC "$n" -o /dev/null -X PATCH -H "$MP" -d "{\"spec\":{\"renewTime\":\"$(now_micro)\"}}" \
				"$APISERVER_URL/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$n" 2>/dev/null
			NC "$n" "$APISERVER_URL/api/v1/pods?fieldSelector=spec.nodeName%3D$n" 2>/dev/null | jq -r '.items[]? |
				select(.metadata.deletionTimestamp == null) |
				[.metadata.namespace, .metadata.name, (.status.phase // "Pending"),
				 (if any(.status.conditions[]?; .type == "Ready" and .status == "True") then "R" else "N" end)] | @tsv' |
			while IFS=$'\t' read -r ns name phase ready; do
				local ts; ts=$(date -u +%FT%TZ)
				if [ "$phase" != Running ]; then
					NC "$n" -o /dev/null -X PATCH -H "$SP" -d "{\"status\":{\"phase\":\"Running\",
						\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\",\"lastTransitionTime\":\"$ts\"}]}}" \
						"$APISERVER_URL/api/v1/namespaces/$ns/pods/$name/status" 2>/dev/null
				elif [ "$ready" = N ]; then
					NC "$n" -o /dev/null -X PATCH -H "$SP" -d "{\"status\":{\"phase\":\"Running\",
						\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastTransitionTime\":\"$ts\"}]}}" \
						"$APISERVER_URL/api/v1/namespaces/$ns/pods/$name/status" 2>/dev/null
				fi
			done
		done
		sleep 0.3
	done
}
fake_kubelet &
PIDS+=($!)

# ---- examples/ Deployment, scaled to 4 ------------------------------------------
kubectl apply -f examples/00-namespace.yaml >/dev/null || fail "apply namespace"
kubectl apply -f examples/20-deployment.yaml >/dev/null || fail "apply deployment"
kubectl -n demo scale deployment web --replicas=4 >/dev/null || fail "scale to 4"
pods() { acurl "/api/v1/namespaces/demo/pods?labelSelector=app%3Dweb"; }
live_pods() { pods | jq '[.items[] | select(.metadata.deletionTimestamp == null)] | length'; }
bound_is() { [ "$(pods | jq '[.items[] | select(.metadata.deletionTimestamp == null) | select(.spec.nodeName != null)] | length')" = "$1" ] &&
	     [ "$(live_pods)" = "$1" ]; }
rs_count() { acurl /apis/apps/v1/namespaces/demo/replicasets | jq '.items | length'; }
rsn() { [ "$(rs_count)" -ge 1 ]; }
wait_for 20 "ReplicaSet created" rsn && ok "ReplicaSet $(acurl /apis/apps/v1/namespaces/demo/replicasets | jq -r '.items[0].metadata.name')"
if wait_for 30 "4 pods bound" bound_is 4; then
	dist=$(pods | jq -r '[.items[].spec.nodeName] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')
	[ "$dist" = "aio-a=2 aio-b=2" ] && ok "4 pods bound, spread $dist" || fail "spread: $dist"
	sched=$(pods | jq '[.items[] | select(any(.status.conditions[]?; .type == "PodScheduled" and .status == "True"))] | length')
	[ "$sched" = 4 ] && ok "PodScheduled=True on 4 pods (pods/binding)" || fail "PodScheduled on $sched pods"
fi
dstat() { acurl /apis/apps/v1/namespaces/demo/deployments/web | jq -r "$1"; }
available() { [ "$(dstat .status.availableReplicas)" = 4 ] &&
	      [ "$(dstat '.status.conditions[]? | select(.type == "Available") | .status')" = True ]; }
wait_for 30 "deployment available (4/4)" available && ok "deployment Available, 4 available replicas"

# ---- scale to 1: 3 pods deleted ---------------------------------------------------
kubectl -n demo scale deployment web --replicas=1 >/dev/null || fail "scale to 1"
one() { [ "$(live_pods)" = 1 ]; }
wait_for 20 "scale to 1" one && ok "scaled to 1: 3 pods deleted"

# ---- delete: cascade ---------------------------------------------------------------
kubectl -n demo delete deployment web >/dev/null || fail "delete deployment"
gone() { [ "$(rs_count)" = 0 ] && [ "$(pods | jq '.items | length')" = 0 ]; }
wait_for 30 "cascade: ReplicaSet and pods deleted" gone && ok "cascading delete"

# ---- SIGTERM: clean and quick ------------------------------------------------------
t0=$(date +%s%N)
kill -TERM "$APISERVER_PID"
for _ in $(seq 1 100); do kill -0 "$APISERVER_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$APISERVER_PID" 2>/dev/null; then
	fail "server still running 5 s after SIGTERM"
	kill -KILL "$APISERVER_PID"
	wait "$APISERVER_PID" 2>/dev/null
else
	wait "$APISERVER_PID"; rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ "$rc" = 0 ] && ok "SIGTERM: exit 0 in $ms ms" || fail "SIGTERM: exit code $rc"
fi
APISERVER_PID=
grep -q 'did not stop' "$APISERVER_LOG" && fail "a loop did not stop: $(grep 'did not stop' "$APISERVER_LOG")"
grep -q 'scheduler: stopped' "$APISERVER_LOG" && ok "scheduler thread stopped" || fail "no scheduler stop in the log"

# ---- --no-scheduler: controllers only --------------------------------------------------
apiserver_restart --no-scheduler || { fail "restart --no-scheduler"; exit 1; }
grep -c 'scheduler running in-process' "$APISERVER_LOG" | grep -qx 1 && ok "restart: no in-process scheduler" ||
	fail "scheduler started despite --no-scheduler"
J -X POST -d '{"apiVersion":"v1","kind":"Node","metadata":{"name":"aio-c"},"spec":{}}' /api/v1/nodes >/dev/null
J -X POST -d '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"lonely"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}' \
	/api/v1/namespaces/default/pods >/dev/null
cidr_c() { [ -n "$(acurl /api/v1/nodes/aio-c | jq -r '.spec.podCIDR // empty')" ]; }
wait_for 15 "controllers still run: aio-c gets a podCIDR" cidr_c && ok "controllers run without the scheduler"
sleep 2
nn=$(acurl /api/v1/namespaces/default/pods/lonely | jq -r '.spec.nodeName // "none"')
[ "$nn" = none ] && ok "--no-scheduler: pod stays unbound" || fail "pod bound to $nn without a scheduler"

kill "${PIDS[@]}" 2>/dev/null
apiserver_stop
if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$APISERVER_LOG"; then
	fail "sanitizer report in the server log (BUILD=$BUILD)"
	grep -A 20 -E 'AddressSanitizer|LeakSanitizer|runtime error' "$APISERVER_LOG" | head -40
fi
if [ "$FAIL" != 0 ]; then
	echo "--- server log (tail)"; tail -n 40 "$APISERVER_LOG"
	exit 1
fi
echo "all all-in-one checks passed"
