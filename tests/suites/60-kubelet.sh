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
. tests/lib/kubelet.sh
kl_require
kl_up 2

# ---------------------------------------------------------------- node
t_check "Node node1 registered with InternalIP, capacity, Ready, podCIDR" wait_for 10 ajq /api/v1/nodes/node1 \
	"(.status.addresses[]|select(.type==\"InternalIP\").address)==\"$(node_ip 1)\" and (.status.capacity.cpu|tonumber)>0 and .status.capacity.pods==\"110\" and (.status.conditions[]|select(.type==\"Ready\").status)==\"True\" and .spec.podCIDR==\"$(node_pod_cidr 1)\" and .status.daemonEndpoints.kubeletEndpoint.Port==10250"
L=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1
lease1=$(acurl $L | jq -r .spec.renewTime)
sleep 2.5
lease2=$(acurl $L | jq -r .spec.renewTime)
t_check "Lease kube-node-lease/node1 renewed ($lease1 -> $lease2)" \
	bash -c "[[ '$lease1' == 20* ]] && [[ '$lease2' == 20* ]] && [ '$lease1' != '$lease2' ]"

# ---------------------------------------------------------------- run
mkpod web 1 "[{\"name\":\"main\",$BB,\"command\":[\"sh\",\"-c\",\"echo hello-from-web; echo err-line >&2; exec httpd -f -p 8080 -h /etc\"]}]"
t_check "pod web Running with an IP" wait_for 20 running_with_ip web
WEB_IP=$(podq web .status.podIP)
t_check "pod web Ready, hostIP, containerStatuses running" pjq web \
	"(.status.conditions[]|select(.type==\"Ready\").status)==\"True\" and .status.hostIP==\"$(node_ip 1)\" and .status.containerStatuses[0].state.running!=null and .status.containerStatuses[0].restartCount==0"
t_check "pod IP $WEB_IP is in node1's podCIDR" bash -c "[[ $WEB_IP == 10.244.1.* ]]"
logs_has() { local o; o=$(klogs 1 web main) && grep -q hello-from-web <<<"$o" && grep -q err-line <<<"$o"; }
t_check "logs: stdout and stderr lines in the container log" wait_for 5 logs_has
tail1() { local o; o=$(klogs 1 web main tailLines=1) && [ -n "$o" ] && [ "$(wc -l <<<"$o")" = 1 ] && grep -qe err-line -e hello-from-web <<<"$o"; }
t_check "logs: tailLines=1" tail1
out=$(kexec 1 web main -- sh -c 'echo in-pod $(hostname); exit 3')
t_check "exec runs in the container (output + exit code): $out" jqe "$out" '.exitCode==3 and (.output|test("in-pod web"))'
code=$(acurl_agent 1 -o /dev/null -w '%{http_code}' "$(agent_url 1)/containerLogs/default/nope/x")
t_check "logs/exec of an unknown pod: 404 ($code)" test "$code" = 404
code=$(in_node 1 curl -sk -o /dev/null -w '%{http_code}' -X POST "$(agent_url 1)/exec/default/web/main?command=id")
t_check "agent exec without a client certificate: 401 ($code)" test "$code" = 401
code=$(in_node 1 curl -sk -o /dev/null -w '%{http_code}' --cert "$APISERVER_DATA/pki/nodes/node2.crt" \
	--key "$APISERVER_DATA/pki/nodes/node2.key" -X POST "$(agent_url 1)/exec/default/web/main?command=id")
t_check "agent exec with another node's credential (system:nodes): 403 ($code)" test "$code" = 403
code=$(in_node 1 curl -s -o /dev/null -w '%{http_code}' "http://$(node_ip 1):9962/containerLogs/default/web/main")
t_check "plain HTTP (metrics port) does not serve logs: 404 ($code)" test "$code" = 404

# through the API server (pods/log, pods/exec proxied to the agent)
t_check "gannetctl logs web (API server -> agent)" bash -c "$(declare -f gctl); CL_BIN=$CL_BIN KUBECONFIG=$KUBECONFIG; gctl logs web | grep -q hello-from-web"
t_check "gannetctl logs --tail 1 -c main web: one line" bash -c \
	"[ \"\$(CL_BIN=$CL_BIN KUBECONFIG=$KUBECONFIG; $(declare -f gctl); gctl logs --tail 1 -c main web | wc -l)\" = 1 ]"
timeout 3 "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" logs -f web >"$CL_DIR/follow.out" 2>&1
frc=$?
t_check "gannetctl logs -f streams (still open after 3 s: rc $frc, output so far shown)" bash -c \
	"[ $frc = 124 ] && grep -q hello-from-web $CL_DIR/follow.out"
out=$(gctl exec web -- sh -c 'echo via-api $(hostname); exit 5'); rc=$?
t_check "gannetctl exec web -- cmd: output and exit code 5 ($rc: $out)" bash -c "[ $rc = 5 ] && [ '$out' = 'via-api web' ]"
nf=$(gctl exec nope -- true 2>&1)
t_check "gannetctl exec on a pod that does not exist: NotFound ($nf)" grep -q NotFound <<<"$nf"
if command -v kubectl >/dev/null; then
	t_check "kubectl logs web (same proxy)" bash -c "kubectl --kubeconfig $KUBECONFIG logs web | grep -q hello-from-web"
fi

mkpod client 2 "[{\"name\":\"c\",$BB,\"command\":[\"sleep\",\"3600\"]}]"
t_check "pod client on node2 Running" wait_for 20 running_with_ip client
http_web() {
	local o
	o=$(kexec 2 client c -- sh -c "printf 'GET /hostname HTTP/1.0\r\n\r\n' | nc -w 2 $WEB_IP 8080")
	jqe "$o" '.exitCode==0 and (.output|test("\r\n\r\nweb"))'
}
t_check "node2 learnt node1's pod CIDR from the API: client -> web HTTP across nodes" wait_for 10 http_web
# busybox wget in a pod exits 0 with the body (exec'd directly, so a crash
# shows as exitCode 139). Bound it with timeout(1), never wget -T: Debian
# 12's busybox-static (1.35.0) is built without FEATURE_WGET_TIMEOUT and its
# -T writes through a NULL pointer (SIGSEGV even as `busybox wget -T 1`,
# outside any pod), which was once mistaken for a pod regression.
out=$(kexec 2 client c -- timeout 5 wget -q -O- "http://$WEB_IP:8080/hostname")
t_check "wget -q -O- http://$WEB_IP:8080/hostname in a pod across nodes: exit 0, body 'web' ($out)" \
	jqe "$out" '.exitCode==0 and .output=="web\n"'

# ---------------------------------------------------------------- restarts
rt_state() {   # rt_state NODE POD CONTAINER -> runc state JSON
	local uid
	uid=$(podq "$2" .metadata.uid)
	runc --root "$CL_DIR/node$1/state/runtime/runc" state "k${uid:0:13}-$3"
}
pid1=$(rt_state 1 web main | jq -r .pid)
kill -KILL "$pid1"
t_check "killed container process -> restarted, restartCount 1, lastState exit 137" wait_for 15 pjq web \
	'.status.containerStatuses[0] | .restartCount==1 and .state.running!=null and .lastState.terminated.exitCode==137'
pid2=$(rt_state 1 web main | jq -r .pid)
t_check "new container process ($pid1 -> $pid2)" bash -c "[ -n '$pid2' ] && [ '$pid2' != '$pid1' ] && kill -0 $pid2"
t_check "restarted web still serves" wait_for 10 http_web

mkpod live 1 "[{\"name\":\"l\",$BB,\"command\":[\"sh\",\"-c\",\"touch /tmp/ok; sleep 2; rm /tmp/ok; sleep 3600\"],
  \"livenessProbe\":{\"exec\":{\"command\":[\"test\",\"-f\",\"/tmp/ok\"]},\"periodSeconds\":1,\"failureThreshold\":2}}]"
t_check "failing liveness probe -> container restarted" wait_for 25 pjq live \
	'.status.containerStatuses[0].restartCount >= 1 and .status.containerStatuses[0].lastState.terminated != null'

mkpod notready 1 "[{\"name\":\"n\",$BB,\"command\":[\"sleep\",\"3600\"],
  \"readinessProbe\":{\"exec\":{\"command\":[\"false\"]},\"periodSeconds\":1,\"failureThreshold\":1}}]"
t_check "pod notready Running" wait_for 20 running_with_ip notready
sleep 2
t_check "readiness false keeps the pod out of Ready" pjq notready \
	'(.status.conditions[]|select(.type=="Ready").status)=="False" and .status.containerStatuses[0].ready==false and .status.containerStatuses[0].restartCount==0 and .status.phase=="Running"'

mkpod never 1 "[{\"name\":\"x\",$BB,\"command\":[\"sh\",\"-c\",\"exit 4\"]}]" '{"restartPolicy":"Never"}'
mkpod onfail 1 "[{\"name\":\"x\",$BB,\"command\":[\"true\"]}]" '{"restartPolicy":"OnFailure"}'
t_check "restartPolicy Never, exit 4 -> Failed, terminated exitCode 4, no restart" wait_for 15 pjq never \
	'.status.phase=="Failed" and .status.containerStatuses[0].state.terminated.exitCode==4 and .status.containerStatuses[0].restartCount==0'
t_check "restartPolicy OnFailure, exit 0 -> Succeeded" wait_for 15 pjq onfail \
	'.status.phase=="Succeeded" and .status.containerStatuses[0].state.terminated.reason=="Completed"'

# ---------------------------------------------------------------- securityContext, config
mkpod secure 1 "[{\"name\":\"s\",$BB,\"command\":[\"sleep\",\"3600\"],
  \"securityContext\":{\"runAsUser\":1000,\"runAsGroup\":1000,\"readOnlyRootFilesystem\":true,\"allowPrivilegeEscalation\":false,\"capabilities\":{\"drop\":[\"ALL\"]}}}]"
t_check "pod secure Running" wait_for 20 running_with_ip secure
out=$(kexec 1 secure s -- id -u)
t_check "runAsUser 1000: id -u = 1000 ($out)" jqe "$out" '.output=="1000\n"'
out=$(kexec 1 secure s -- touch /probe-file)
t_check "readOnlyRootFilesystem: writes fail ($out)" jqe "$out" '.exitCode!=0'
out=$(kexec 1 secure s -- sh -c 'grep NoNewPrivs /proc/self/status')
t_check "allowPrivilegeEscalation=false -> no_new_privs ($out)" jqe "$out" '.output|test("NoNewPrivs:\\s+1")'

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
	jqe "$out" '.output=="v1 hello-cm s3cret cfg /cfg\nhello-cms3cret\nwritable\n"'
mkpod nocm 1 "[{\"name\":\"c\",$BB,\"command\":[\"true\"],\"env\":[{\"name\":\"G\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"missing\",\"key\":\"k\"}}}]}]"
t_check "env from a missing ConfigMap -> CreateContainerConfigError naming it" wait_for 15 pjq nocm \
	'.status.containerStatuses[0].state.waiting.reason=="CreateContainerConfigError" and (.status.containerStatuses[0].state.waiting.message|test("missing"))'

mkpod hostnet 1 "[{\"name\":\"h\",$BB,\"command\":[\"httpd\",\"-f\",\"-p\",\"18080\",\"-h\",\"/etc\"]}]" '{"hostNetwork":true}'
t_check "hostNetwork pod Running with the node's IP" wait_for 20 pjq hostnet \
	"(.status.phase==\"Running\") and .status.podIP==\"$(node_ip 1)\""
t_check "hostNetwork pod listens in the node's netns ($(node_ip 1):18080)" wait_for 10 bash -c \
	"nsenter --net=/run/netns/$(node_ns 1) curl -sf --max-time 2 http://$(node_ip 1):18080/hostname | grep -q hostnet"

# ---------------------------------------------------------------- bad input
mkpod noimage 1 '[{"name":"x","image":"no-such-image:1.0","command":["true"]}]'
mkpod badcmd 1 "[{\"name\":\"x\",$BB,\"command\":[\"/no/such/binary\"]}]"
mkpod huge 1 "[{\"name\":\"x\",$BB,\"command\":[\"true\"],\"resources\":{\"requests\":{\"memory\":\"100Ti\"}}}]"
t_check "unknown image -> Pending, waiting ErrImageNeverPull naming the image" wait_for 15 pjq noimage \
	'.status.phase=="Pending" and .status.containerStatuses[0].state.waiting.reason=="ErrImageNeverPull" and (.status.containerStatuses[0].state.waiting.message|test("no-such-image"))'
# importing the image into the node's store lets the waiting pod start
mkdir -p "$CL_DIR/img/bin" "$CL_DIR/img/etc"
cp "$(command -v busybox 2>/dev/null || echo /bin/busybox)" "$CL_DIR/img/bin/busybox"
for l in sh true sleep cat; do ln -sf busybox "$CL_DIR/img/bin/$l"; done
echo imported >"$CL_DIR/img/etc/marker"
tar -C "$CL_DIR/img" -cf "$CL_DIR/img.tar" .
t_check "gannet-agent image import adds no-such-image:1.0 to node1's store" \
	"$CL_BIN/gannet-agent" --config "$CL_DIR/node1/agent.yaml" image import no-such-image:1.0 "$CL_DIR/img.tar"
t_check "gannet-agent image list shows it" bash -c \
	"$CL_BIN/gannet-agent --config $CL_DIR/node1/agent.yaml image list | grep -qx no-such-image:1.0"
t_check "the waiting pod starts once the image is imported" wait_for 15 pjq noimage \
	'.status.containerStatuses[0] | (.state.waiting.reason // "") != "ErrImageNeverPull" and ([.state.running, .state.terminated.exitCode, .lastState.terminated.exitCode] | map(select(. != null)) | length > 0)'
t_check "bad command -> waiting with a start error naming the binary" wait_for 15 pjq badcmd \
	'(.status.containerStatuses[0].state.waiting.reason|test("ContainerError|CrashLoopBackOff")) and (.status.containerStatuses[0].state.waiting.message|test("no/such/binary"))'
mkpod withinit 1 "[{\"name\":\"x\",$BB,\"command\":[\"true\"]}]" "{\"initContainers\":[{\"name\":\"i\",$BB,\"command\":[\"true\"]}]}"
t_check "initContainers (not supported yet) -> Failed UnsupportedPodSpec, not ignored" wait_for 15 pjq withinit \
	'.status.phase=="Failed" and .status.reason=="UnsupportedPodSpec"'
t_check "impossible memory request -> Failed OutOfmemory" wait_for 15 pjq huge \
	'.status.phase=="Failed" and .status.reason=="OutOfmemory"'
t_check "other pods unaffected (web Running, restartCount still 1)" pjq web \
	'.status.phase=="Running" and .status.containerStatuses[0].restartCount==1 and .status.containerStatuses[0].state.running!=null'
t_check "web still serves" http_web

t_check "Events: Started, liveness Unhealthy+Killing, readiness Unhealthy, ErrImageNeverPull, OutOfmemory" \
	ajq /api/v1/namespaces/default/events \
	'[.items[] | "\(.involvedObject.name)/\(.reason)/\(.source.host)"] as $r | (["web/Started/node1","live/Killing/node1","live/Unhealthy/node1","noimage/ErrImageNeverPull/node1","huge/OutOfmemory/node1","notready/Unhealthy/node1"] - $r) == []'

# ---------------------------------------------------------------- deletion
cuid=$(podq client .metadata.uid)
cip=$(podq client .status.podIP)
nveth_before=$(ip -n "$(node_ns 2)" -o link show | grep -c ' gnt')
t_check "client's IP $cip allocated in node2's IPAM" grep -q "$cuid" "$CL_DIR/node2/state/ipam.json"
acurl -X DELETE "$P/client" >/dev/null
t_check "deleted pod: container removed" wait_for 15 bash -c \
	"! runc --root $CL_DIR/node2/state/runtime/runc list -q | grep -q 'k${cuid:0:13}'"
t_check "deleted pod: host veth gone" wait_for 10 bash -c \
	"[ \$(ip -n $(node_ns 2) -o link show | grep -c ' gnt') = $((nveth_before - 1)) ]"
t_check "deleted pod: IP freed in IPAM" wait_for 10 bash -c "! grep -q '$cuid' $CL_DIR/node2/state/ipam.json"
t_check "deleted pod: netns removed" wait_for 10 bash -c "[ ! -e /run/netns/$CL_RUN-k2-${cuid:0:13} ]"

# ---------------------------------------------------------------- adoption
st_of() { pod_json web | jq -c '[.status.containerStatuses[0].state.running.startedAt, .status.containerStatuses[0].restartCount, .status.podIP, (.status.conditions[]|select(.type=="Ready")|.status, .lastTransitionTime)]'; }
before=$(st_of)
wpid=$(rt_state 1 web main | jq -r .pid)
ctrs_before=$(runc --root "$CL_DIR/node1/state/runtime/runc" list -q | sort)
agent_kill 1 KILL
agent_start 1 || cl_die "agent 1 restart"
sleep 3
after=$(st_of)
t_check "after agent SIGKILL+restart: web adopted (same start time, restartCount, IP, Ready transition: $after)" \
	bash -c "[[ '$before' == '[\"20'* ]] && [ '$before' = '$after' ] && kill -0 $wpid && [ \"\$(runc --root $CL_DIR/node1/state/runtime/runc state k$(podq web .metadata.uid | cut -c1-13)-main | jq -r .pid)\" = $wpid ]"
t_check "after restart: the same containers exist (nothing recreated or lost)" bash -c \
	"[ \"\$(runc --root $CL_DIR/node1/state/runtime/runc list -q | sort)\" = '$ctrs_before' ]"
out=$(kexec 1 web main -- echo adopted-exec)
t_check "exec works on an adopted pod" jqe "$out" '.output=="adopted-exec\n"'
nuid=$(podq notready .metadata.uid)
acurl -X DELETE "$P/notready" >/dev/null
t_check "adopted pod can be deleted (container and netns gone)" wait_for 15 bash -c \
	"[ ! -e /run/netns/$CL_RUN-k1-${nuid:0:13} ] && ! runc --root $CL_DIR/node1/state/runtime/runc list -q | grep -q 'k${nuid:0:13}'"

# A pod deleted while its agent is down: removed at the next start.
suid=$(podq secure .metadata.uid)
agent_kill 1 KILL
acurl -X DELETE "$P/secure" >/dev/null
agent_start 1 || cl_die "agent 1 restart"
t_check "pod deleted while the agent was down: orphan container, netns, IP removed" wait_for 15 bash -c \
	"[ ! -e /run/netns/$CL_RUN-k1-${suid:0:13} ] && ! runc --root $CL_DIR/node1/state/runtime/runc list -q | grep -q 'k${suid:0:13}' && ! grep -q '$suid' $CL_DIR/node1/state/ipam.json"
t_check "web still running after that restart (restartCount 1)" pjq web \
	'.status.containerStatuses[0].restartCount==1 and .status.containerStatuses[0].state.running!=null'

# ---------------------------------------------------------------- pod CIDR from the API
# A third node without podCIDR in its file waits for the Node's
# spec.podCIDR (what the node IPAM controller sets; patched by hand here).
node_ns_up 3
CL_NODES=3
kl_config 3 3
sed -i '/^podCIDR:/d' "$CL_DIR/node3/agent.yaml"
node_bg 3 socat TCP-LISTEN:"$APISERVER_PORT",bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:"$CL_DIR/api.sock" 2>/dev/null
sleep 0.3
nsenter --net="/run/netns/$(node_ns 3)" -- "$CL_BIN/gannet-agent" --config "$CL_DIR/node3/agent.yaml" -v \
	>>"$(node_log 3)" 2>&1 &
CL_AGENT_PID[3]=$!
t_check "node3 registers without a podCIDR and waits (no CNI socket yet)" wait_for 10 bash -c \
	"[ ! -S $(node_sock 3) ] && grep -q 'waiting for Node node3' $(node_log 3) && grep -q 'node node3 registered' $(node_log 3)"
t_check "Node node3 exists without spec.podCIDR" ajq /api/v1/nodes/node3 '.spec.podCIDR == null'
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"podCIDR":"10.244.3.0/24","podCIDRs":["10.244.3.0/24"]}}' \
	/api/v1/nodes/node3 >/dev/null
t_check "node3 comes up with the API's pod CIDR" wait_for 15 bash -c "[ -S $(node_sock 3) ] && grep -q 'pod CIDR 10.244.3.0/24 from the API' $(node_log 3)"
mkpod on3 3 "[{\"name\":\"c\",$BB,\"command\":[\"sleep\",\"3600\"]}]"
t_check "pod on node3 Running with an IP from 10.244.3.0/24" wait_for 20 pjq on3 \
	'.status.phase=="Running" and (.status.podIP|startswith("10.244.3."))'
ip3=$(podq on3 .status.podIP)
ping3() { local o; o=$(kexec 1 web main -- ping -c1 -W1 "$ip3") && jqe "$o" '.exitCode==0'; }
t_check "node1 learnt node3's CIDR: web -> on3 ping" wait_for 10 ping3

# SIGTERM: clean exit, pods keep running (the next agent adopts them)
wpid=$(rt_state 1 web main | jq -r .pid)
apid=$(agent_pid 1)
t0=$SECONDS
kill -TERM "$apid"
wait "$apid"
arc=$?
unset 'CL_AGENT_PID[1]'
t_check "agent SIGTERM in API mode: exit 0 within 15 s (rc $arc, $((SECONDS - t0)) s), web keeps running" \
	bash -c "[ $arc = 0 ] && [ $((SECONDS - t0)) -le 15 ] && kill -0 $wpid"

t_done
