#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Orchestration end to end on a 3-node namespace cluster: gannet-apiserver
# with its in-process scheduler and controllers (node grace 10 s), three
# API-mode gannet-agents with runc, gannet-cni and the BPF datapath
# (tests/lib/kubelet.sh). Checks: a Deployment of 6 -> 6 Running pods on all
# 3 nodes, each reaching every other by pod IP (HTTP from inside the pods);
# scale to 2 and to 10; an args change and `gannetctl rollout undo` roll the
# pods while a sampler (every ~200 ms) asserts ready pods never drop below
# replicas - maxUnavailable; a container killed -> restarted, restartCount
# up; failing liveness -> restart; readiness false -> not Ready; bad input
# (unknown image, impossible request -> Unschedulable, bad command) -> clear
# reasons while the Deployment keeps serving; node3's agent SIGKILLed and
# kept down -> its Lease expires and its pods come back on node1/node2.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
# in-process scheduler + controllers; a short node grace keeps the node
# failure check fast (the pods also tolerate unreachable for only 3 s)
export APISERVER_CONTROLLERS=1 APISERVER_EXTRA_ARGS="--node-grace 10s"
. tests/lib/kubelet.sh
kl_require
T0=$SECONDS
kl_up 3

ready_nodes() {
	acurl /api/v1/nodes | jq -e '[.items[] | select(any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length == 3' >/dev/null
}
t_check "3 nodes registered and Ready" wait_for 20 ready_nodes

# ---------------------------------------------------------------- deployment
# Each pod answers GET / with "<version> <pod name> <node>".
web_yaml() {   # web_yaml VERSION REPLICAS
	cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: $2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 1}
  template:
    metadata:
      labels: {app: web}
    spec:
      terminationGracePeriodSeconds: 1
      tolerations:
        - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 3}
      containers:
        - name: httpd
          image: busybox
          command: [sh, -c, 'echo "\$VERSION \$POD_NAME \$NODE_NAME" >/www/index.html; exec httpd -f -p 8080 -h /www']
          env:
            - {name: VERSION, value: "$1"}
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            - name: NODE_NAME
              valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
          readinessProbe:
            tcpSocket: {port: 8080}
            periodSeconds: 1
          volumeMounts:
            - {name: www, mountPath: /www}
      volumes:
        - {name: www, emptyDir: {}}
EOF
}
WEBQ='labelSelector=app%3Dweb'
# live (not terminating) pods of the Deployment: name node ip ready
web_pods() {
	acurl "$P?$WEBQ" | jq -r '.items[] | select(.metadata.deletionTimestamp == null) |
		[.metadata.name, (.spec.nodeName // "-"), (.status.podIP // "-"),
		 (any(.status.conditions[]?; .type=="Ready" and .status=="True") | tostring)] | @tsv'
}
# exactly N pods exist (terminated ones gone), all Running and Ready
web_exactly() {
	local all
	all=$(acurl "$P?$WEBQ") || return 1
	jqe "$all" "(.items | length) == $1 and all(.items[]; .metadata.deletionTimestamp == null and .status.phase == \"Running\" and any(.status.conditions[]?; .type==\"Ready\" and .status==\"True\"))"
}
web_yaml v1 6 >"$CL_DIR/web-v1.yaml"
# v2 declares the scaled count: apply sets every field of the manifest (as
# kubectl does), so a manifest still saying 6 would scale down as well
web_yaml v2 10 >"$CL_DIR/web-v2.yaml"
t_check "gannetctl apply -f: Deployment web (6 replicas)" gctl apply -f "$CL_DIR/web-v1.yaml"
t_check "6 pods Running and Ready" wait_for 40 web_exactly 6
web_pods >"$CL_DIR/pods6"
nodes_used=$(cut -f2 "$CL_DIR/pods6" | sort -u | tr '\n' ' ')
t_check "pods spread over all 3 nodes ($nodes_used)" test "$(cut -f2 "$CL_DIR/pods6" | sort -u | grep -c '^node[123]$')" = 3
t_check "Deployment status: 6 available, 6 updated" wait_for 10 ajq /apis/apps/v1/namespaces/default/deployments/web \
	'.status.availableReplicas==6 and .status.updatedReplicas==6 and .status.readyReplicas==6'

# every pod fetches / from every other pod by pod IP, from inside the pod
mesh_ok() {
	local name node ip ips out other
	ips=$(cut -f3 "$CL_DIR/pods6" | tr '\n' ' ')
	while IFS=$'\t' read -r name node ip _; do
		out=$(gctl exec "$name" -- sh -c "for ip in $ips; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 \$ip 8080 | tail -n 1; done" </dev/null)
		for other in $(cut -f1 "$CL_DIR/pods6"); do
			grep -q "^v1 $other node" <<<"$out" || { echo "$name ($node) did not get an answer from $other: $out"; return 1; }
		done
	done <"$CL_DIR/pods6"
}
t_check "each of the 6 pods reaches the 5 others by pod IP (HTTP, same and cross node)" mesh_ok

# ---------------------------------------------------------------- scale
t_check "gannetctl scale --replicas=2" gctl scale deployment/web --replicas=2
t_check "scaled down: exactly 2 pods remain, Running and Ready" wait_for 30 web_exactly 2
t_check "gannetctl scale --replicas=10" gctl scale deployment/web --replicas=10
t_check "scaled up: 10 pods Running and Ready" wait_for 40 web_exactly 10

# ---------------------------------------------------------------- rolling update
# The sampler lists the Deployment's pods every ~200 ms and records how
# many are Ready and not terminating; it must never see fewer than
# replicas - maxUnavailable = 9.
sampler() {
	while :; do
		acurl "$P?$WEBQ" 2>/dev/null | jq -r '[.items[] | select(.metadata.deletionTimestamp == null and any(.status.conditions[]?; .type=="Ready" and .status=="True"))] | length' 2>/dev/null
		sleep 0.2
	done
}
rollout() {   # rollout LABEL VERSION CMD...: run CMD under the sampler
	local label=$1 ver=$2 spid min n
	shift 2
	: >"$CL_DIR/samples-$label"
	sampler >"$CL_DIR/samples-$label" &
	spid=$!
	CL_BG_PIDS+=("$spid")
	sleep 0.5
	t_check "$label: $*" "$@"
	t_check "$label: rollout status completes" gctl rollout status deployment/web --timeout 90s
	all_version() {
		local o
		o=$(acurl "$P?$WEBQ") && jqe "$o" "(.items|length)==10 and all(.items[]; .metadata.deletionTimestamp==null and (.spec.containers[0].env[0].value==\"$1\") and any(.status.conditions[]?; .type==\"Ready\" and .status==\"True\"))"
	}
	t_check "$label: 10 pods, all Ready with VERSION=$ver, old ones gone" wait_for 30 all_version "$ver"
	sleep 0.5
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	n=$(grep -c '^[0-9]' "$CL_DIR/samples-$label")
	min=$(grep '^[0-9]' "$CL_DIR/samples-$label" | sort -n | head -n 1)
	t_check "$label: ready pods never below 9 during the rollout (min $min over $n samples)" \
		bash -c "[ $n -ge 5 ] && [ '${min:-0}' -ge 9 ]"
}
revision() { acurl /apis/apps/v1/namespaces/default/deployments/web | jq -r '.metadata.annotations["deployment.kubernetes.io/revision"] // ""'; }
rollout "update v1->v2 (args)" v2 gctl apply -f "$CL_DIR/web-v2.yaml"
t_check "apply kept the scaled replica count (10) and revision is 2 ($(revision))" ajq /apis/apps/v1/namespaces/default/deployments/web \
	'.spec.replicas==10 and .metadata.annotations["deployment.kubernetes.io/revision"]=="2"'
serves() {   # a pod answers with VERSION $1
	local name
	name=$(web_pods | head -n 1 | cut -f1)
	gctl exec "$name" -- sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 127.0.0.1 8080" </dev/null | grep -q "^$1 $name "
}
t_check "new pods serve v2" serves v2
rollout "rollout undo" v1 gctl rollout undo deployment/web
t_check "undo: template back to v1 as revision 3 ($(revision))" ajq /apis/apps/v1/namespaces/default/deployments/web \
	'.spec.template.spec.containers[0].env[0].value=="v1" and .metadata.annotations["deployment.kubernetes.io/revision"]=="3"'
t_check "undone pods serve v1" serves v1
VER=v1
if command -v kubectl >/dev/null; then
	t_check "kubectl rollout history lists revisions 2 and 3" bash -c \
		"kubectl --kubeconfig '$KUBECONFIG' rollout history deployment/web | awk '{print \$1}' | grep -qx 2 &&
		 kubectl --kubeconfig '$KUBECONFIG' rollout history deployment/web | awk '{print \$1}' | grep -qx 3"
	rollout "kubectl rollout undo" v2 kubectl --kubeconfig "$KUBECONFIG" rollout undo deployment/web
	t_check "kubectl undo: template back to v2 as revision 4 ($(revision))" ajq /apis/apps/v1/namespaces/default/deployments/web \
		'.spec.template.spec.containers[0].env[0].value=="v2" and .metadata.annotations["deployment.kubernetes.io/revision"]=="4"'
	VER=v2
fi

# ---------------------------------------------------------------- container restarts, probes, bad input
rt_state() {   # rt_state NODE POD CONTAINER -> runc state JSON
	local uid
	uid=$(podq "$2" .metadata.uid)
	runc --root "$CL_DIR/node$1/state/runtime/runc" state "k${uid:0:13}-$3"
}
victim=$(web_pods | awk -F'\t' '$2=="node1" {print $1; exit}')
vpid=$(rt_state 1 "$victim" httpd | jq -r .pid)
t_check "found the container process of $victim on node1 (pid $vpid)" kill -0 "$vpid"
kill -KILL "$vpid"
t_check "killed container process -> restarted, restartCount 1" wait_for 20 pjq "$victim" \
	'.status.containerStatuses[0] | .restartCount==1 and .state.running!=null and .lastState.terminated.exitCode==137'

mkpod live 1 "[{\"name\":\"l\",$BB,\"command\":[\"sh\",\"-c\",\"touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 3600\"],
  \"livenessProbe\":{\"exec\":{\"command\":[\"test\",\"-f\",\"/tmp/ok\"]},\"periodSeconds\":1,\"failureThreshold\":2}}]"
mkpod notready 2 "[{\"name\":\"n\",$BB,\"command\":[\"sleep\",\"3600\"],
  \"readinessProbe\":{\"exec\":{\"command\":[\"false\"]},\"periodSeconds\":1,\"failureThreshold\":1}}]"
mkpod noimage 1 '[{"name":"x","image":"no-such-image:1.0","command":["true"]}]'
mkpod badcmd 2 "[{\"name\":\"x\",$BB,\"command\":[\"/no/such/binary\"]}]"
# no nodeName: the scheduler must find no node for it
acurl -X POST -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",
  \"metadata\":{\"name\":\"huge\"},\"spec\":{\"containers\":[{\"name\":\"x\",$BB,\"command\":[\"true\"],
  \"resources\":{\"requests\":{\"memory\":\"100Ti\",\"cpu\":\"500\"}}}]}}" "$P" >/dev/null
t_check "failing liveness probe -> container restarted" wait_for 25 pjq live \
	'.status.containerStatuses[0].restartCount >= 1 and .status.containerStatuses[0].lastState.terminated != null'
t_check "readiness false -> Running but not Ready" wait_for 15 pjq notready \
	'.status.phase=="Running" and (.status.conditions[]|select(.type=="Ready").status)=="False" and .status.containerStatuses[0].ready==false and .status.containerStatuses[0].restartCount==0'
t_check "unknown image -> Pending, ErrImageNeverPull naming the image" wait_for 15 pjq noimage \
	'.status.phase=="Pending" and .status.containerStatuses[0].state.waiting.reason=="ErrImageNeverPull" and (.status.containerStatuses[0].state.waiting.message|test("no-such-image"))'
t_check "bad command -> waiting with a start error naming the binary" wait_for 15 pjq badcmd \
	'(.status.containerStatuses[0].state.waiting.reason|test("ContainerError|CrashLoopBackOff")) and (.status.containerStatuses[0].state.waiting.message|test("no/such/binary"))'
t_check "impossible resource request -> Pending, PodScheduled False reason Unschedulable" wait_for 15 pjq huge \
	'.status.phase=="Pending" and (.spec.nodeName // "")=="" and any(.status.conditions[]; .type=="PodScheduled" and .status=="False" and .reason=="Unschedulable" and (.message|length>0))'
t_check "Deployment undisturbed: still exactly 10 pods Running and Ready" web_exactly 10
t_check "and a pod still serves" serves "$VER"

# ---------------------------------------------------------------- node failure
on3=$(web_pods | awk -F'\t' '$2=="node3"' | wc -l)
t_check "node3 runs $on3 of the Deployment's pods before it fails" test "$on3" -ge 1
agent_kill 3 KILL
tk=$SECONDS
lease_gone() { ajq /api/v1/nodes/node3 '(.status.conditions[]|select(.type=="Ready").status)!="True"'; }
t_check "node3's Lease expires -> Node not Ready" wait_for 30 lease_gone
moved() {
	local l
	l=$(web_pods) || return 1
	[ "$(grep -c . <<<"$l")" = 10 ] && ! cut -f2 <<<"$l" | grep -q node3 && ! cut -f4 <<<"$l" | grep -q false
}
t_check "node3's pods come back on node1/node2: 10 Ready pods, none on node3" wait_for 60 moved
t_ok "rescheduled within $((SECONDS - tk)) s of the agent's death"
# the replacements are wired too: a pod on node1 reaches all 10 by pod IP
after_failover() {
	local from ips out name ip
	web_pods >"$CL_DIR/pods10"
	from=$(awk -F'\t' '$2=="node1" {print $1; exit}' "$CL_DIR/pods10")
	ips=$(cut -f3 "$CL_DIR/pods10" | tr '\n' ' ')
	out=$(gctl exec "$from" -- sh -c "for ip in $ips; do printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 \$ip 8080 | tail -n 1; done" </dev/null)
	while IFS=$'\t' read -r name _ ip _; do
		grep -q " $name node" <<<"$out" || { echo "no answer from $name ($ip): $out"; return 1; }
	done <"$CL_DIR/pods10"
}
t_check "after the failover every pod answers by pod IP (from a node1 pod)" wait_for 10 after_failover
# (BUILD=build-san: the sanitizers report into these logs)
t_check "no sanitizer report in the agents' and the API server's logs" bash -c \
	"! grep -lE 'AddressSanitizer|LeakSanitizer|runtime error:' $CL_DIR/node*/agent.log '$APISERVER_LOG'"
echo "suite time: $((SECONDS - T0)) s"
t_done
