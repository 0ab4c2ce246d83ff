#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# gannetctl's orchestration commands against a live gannet-apiserver
# (127.0.0.1 only). No controller runs here, so the test plays the
# deployment controller itself: it creates the ReplicaSets with revision
# annotations, pod-template-hash labels and controller ownerReferences,
# and writes statuses through the status subresource. Checked: scale goes
# through the scale subresource (and kubectl scale works against our
# server), --current-replicas/--resource-version preconditions; set image
# changes only the named container; rollout history lists the revisions
# with their change-cause; rollout undo (and kubectl rollout undo) restores
# the previous revision's template without the hash label; pause/resume
# toggle spec.paused and undo/restart refuse a paused deployment; restart
# sets the restartedAt template annotation; rollout status exits 0 when
# done, non-zero on timeout, and follows a watch until the rollout ends
# (Deployment and DaemonSet); get pods -o wide shows IP and NODE; top
# sums requests per node.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
case "$BUILD" in /*) CTL=$BUILD/bin/gannetctl;; *) CTL=$PWD/$BUILD/bin/gannetctl;; esac

[ -x "$CTL" ] || { echo "missing $CTL (run make)"; exit 1; }
[ -x "$BUILD/bin/gannet-apiserver" ] || { echo "skip: gannet-apiserver not built"; exit 77; }
command -v jq >/dev/null || { echo "skip: jq not installed"; exit 77; }

TMP=$(mktemp -d /tmp/gannetctl-rollout.XXXXXX)
BG_PID=
# shellcheck source=../lib/apiserver.sh
. tests/lib/apiserver.sh
CM_PID= KL_PID=
cleanup() {
	for p in $BG_PID $KL_PID $CM_PID; do kill "$p" 2>/dev/null; done
	apiserver_cleanup
	rm -rf "$TMP"
}
APISERVER_NO_TRAP=1
trap cleanup EXIT
apiserver_start || { echo "FAIL: could not start gannet-apiserver"; exit 1; }

# ---- helpers ------------------------------------------------------------
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok   $*"; }
# run EXPECTED_RC ARGS...: gannetctl with stdout in $OUT, stderr in $ERR
run() {
	local want=$1; shift
	"$CTL" -n "$NS" "$@" >"$TMP/out" 2>"$TMP/err"
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
eq() { [ "$1" = "$2" ] || { fail "$3: got '$1', want '$2'"; return 1; }; }
NS=ro
DPATH=/apis/apps/v1/namespaces/$NS/deployments
RSPATH=/apis/apps/v1/namespaces/$NS/replicasets
dget() { acurl "$DPATH/web" | jq -c "$1"; }
status_patch() { # PATH JSON: merge-patch the status subresource
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' -d "$2" "$1/status" >/dev/null
}
# mkrs NAME REVISION HASH [CHANGE-CAUSE]: a ReplicaSet as the deployment
# controller would create it from the Deployment's current template.
mkrs() {
	local d; d=$(acurl "$DPATH/web")
	jq -c --arg n "$1" --arg rev "$2" --arg h "$3" --arg cc "${4:-}" '{
		apiVersion: "apps/v1", kind: "ReplicaSet",
		metadata: {name: $n, namespace: .metadata.namespace,
			labels: (.spec.template.metadata.labels + {"pod-template-hash": $h}),
			annotations: ({"deployment.kubernetes.io/revision": $rev}
				+ (if $cc == "" then {} else {"kubernetes.io/change-cause": $cc} end)),
			ownerReferences: [{apiVersion: "apps/v1", kind: "Deployment", name: .metadata.name,
				uid: .metadata.uid, controller: true, blockOwnerDeletion: true}]},
		spec: {replicas: 0,
			selector: {matchLabels: (.spec.selector.matchLabels + {"pod-template-hash": $h})},
			template: (.spec.template | .metadata.labels += {"pod-template-hash": $h})}}' <<<"$d" >"$TMP/rs.json"
	[ "$(acurl_code -X POST -H 'Content-Type: application/json' -d @"$TMP/rs.json" "$RSPATH")" = 201 ] ||
		fail "create ReplicaSet $1"
}
set_dep_revision() {
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d "{\"metadata\":{\"annotations\":{\"deployment.kubernetes.io/revision\":\"$1\"}}}" "$DPATH/web" >/dev/null
}

cat >"$TMP/web.yaml" <<EOF
apiVersion: v1
kind: Namespace
metadata: {name: $NS}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: $NS, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: httpd, image: "busybox:1.35", command: [httpd, -f], ports: [{containerPort: 80}]}
      - {name: side, image: "busybox:1.34", command: [sleep, "3600"]}
EOF
run 0 apply -f "$TMP/web.yaml" || { echo "FAIL: setup"; exit 1; }
mkrs web-h1 1 h1

# ---- set image ------------------------------------------------------------
gen0=$(dget .metadata.generation)
run 0 set image deployment/web httpd=busybox:1.36 && {
	eq "$OUT" "deployment.apps/web image updated" "set image output"
	eq "$(dget '[.spec.template.spec.containers[].image]')" '["busybox:1.36","busybox:1.34"]' "set image: only httpd changed"
	eq "$(dget '.spec.template.spec.containers[0].command')" '["httpd","-f"]' "set image keeps the container's other fields"
	eq "$(dget '.spec.template.spec.containers[0].ports[0].containerPort')" 80 "set image keeps ports"
	eq "$(dget .metadata.generation)" $((gen0 + 1)) "set image bumps generation"
	pass "set image deployment/web httpd=IMAGE changes only that container"
}
rv=$(dget .metadata.resourceVersion)
run 0 set image deploy web httpd=busybox:1.36 && eq "$OUT" "" "set image to the same image prints nothing" &&
	eq "$(dget .metadata.resourceVersion)" "$rv" "set image to the same image writes nothing" &&
	pass "set image to the current image is a no-op"
run 1 set image deploy/web nosuch=busybox && has "$ERR" 'unable to find container named "nosuch"' "set image unknown container" &&
	pass "set image of an unknown container fails"
run 2 set image deploy/web && pass "set image without CONTAINER=IMAGE is a usage error"
mkrs web-h2 2 h2 "set image httpd=busybox:1.36"
set_dep_revision 2

# ---- rollout history --------------------------------------------------------
run 0 rollout history deployment/web && {
	has "$OUT" '^deployment.apps/web$' "history title"
	has "$OUT" '^REVISION +CHANGE-CAUSE$' "history header"
	has "$OUT" '^1 +<none>$' "history rev 1"
	has "$OUT" '^2 +set image httpd=busybox:1.36$' "history rev 2"
	pass "rollout history lists revisions 1 and 2 with change-cause"
}
run 0 rollout history deploy web --revision 1 && has "$OUT" 'with revision #1' "history --revision" &&
	has "$OUT" 'Image:.busybox:1.35' "history --revision 1 template" &&
	has "$OUT" 'pod-template-hash=h1' "history --revision 1 labels" && pass "rollout history --revision 1"
run 1 rollout history deploy web --revision 7 && pass "rollout history --revision of a missing revision fails"
run 1 rollout history deploy nosuch && has "$ERR" 'NotFound' "history of missing deployment" &&
	pass "rollout history of a missing deployment: NotFound"

# ---- pause / resume ---------------------------------------------------------
run 0 rollout pause deployment/web && eq "$OUT" "deployment.apps/web paused" "pause output" &&
	eq "$(dget .spec.paused)" true "pause sets spec.paused" && pass "rollout pause"
run 1 rollout pause deployment/web && has "$ERR" 'is already paused' "pause twice" && pass "rollout pause of a paused deployment fails"
tmpl=$(dget .spec.template)
run 1 rollout undo deployment/web && has "$ERR" 'paused' "undo while paused" &&
	eq "$(dget .spec.template)" "$tmpl" "undo while paused changes nothing" && pass "rollout undo refuses a paused deployment"
run 1 rollout restart deployment/web && pass "rollout restart refuses a paused deployment"
run 0 rollout resume deployment/web && eq "$OUT" "deployment.apps/web resumed" "resume output" &&
	eq "$(dget '.spec.paused // false')" false "resume clears spec.paused" && pass "rollout resume"
run 1 rollout resume deployment/web && has "$ERR" 'is not paused' "resume twice" && pass "rollout resume of a running deployment fails"

# ---- undo --------------------------------------------------------------------
run 0 rollout undo deployment/web && {
	eq "$OUT" "deployment.apps/web rolled back" "undo output"
	eq "$(dget '[.spec.template.spec.containers[].image]')" '["busybox:1.35","busybox:1.34"]' "undo restores revision 1 images"
	eq "$(dget '.spec.template.metadata.labels')" '{"app":"web"}' "undo drops pod-template-hash"
	eq "$(dget '.metadata.annotations["deployment.kubernetes.io/revision"]')" '"2"' "undo keeps the Deployment's revision annotation"
	eq "$(dget '.metadata.annotations["kubernetes.io/change-cause"] // "none"')" '"none"' "undo takes revision 1's (absent) change-cause"
	pass "rollout undo restores the previous revision's template"
}
# The controller would now give web-h1 revision 3 and the Deployment too.
acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
	-d '{"metadata":{"annotations":{"deployment.kubernetes.io/revision":"3"}}}' "$RSPATH/web-h1" >/dev/null
set_dep_revision 3
run 0 rollout undo deployment/web --to-revision 3 && has "$OUT" 'skipped rollback \(current template already matches revision 3\)' "undo to current" &&
	pass "rollout undo to the current revision is skipped"
run 1 rollout undo deployment/web --to-revision 9 && has "$ERR" 'unable to find specified revision 9' "undo to missing" &&
	pass "rollout undo to a missing revision fails"
run 0 rollout undo deploy web --to-revision 2 &&
	eq "$(dget '.spec.template.spec.containers[0].image')" '"busybox:1.36"' "undo --to-revision 2" &&
	eq "$(dget '.metadata.annotations["kubernetes.io/change-cause"]')" '"set image httpd=busybox:1.36"' "undo copies the change-cause" &&
	pass "rollout undo --to-revision 2"
if command -v kubectl >/dev/null; then
	# revision 3 (web-h1, busybox:1.35) is the newest, so "previous" is 2
	# whose template is current: move the Deployment to revision 4 first.
	acurl -X PATCH -H 'Content-Type: application/merge-patch+json' \
		-d '{"metadata":{"annotations":{"deployment.kubernetes.io/revision":"4"}}}' "$RSPATH/web-h2" >/dev/null
	set_dep_revision 4
	if kubectl -n $NS rollout undo deployment/web >"$TMP/k.out" 2>&1; then
		eq "$(dget '[.spec.template.spec.containers[].image]')" '["busybox:1.35","busybox:1.34"]' "kubectl rollout undo" &&
			eq "$(dget '.spec.template.metadata.labels')" '{"app":"web"}' "kubectl undo drops the hash" &&
			pass "kubectl rollout undo restores the previous revision against our server"
	else
		fail "kubectl rollout undo: $(cat "$TMP/k.out")"
	fi
	if kubectl -n $NS rollout history deployment/web >"$TMP/k.out" 2>&1; then
		has "$(cat "$TMP/k.out")" '^4 +set image httpd=busybox:1.36' "kubectl rollout history" &&
			pass "kubectl rollout history reads the same revisions"
	else
		fail "kubectl rollout history: $(cat "$TMP/k.out")"
	fi
fi

# ---- restart ------------------------------------------------------------------
gen0=$(dget .metadata.generation)
run 0 rollout restart deployment/web && {
	eq "$OUT" "deployment.apps/web restarted" "restart output"
	ts=$(dget '.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]' | tr -d '"')
	[[ "$ts" =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$ ]] || fail "restart: restartedAt is '$ts'"
	eq "$(dget .metadata.generation)" $((gen0 + 1)) "restart bumps generation"
	pass "rollout restart sets the restartedAt template annotation"
}

# ---- scale ----------------------------------------------------------------------
"$CTL" -v -v -n $NS scale deployment web --replicas=5 >"$TMP/out" 2>"$TMP/err"
rc=$?
if [ $rc = 0 ]; then
	eq "$(cat "$TMP/out")" "deployment.apps/web scaled" "scale output"
	eq "$(dget .spec.replicas)" 5 "scale sets spec.replicas"
	eq "$(acurl "$DPATH/web/scale" | jq -c '[.kind,.spec.replicas]')" '["Scale",5]' "scale subresource reads 5"
	grep -q 'PATCH .*/deployments/web/scale' "$TMP/err" || fail "scale did not PATCH the scale subresource: $(grep -i patch "$TMP/err")"
	pass "scale --replicas=5 through the scale subresource"
else
	fail "scale exited $rc: $(cat "$TMP/err" | tail -3)"
fi
run 1 -n $NS scale deploy/web --replicas=1 --current-replicas=4 && has "$ERR" 'Expected replicas to be 4, was 5' "precondition" &&
	eq "$(dget .spec.replicas)" 5 "failed precondition changes nothing" && pass "scale --current-replicas mismatch fails"
run 0 -n $NS scale deploy/web --replicas=3 --current-replicas=5 && eq "$(dget .spec.replicas)" 3 "precondition met" &&
	pass "scale --current-replicas match scales"
run 1 -n $NS scale deploy/web --replicas=4 --resource-version=1 && eq "$(dget .spec.replicas)" 3 "stale rv" &&
	pass "scale --resource-version stale fails"
run 0 -n $NS scale rs web-h1 --replicas=2 &&
	eq "$(acurl "$RSPATH/web-h1" | jq .spec.replicas)" 2 "scale rs" && pass "scale replicaset"
sed -n '/^---$/,$p' "$TMP/web.yaml" | sed 's/replicas: 2/replicas: 9/' >"$TMP/web9.yaml"
run 0 scale -f "$TMP/web9.yaml" --replicas=4 && eq "$(dget .spec.replicas)" 4 "scale -f" &&
	has "$OUT" '^deployment.apps/web scaled$' "scale -f output" && pass "scale -f manifest"
run 0 scale rs -l app=web --replicas=1 && has "$OUT" '^replicaset.apps/web-h1 scaled$' "scale -l" &&
	has "$OUT" '^replicaset.apps/web-h2 scaled$' "scale -l" &&
	eq "$(acurl "$RSPATH?labelSelector=app%3Dweb" | jq -c '[.items[].spec.replicas]')" '[1,1]' "scale -l replicas" &&
	pass "scale rs -l app=web scales every match"
run 2 scale rs/web-h1 -l app=web --replicas=1 && pass "scale -l with a name: usage error"
run 2 -n $NS scale deploy/web && has "$ERR" 'replicas' "scale without --replicas" && pass "scale without --replicas: usage error"
run 2 -n $NS scale deploy/web --replicas=-1 && pass "scale --replicas=-1: usage error"
run 1 -n $NS scale deploy/nosuch --replicas=1 && has "$ERR" 'NotFound' "scale missing" && pass "scale of a missing deployment: NotFound"
if command -v kubectl >/dev/null; then
	if kubectl -n $NS scale deployment web --replicas=6 >"$TMP/k.out" 2>&1; then
		eq "$(dget .spec.replicas)" 6 "kubectl scale" && pass "kubectl scale works against our server"
	else
		fail "kubectl scale: $(cat "$TMP/k.out")"
	fi
	kubectl -n $NS scale deployment web --replicas=2 --current-replicas=3 >"$TMP/k.out" 2>&1 &&
		fail "kubectl scale with a wrong --current-replicas succeeded"
	eq "$(dget .spec.replicas)" 6 "kubectl scale precondition" && pass "kubectl scale --current-replicas mismatch refused"
fi

# ---- rollout status ---------------------------------------------------------------
gen=$(dget .metadata.generation)
want=$(dget .spec.replicas)
status_patch "$DPATH/web" "{\"status\":{\"observedGeneration\":$gen,\"replicas\":$want,\"updatedReplicas\":$want,\"readyReplicas\":$want,\"availableReplicas\":$want}}"
run 0 -n $NS rollout status deployment/web --timeout 5s && has "$OUT" 'deployment "web" successfully rolled out' "status done" &&
	pass "rollout status exits 0 when the rollout is complete"
status_patch "$DPATH/web" "{\"status\":{\"availableReplicas\":1}}"
run 1 -n $NS rollout status deployment/web --timeout 1s && has "$OUT" "1 of $want updated replicas are available" "status waiting" &&
	has "$ERR" 'timed out' "status timeout" && pass "rollout status times out (exit 1) while replicas are unavailable"
status_patch "$DPATH/web" "{\"status\":{\"observedGeneration\":$((gen - 1)),\"availableReplicas\":$want}}"
run 1 -n $NS rollout status deploy web --timeout 500ms && has "$OUT" 'Waiting for deployment spec update to be observed' "observedGeneration" &&
	pass "rollout status waits for observedGeneration"
# Now finish the rollout while a rollout status is waiting on its watch.
status_patch "$DPATH/web" "{\"status\":{\"updatedReplicas\":1}}"
"$CTL" -n $NS rollout status deployment/web --timeout 20s >"$TMP/bg.out" 2>&1 &
BG_PID=$!
sleep 0.5
status_patch "$DPATH/web" "{\"status\":{\"observedGeneration\":$gen}}"
sleep 0.5
status_patch "$DPATH/web" "{\"status\":{\"updatedReplicas\":$want}}"
t0=$(date +%s)
wait $BG_PID; rc=$?; BG_PID=
if [ $rc = 0 ] && [ $(( $(date +%s) - t0 )) -lt 10 ]; then
	has "$(cat "$TMP/bg.out")" 'Waiting for deployment spec update' "status watch progress" &&
		has "$(cat "$TMP/bg.out")" "1 out of $want new replicas have been updated" "status watch progress" &&
		has "$(cat "$TMP/bg.out")" 'successfully rolled out' "status watch end" &&
		pass "rollout status follows the watch until the rollout completes"
else
	fail "rollout status during the rollout exited $rc: $(cat "$TMP/bg.out")"
fi
if command -v kubectl >/dev/null; then
	kubectl -n $NS rollout status deployment/web --timeout 5s >"$TMP/k.out" 2>&1 &&
		pass "kubectl rollout status agrees" || fail "kubectl rollout status: $(cat "$TMP/k.out")"
fi
cat >"$TMP/ds.yaml" <<EOF
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: $NS}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: busybox}]}
EOF
run 0 apply -f "$TMP/ds.yaml"
DSPATH=/apis/apps/v1/namespaces/$NS/daemonsets/agent
gen=$(acurl "$DSPATH" | jq .metadata.generation)
status_patch "$DSPATH" "{\"status\":{\"observedGeneration\":$gen,\"desiredNumberScheduled\":2,\"currentNumberScheduled\":2,\"updatedNumberScheduled\":1,\"numberReady\":2,\"numberAvailable\":2,\"numberMisscheduled\":0}}"
run 1 -n $NS rollout status ds/agent --timeout 500ms && has "$OUT" '1 out of 2 new pods have been updated' "ds status waiting" &&
	pass "rollout status daemonset times out while pods are old"
status_patch "$DSPATH" '{"status":{"updatedNumberScheduled":2}}'
run 0 -n $NS rollout status ds/agent --timeout 5s && has "$OUT" 'daemon set "agent" successfully rolled out' "ds status done" &&
	pass "rollout status daemonset exits 0 when done"
run 0 -n $NS rollout restart ds/agent &&
	[ "$(acurl "$DSPATH" | jq '.spec.template.metadata.annotations | has("kubectl.kubernetes.io/restartedAt")')" = true ] &&
	pass "rollout restart daemonset"
run 1 -n $NS rollout status rs/web-h1 && pass "rollout status of a kind without a viewer fails"
run 2 rollout frobnicate deploy/web && pass "unknown rollout subcommand: usage error"

# ---- get pods -o wide, top ------------------------------------------------------------
mknode() { # NAME CPU MEMORY
	acurl -X POST -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Node\",
		\"metadata\":{\"name\":\"$1\"},\"status\":{\"capacity\":{\"cpu\":\"$2\",\"memory\":\"$3\"},
		\"allocatable\":{\"cpu\":\"$2\",\"memory\":\"$3\"}}}" /api/v1/nodes >/dev/null
	status_patch "/api/v1/nodes/$1" "{\"status\":{\"capacity\":{\"cpu\":\"$2\",\"memory\":\"$3\"},\"allocatable\":{\"cpu\":\"$2\",\"memory\":\"$3\"}}}"
}
mkpod() { # NAME NODE IP CPU MEMORY
	acurl -X POST -H 'Content-Type: application/json' -d "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",
		\"metadata\":{\"name\":\"$1\",\"labels\":{\"app\":\"top\"}},\"spec\":{\"nodeName\":\"$2\",\"containers\":[{\"name\":\"c\",
		\"image\":\"busybox\",\"resources\":{\"requests\":{\"cpu\":\"$4\",\"memory\":\"$5\"}}}]}}" \
		/api/v1/namespaces/$NS/pods >/dev/null
	status_patch "/api/v1/namespaces/$NS/pods/$1" "{\"status\":{\"phase\":\"Running\",\"podIP\":\"$3\"}}"
}
mknode gn-1 2 4Gi
mknode gn-2 4 8Gi
mkpod p1 gn-1 10.244.1.10 250m 512Mi
mkpod p2 gn-1 10.244.1.11 250m 512Mi
mkpod p3 gn-2 10.244.2.10 1 1Gi
run 0 -n $NS get pods -o wide -l app=top && {
	hdr=$(head -1 <<<"$OUT")
	has "$hdr" '^NAME +READY +STATUS +RESTARTS +AGE +IP +NODE +NOMINATED NODE +READINESS GATES$' "wide header"
	# Columns by position of the header words (NOMINATED NODE has a space).
	row=$(grep '^p3 ' <<<"$OUT")
	ipcol=$(awk -v h="$hdr" 'BEGIN{print index(h, "IP ")}')
	nodecol=$(awk -v h="$hdr" 'BEGIN{print index(h, "NODE ")}')
	eq "$(cut -c"$ipcol"- <<<"$row" | awk '{print $1}')" 10.244.2.10 "p3 IP column"
	eq "$(cut -c"$nodecol"- <<<"$row" | awk '{print $1}')" gn-2 "p3 NODE column"
	eq "$(grep -c ' gn-1 ' <<<"$OUT")" 2 "two pods on gn-1"
	pass "get pods -o wide shows each pod's IP and NODE"
}
run 0 top nodes && {
	has "$OUT" '^NAME +CPU\(requests\) +CPU% +MEMORY\(requests\) +MEMORY% +PODS$' "top nodes header"
	has "$OUT" '^gn-1 +500m +25% +1024Mi +25% +2$' "top nodes gn-1"
	has "$OUT" '^gn-2 +1000m +25% +1024Mi +12% +1$' "top nodes gn-2"
	pass "top nodes sums pod requests against allocatable"
}
run 0 -n $NS top pods -l app=top && has "$OUT" '^p3 +1000m +<none> +1024Mi +<none> +gn-2$' "top pods" &&
	pass "top pods shows requests per pod"

# ---- with the real controllers (if built) ---------------------------------------------
# gannet-controller-manager's deployment and replicaset controllers create
# the ReplicaSets and pods; a loop here plays the kubelet (marks pods
# Running and Ready through the status subresource). gannetctl must then
# see the controller's revisions, undo through them, and rollout status
# must follow a real rolling update to its end.
CM=$BUILD/bin/gannet-controller-manager
if [ -x "$CM" ]; then
	"$CM" --kubeconfig "$KUBECONFIG" --controllers deployment,replicaset >"$TMP/cm.log" 2>&1 &
	CM_PID=$!
	fake_kubelet() {
		while :; do
			acurl "/api/v1/namespaces/$NS/pods?labelSelector=app%3Dreal" |
				jq -r '.items[] | select(([.status.conditions[]? | select(.type=="Ready" and .status=="True")] | length) == 0) | .metadata.name' |
				while read -r p; do
					status_patch "/api/v1/namespaces/$NS/pods/$p" \
						'{"status":{"phase":"Running","podIP":"10.244.9.9","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}'
				done
			sleep 0.2
		done
	}
	fake_kubelet &
	KL_PID=$!
	sed -n '/^---$/,$p' "$TMP/web.yaml" | sed 's/name: web,/name: real,/; s/app: web/app: real/g' >"$TMP/real.yaml"
	run 0 apply -f "$TMP/real.yaml"
	run 0 rollout status deployment/real --timeout 30s && has "$OUT" 'deployment "real" successfully rolled out' "real status" &&
		pass "rollout status: first rollout by the real controllers completes"
	run 0 set image deployment/real httpd=busybox:1.37 &&
		run 0 rollout status deployment/real --timeout 30s &&
		has "$OUT" 'successfully rolled out' "real rolling update" &&
		pass "rollout status follows a real rolling update to its end"
	run 0 rollout history deployment/real && has "$OUT" '^1 +<none>$' "real history" && has "$OUT" '^2 +<none>$' "real history" &&
		pass "rollout history shows the controller's revisions 1 and 2"
	run 0 rollout undo deployment/real && run 0 rollout status deployment/real --timeout 30s && {
		eq "$(acurl "$DPATH/real" | jq -r '.spec.template.spec.containers[0].image')" busybox:1.35 "real undo image"
		run 0 rollout history deployment/real
		has "$OUT" '^2 +<none>$' "history after undo"
		has "$OUT" '^3 +<none>$' "history after undo (revision 1 became 3)"
		pass "rollout undo with the real controller: template restored, revision 1 renumbered 3"
	}
	kill "$KL_PID" "$CM_PID" 2>/dev/null
	wait "$KL_PID" "$CM_PID" 2>/dev/null
else
	echo "note: $CM not built: real-controller checks skipped"
fi

echo "---"
if [ "$fails" -gt 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all checks passed"
