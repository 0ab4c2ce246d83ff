#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gannet-agent as kubelet, end to end: a live gannet-apiserver, two node
# namespaces whose agents run in API mode with their own node credentials
# (system:node:<name>), pods created through the API with spec.nodeName set
# (no scheduler): Node registration and Lease, routes between nodes learnt
# from Node objects, pods Running with an IP and reachable across nodes,
# logs and exec through the agent's endpoint, restart on container death and
# on a failing liveness probe, readiness, securityContext, ConfigMap/Secret
# env and volumes, clear reasons for bad pods, deletion cleanup, adoption
# after an agent SIGKILL.
#
# The agents live in node netns and the API server listens on 127.0.0.1 of
# the root netns: each node reaches it through a socat relay over a unix
# socket (no address or route is added to the root namespace).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
cluster_require_root_tools
cluster_require_bins gannet-agent gannet-cni gannet-shim gannet-apiserver gannet-runtime
for t in runc socat curl jq; do command -v $t >/dev/null || cl_skip "missing tool: $t"; done
[ -x "$GANNET_ROOT/$BUILD/tests/unit/auth_tool" ] || [ -x "$BUILD/tests/unit/auth_tool" ] ||
	cl_skip "auth_tool not built (make all)"
case $BUILD in /*) TOOL=$BUILD/tests/unit/auth_tool ;; *) TOOL=$GANNET_ROOT/$BUILD/tests/unit/auth_tool ;; esac

APISERVER_NO_TRAP=1 . tests/lib/apiserver.sh
CG=gannet-test-$CL_RUN

kl_cleanup() {
	local i id st
	for i in "${!CL_AGENT_PID[@]}"; do agent_kill "$i" KILL; done
	for ((i = 1; i <= CL_NODES; i++)); do
		st=$CL_DIR/node$i/state/runtime
		[ -d "$st" ] || continue
		for id in $("$CL_BIN/gannet-runtime" --state "$st" --cgroup-parent "$CG/node$i" list 2>/dev/null); do
			"$CL_BIN/gannet-runtime" --state "$st" --cgroup-parent "$CG/node$i" rm "$id" >/dev/null 2>&1
		done
	done
	grep " $CL_DIR/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount -l "$m"; done
	for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG" 2>/dev/null); do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	apiserver_cleanup
}

apiserver_start || cl_die "apiserver did not start"
CL_NO_AGENT=1 cluster_up 2
cluster_on_exit kl_cleanup

# API relay: root ns unix socket -> 127.0.0.1:port, and in each node ns
# 127.0.0.1:port -> that socket.
socat UNIX-LISTEN:"$CL_DIR/api.sock",fork,unlink-early TCP:127.0.0.1:"$APISERVER_PORT" 2>/dev/null &
CL_BG_PIDS+=($!)
for i in 1 2; do
	node_bg "$i" socat TCP-LISTEN:"$APISERVER_PORT",bind=127.0.0.1,fork,reuseaddr \
		UNIX-CONNECT:"$CL_DIR/api.sock" 2>/dev/null
done
sleep 0.3

kl_config() {
	local i=$1
	agent_write_config "$i" 2
	sed -i '/^peers:/,$d' "$CL_DIR/node$i/agent.yaml"
	"$TOOL" node "$APISERVER_DATA" "$APISERVER_URL" "node$i" "$CL_DIR/node$i/kubeconfig" ||
		cl_die "node credential"
	cat >>"$CL_DIR/node$i/agent.yaml" <<EOC
kubeconfig: $CL_DIR/node$i/kubeconfig
leaseSeconds: 2
syncMilliseconds: 300
podNetnsPrefix: $CL_RUN-k$i-
cgroupParent: $CG/node$i
EOC
}
for i in 1 2; do
	kl_config "$i"
	CL_VERBOSE=${CL_VERBOSE:-1} agent_start "$i" || cl_die "agent $i"
done

# ---------------------------------------------------------------- helpers
P=/api/v1/namespaces/default/pods
mkpod() {   # mkpod NAME NODE CONTAINERS-JSON [EXTRA-SPEC-JSON]
	local body
	body=$(jq -n --arg n "$1" --arg node "node$2" --argjson c "$3" --argjson x "${4:-{\}}" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,labels:{app:$n}},
		  spec:({nodeName:$node,terminationGracePeriodSeconds:2,containers:$c} + $x)}')
	acurl -X POST -H 'Content-Type: application/json' -d "$body" "$P" >/dev/null
}
pod_json() { acurl "$P/$1"; }
podq() { pod_json "$1" | jq -r "$2"; }
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local t=$1 end
	shift
	end=$((SECONDS + t))
	while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	"$@"
}
running_with_ip() {
	[ "$(podq "$1" .status.phase)" = Running ] && [ "$(podq "$1" '.status.podIP // ""')" != "" ]
}
agent_url() { echo "http://$(node_ip "$1"):9962"; }
klogs() {   # klogs NODE POD [CONTAINER] [QUERY]
	in_node "$1" curl -sS --max-time 10 "$(agent_url "$1")/containerLogs/default/$2/${3:-}?${4:-}"
}
kexec() {   # kexec NODE POD CONTAINER -- ARGV...
	local n=$1 p=$2 c=$3 q="" a
	shift 4
	for a in "$@"; do q+="command=$(jq -rn --arg a "$a" '$a|@uri')&"; done
	in_node "$n" curl -sS --max-time 70 -X POST "$(agent_url "$n")/exec/default/$p/$c?${q%&}"
}
BB='"image":"busybox"'

# ---------------------------------------------------------------- node
t_check "Node node1 registered with InternalIP, capacity, Ready" wait_for 10 bash -c \
	"acurl /api/v1/nodes/node1 | jq -e '(.status.addresses[]|select(.type==\"InternalIP\").address)==\"$(node_ip 1)\" and (.status.capacity.cpu|tonumber)>0 and (.status.capacity.pods==\"110\") and (.status.conditions[]|select(.type==\"Ready\").status)==\"True\" and .spec.podCIDR==\"$(node_pod_cidr 1)\"'"
lease1=$(acurl /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1 | jq -r .spec.renewTime)
sleep 2.5
lease2=$(acurl /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1 | jq -r .spec.renewTime)
t_check "Lease kube-node-lease/node1 renewed ($lease1 -> $lease2)" \
	bash -c "[ '$lease1' != null ] && [ '$lease2' != null ] && [ '$lease1' != '$lease2' ]"

# ---------------------------------------------------------------- run
mkpod web 1 "[{\"name\":\"main\",$BB,\"command\":[\"sh\",\"-c\",\"echo hello-from-web; echo err-line >&2; exec httpd -f -p 8080 -h /etc\"]}]"
t_check "pod web Running with an IP" wait_for 20 running_with_ip web
WEB_IP=$(podq web .status.podIP)
t_check "pod web Ready, hostIP, containerStatuses running" bash -c \
	"pod_json() { acurl $P/web; }; $(declare -f acurl); $(declare -p CA_CERT ADMIN_CERT ADMIN_KEY APISERVER_URL | sed 's/^declare -x/export/'); \
	 acurl $P/web | jq -e '(.status.conditions[]|select(.type==\"Ready\").status)==\"True\" and .status.hostIP==\"$(node_ip 1)\" and .status.containerStatuses[0].state.running!=null and .status.containerStatuses[0].restartCount==0'"
t_check "pod IP $WEB_IP is in node1's podCIDR" bash -c "[[ $WEB_IP == 10.244.1.* ]]"
t_check "logs: stdout and stderr lines in the container log" wait_for 5 bash -c \
	"$(declare -f klogs in_node in_ns node_ns agent_url node_ip); CL_RUN=$CL_RUN CL_SUBNET=$CL_SUBNET; \
	 out=\$(klogs 1 web main); grep -q hello-from-web <<<\"\$out\" && grep -q err-line <<<\"\$out\""
t_check "logs: tailLines=1" bash -c \
	"[ \"\$($(declare -f klogs in_node in_ns node_ns agent_url node_ip); CL_RUN=$CL_RUN CL_SUBNET=$CL_SUBNET; klogs 1 web main tailLines=1 | wc -l)\" = 1 ]"
out=$(kexec 1 web main -- sh -c 'echo in-pod $(hostname); exit 3')
t_check "exec runs in the container (output + exit code): $out" \
	bash -c "jq -e '.exitCode==3 and (.output|test(\"in-pod web\"))' <<<'$out'"

mkpod client 2 "[{\"name\":\"c\",$BB,\"command\":[\"sleep\",\"3600\"]}]"
t_check "pod client on node2 Running" wait_for 20 running_with_ip client
t_check "node2 learnt node1's pod CIDR from the API: client -> web HTTP across nodes" wait_for 10 \
	bash -c "$(declare -f kexec in_node in_ns node_ns agent_url node_ip); CL_RUN=$CL_RUN CL_SUBNET=$CL_SUBNET; \
	kexec 2 client c -- sh -c 'printf \"GET /hostname HTTP/1.0\\r\\n\\r\\n\" | nc -w 2 $WEB_IP 8080' | jq -e '.exitCode==0 and (.output|test(\"web\"))'"

# ---------------------------------------------------------------- restarts
rt_state() {   # rt_state NODE POD CONTAINER -> runc state JSON
	local uid
	uid=$(podq "$2" .metadata.uid)
	runc --root "$CL_DIR/node$1/state/runtime/runc" state "k${uid:0:13}-$3"
}
rcount() { podq "$1" ".status.containerStatuses[0].restartCount"; }
pid1=$(rt_state 1 web main | jq -r .pid)
kill -KILL "$pid1"
t_check "killed container process -> restarted, restartCount 1" wait_for 15 bash -c \
	"[ \"\$(curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/web | jq -r '.status.containerStatuses[0] | \"\\(.restartCount) \\(.state.running != null) \\(.lastState.terminated.exitCode)\"')\" = '1 true 137' ]"
pid2=$(rt_state 1 web main | jq -r .pid)
t_check "new container process ($pid1 -> $pid2)" bash -c "[ -n '$pid2' ] && [ '$pid2' != '$pid1' ] && kill -0 $pid2"
t_check "restarted web still serves" wait_for 10 bash -c \
	"$(declare -f kexec in_node in_ns node_ns agent_url node_ip); CL_RUN=$CL_RUN CL_SUBNET=$CL_SUBNET; \
	kexec 2 client c -- sh -c 'printf \"GET /hostname HTTP/1.0\\r\\n\\r\\n\" | nc -w 2 $WEB_IP 8080' | jq -e '.output|test(\"web\")'"

mkpod live 1 "[{\"name\":\"l\",$BB,\"command\":[\"sh\",\"-c\",\"touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 3600\"],
  \"livenessProbe\":{\"exec\":{\"command\":[\"test\",\"-f\",\"/tmp/ok\"]},\"periodSeconds\":1,\"failureThreshold\":2}}]"
t_check "failing liveness probe -> container restarted" wait_for 25 bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/live | jq -e '.status.containerStatuses[0].restartCount >= 1 and .status.containerStatuses[0].lastState.terminated != null'"

mkpod notready 1 "[{\"name\":\"n\",$BB,\"command\":[\"sleep\",\"3600\"],
  \"readinessProbe\":{\"exec\":{\"command\":[\"false\"]},\"periodSeconds\":1,\"failureThreshold\":1}}]"
t_check "pod notready Running" wait_for 20 running_with_ip notready
sleep 2
t_check "readiness false keeps the pod out of Ready" bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/notready | jq -e '(.status.conditions[]|select(.type==\"Ready\").status)==\"False\" and .status.containerStatuses[0].ready==false and .status.containerStatuses[0].restartCount==0'"

mkpod never 1 "[{\"name\":\"x\",$BB,\"command\":[\"sh\",\"-c\",\"exit 4\"]}]" '{"restartPolicy":"Never"}'
mkpod onfail 1 "[{\"name\":\"x\",$BB,\"command\":[\"true\"]}]" '{"restartPolicy":"OnFailure"}'
t_check "restartPolicy Never, exit 4 -> Failed, terminated exitCode 4, no restart" wait_for 15 bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/never | jq -e '.status.phase==\"Failed\" and .status.containerStatuses[0].state.terminated.exitCode==4 and .status.containerStatuses[0].restartCount==0'"
t_check "restartPolicy OnFailure, exit 0 -> Succeeded" wait_for 15 bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/onfail | jq -e '.status.phase==\"Succeeded\" and .status.containerStatuses[0].state.terminated.reason==\"Completed\"'"

# ---------------------------------------------------------------- securityContext, config
mkpod secure 1 "[{\"name\":\"s\",$BB,\"command\":[\"sleep\",\"3600\"],
  \"securityContext\":{\"runAsUser\":1000,\"runAsGroup\":1000,\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]}}}]"
t_check "pod secure Running" wait_for 20 running_with_ip secure
out=$(kexec 1 secure s -- id -u)
t_check "runAsUser 1000: id -u = 1000 ($out)" bash -c "jq -e '.output==\"1000\n\"' <<<'$out'"
out=$(kexec 1 secure s -- touch /probe-file)
t_check "readOnlyRootFilesystem: writes fail ($out)" bash -c "jq -e '.exitCode!=0' <<<'$out'"
out=$(kexec 1 secure s -- sh -c 'grep NoNewPrivs /proc/self/status')
t_check "allowPrivilegeEscalation=false -> no_new_privs ($out)" bash -c "jq -e '.output|test(\"NoNewPrivs:\\\\s+1\")' <<<'$out'"

acurl -X POST -H 'Content-Type: application/json' -d \
	'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1"},"data":{"greeting":"hello-cm"}}' \
	/api/v1/namespaces/default/configmaps >/dev/null
acurl -X POST -H 'Content-Type: application/json' -d \
	"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s1\"},\"data\":{\"pw\":\"$(printf s3cret | base64)\"}}" \
	/api/v1/namespaces/default/secrets >/dev/null
mkpod cfg 1 "[{\"name\":\"c\",$BB,\"command\":[\"sleep\",\"3600\"],\"workingDir\":\"/cfg\",
  \"env\":[{\"name\":\"PLAIN\",\"value\":\"v1\"},{\"name\":\"G\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm1\",\"key\":\"greeting\"}}},
          {\"name\":\"PW\",\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s1\",\"key\":\"pw\"}}},
          {\"name\":\"ME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}],
  \"volumeMounts\":[{\"name\":\"c\",\"mountPath\":\"/cfg\"},{\"name\":\"s\",\"mountPath\":\"/sec\"},{\"name\":\"e\",\"mountPath\":\"/scratch\"}]}]" \
  '{"volumes":[{"name":"c","configMap":{"name":"cm1"}},{"name":"s","secret":{"secretName":"s1"}},{"name":"e","emptyDir":{}}]}'
t_check "pod cfg Running" wait_for 20 running_with_ip cfg
out=$(kexec 1 cfg c -- sh -c 'echo $PLAIN $G $PW $ME $(pwd); cat /cfg/greeting /sec/pw; echo; touch /scratch/x && echo writable')
t_check "env (value, configMap, secret, fieldRef), workingDir, configMap/secret/emptyDir volumes ($out)" \
	bash -c "jq -e '.output==\"v1 hello-cm s3cret cfg /cfg\nhello-cms3cret\nwritable\n\"' <<<'$out'"

# ---------------------------------------------------------------- bad input
mkpod noimage 1 '[{"name":"x","image":"no-such-image:1.0","command":["true"]}]'
mkpod badcmd 1 "[{\"name\":\"x\",$BB,\"command\":[\"/no/such/binary\"]}]"
mkpod huge 1 "[{\"name\":\"x\",$BB,\"command\":[\"true\"],\"resources\":{\"requests\":{\"memory\":\"100Ti\"}}}]"
t_check "unknown image -> waiting ErrImageNeverPull with the image named" wait_for 15 bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/noimage | jq -e '.status.phase==\"Pending\" and .status.containerStatuses[0].state.waiting.reason==\"ErrImageNeverPull\" and (.status.containerStatuses[0].state.waiting.message|test(\"no-such-image\"))'"
t_check "bad command -> waiting with a start error naming the binary" wait_for 15 bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/badcmd | jq -e '(.status.containerStatuses[0].state.waiting.reason|test(\"ContainerError|CrashLoopBackOff\")) and (.status.containerStatuses[0].state.waiting.message|test(\"no/such/binary\"))'"
t_check "impossible memory request -> Failed OutOfmemory" wait_for 15 bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/huge | jq -e '.status.phase==\"Failed\" and .status.reason==\"OutOfmemory\"'"
t_check "other pods unaffected (web Running, restartCount still 1)" bash -c \
	"curl -sS --cacert $CA_CERT --cert $ADMIN_CERT --key $ADMIN_KEY $APISERVER_URL$P/web | jq -e '.status.phase==\"Running\" and .status.containerStatuses[0].restartCount==1 and .status.containerStatuses[0].state.running!=null'"
