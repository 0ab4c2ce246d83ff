#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job (make demo = scripts/demo.sh) works end to end and leaves
# nothing behind. First DEMO_ONESHOT=1 (up, checks, down in one go): exit 0
# with the PASS line, 12 successful pod-to-pod requests on 2 nodes (and the
# Service's ClusterIP answering from both nodes when one is allocated). Then
# the normal use: `demo.sh` leaves the cluster running (state file, pods
# answer through the recorded KUBECONFIG after the demo's pty hung up, a
# second `up` refuses), and
# `demo.sh down` from a separate process removes it. After each: no
# namespace, process, mount, cgroup, pin directory, state directory, API
# server data directory or state file of the run may remain.
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
export BUILD
case $BUILD in /*) BIN=$BUILD/bin ;; *) BIN=$PWD/$BUILD/bin ;; esac
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
for b in gannet-agent gannet-apiserver gannetctl gannet-cni gannet-shim gannet-runtime; do
	[ -x "$BIN/$b" ] || { echo "SKIP: $b not built"; exit 77; }
done
for t in runc socat jq curl; do command -v $t >/dev/null || { echo "SKIP: missing $t"; exit 77; }; done

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $*"; }
bad() { fail=$((fail + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

OUT=$(mktemp /tmp/gannet-demo-test.XXXXXX)
export DEMO_STATE=$OUT.env
cleanup() {   # a failed check must not leave a demo cluster running
	[ -f "$DEMO_STATE" ] && scripts/demo.sh down >/dev/null 2>&1
	rm -f "$OUT" "$DEMO_STATE"
}
trap cleanup EXIT

# leftovers RUN APISERVER-DATA: prints what of that run still exists
leftovers() {
	local run=$1 data=$2 f cmd
	ip netns list | awk '{print $1}' | grep "^$run-" | sed 's/^/netns /'
	for f in /proc/[0-9]*/cmdline; do
		cmd=$({ tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
		case $cmd in *"/tmp/gannet-demo-$run"*|*"$data"*) echo "process ${f#/proc/}: $cmd" ;; esac
	done
	grep -e "/tmp/gannet-demo-$run" -e "$data" /proc/mounts | sed 's/^/mount /'
	find /sys/fs/cgroup -maxdepth 5 -type d -name "gannet-test-$run" 2>/dev/null | sed 's/^/cgroup /'
	for f in "/sys/fs/bpf/gannet-test-$run" "/tmp/gannet-demo-$run" "$data" "$DEMO_STATE"; do
		[ -e "$f" ] && echo "path $f"
	done
	return 0
}
nothing_left() { local l; l=$(leftovers "$1" "$2"); [ -z "$l" ] || { echo "$l" | head -n 20; return 1; }; }
datadir() { sed -n 's/.*API server data dir: //p' "$OUT" | head -n 1; }

# ---------------------------------------------------------------- oneshot
run=gd$$a
CL_RUN=$run DEMO_ONESHOT=1 timeout 180 scripts/demo.sh >"$OUT" 2>&1
rc=$?
check "DEMO_ONESHOT=1 demo exits 0 (rc $rc)" test $rc -eq 0
[ $rc -eq 0 ] || tail -n 40 "$OUT"
check "PASS: 4 pods on 2 nodes answer each other by pod IP" grep -q "PASS: 4 pods on 2 nodes answer each other by pod IP (12/12 requests" "$OUT"
check "12 successful pod-to-pod requests listed, none failed, some across nodes" bash -c \
	"[ \$(grep '✔' '$OUT' | grep -c -e '(same node)' -e '(across nodes)') = 12 ] && ! grep -q '✘' '$OUT' && grep '✔' '$OUT' | grep -q 'across nodes'"
if grep -q 'Service hello: 8 requests' "$OUT"; then
	check "Service ClusterIP: 8/8 answers from a pod on each node, by more than one pod" bash -c \
		"[ \$(grep -cE '✔ .* 8/8 answered, by [2-9] different pods' '$OUT') = 2 ] && grep -q 'PASS: Service hello' '$OUT'" ||
		grep -A3 'Service hello:' "$OUT"
fi
check "get pods -o wide shows pods on node1 and node2" bash -c \
	"grep -E '^  hello-.* Running .* node1 ' '$OUT' >/dev/null && grep -E '^  hello-.* Running .* node2 ' '$OUT' >/dev/null"
check "oneshot removed everything" grep -q "demo done and removed" "$OUT"
data=$(datadir)
check "nothing left of the oneshot run (netns, processes, mounts, cgroups, pins, dirs, state file)" \
	nothing_left "$run" "${data:-/nonexistent}"

# ---------------------------------------------------------------- up, then down from another process
# Under a pty that hangs up when the demo exits, as with `sudo make demo`
# (sudo's use_pty): the cluster must survive the SIGHUP.
run=gd$$b
if command -v script >/dev/null; then
	CL_RUN=$run timeout 180 script -qec scripts/demo.sh /dev/null >"$OUT" 2>&1
else
	CL_RUN=$run timeout 180 scripts/demo.sh >"$OUT" 2>&1
fi
rc=$?
sleep 1
check "demo (up) exits 0 and leaves the cluster running (rc $rc)" bash -c \
	"[ $rc -eq 0 ] && grep -q 'The cluster is running' '$OUT' && [ -f '$DEMO_STATE' ]"
[ $rc -eq 0 ] || tail -n 40 "$OUT"
data=$(datadir)
if [ -f "$DEMO_STATE" ]; then
	# shellcheck disable=SC1090
	kc=$(. "$DEMO_STATE"; echo "$KUBECONFIG")
	check "after the demo's terminal hung up the cluster still answers (recorded KUBECONFIG): 4 Running pods" bash -c \
		"[ \$('$BIN/gannetctl' --kubeconfig '$kc' get pods --no-headers 2>/dev/null | grep -c ' Running ') = 4 ]"
	pod=$("$BIN/gannetctl" --kubeconfig "$kc" get pods -o name 2>/dev/null | head -n 1)
	check "and exec into a pod still works (agents and relays alive)" bash -c \
		"'$BIN/gannetctl' --kubeconfig '$kc' exec '${pod#*/}' -- cat /www/index.html | grep -q 'hello from ${pod#*/} on node'"
	CL_RUN=${run}x timeout 60 scripts/demo.sh >/dev/null 2>&1
	rc=$?
	check "a second demo while one runs is refused (rc $rc)" bash -c \
		"[ $rc -ne 0 ] && [ -f '$DEMO_STATE' ] && [ -z \"\$(ip netns list | grep '^${run}x-')\" ]"
fi
down=$(setsid bash -c 'scripts/demo.sh down' 2>&1 </dev/null)
rc=$?
check "demo.sh down from a separate session exits 0 (rc $rc: $down)" test $rc -eq 0
check "nothing left after down" nothing_left "$run" "${data:-/nonexistent}"
down=$(scripts/demo.sh down 2>&1)
check "down again: nothing to do ($down)" bash -c "[ $? -eq 0 ] && grep -q 'nothing to do' <<<'$down'"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
