#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Interactive exec end to end: gannetctl exec -i / -it -> API server
# (authorizes create pods/exec, upgrades to gannet-exec and splices) ->
# the node agent's HTTPS port (upgrade, runc exec with stdin pipes or a
# pty). Checks stdin streaming and the exit code, a real terminal under
# script(1) (prompt, echo, output, exit code), the window size (initial,
# and a live resize under tmux when installed), stdin EOF reaching the
# command, 403 without pods/exec permission and 404 for a missing pod, the
# non-interactive path, and a killed client ending its command.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
. tests/lib/kubelet.sh
kl_require
command -v script >/dev/null || cl_skip "missing tool: script (util-linux)"
kl_up 1

mkpod sh1 1 "[{\"name\":\"main\",$BB,\"command\":[\"sleep\",\"3600\"]}]"
t_check "pod sh1 Running" wait_for 20 running_with_ip sh1

# -i: stdin streamed, output back, exit code propagated
# shellcheck disable=SC2016 # expanded by the remote shell
out=$(printf 'echo hello-$((6*7))\nexit 3\n' | timeout 30 "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" \
	exec -i sh1 -- sh 2>&1)
rc=$?
t_check "exec -i sh: prints hello-42 and exits 3 (rc $rc: $out)" bash -c "[ $rc = 3 ] && [ '$out' = hello-42 ]"

# stdin EOF reaches the command (cat ends), multi-line data intact
seq 1 2000 >"$CL_DIR/seq.txt"
out=$(timeout 30 "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" exec -i sh1 -- sh -c 'cat | md5sum' \
	<"$CL_DIR/seq.txt" 2>&1)
rc=$?
want=$(md5sum <"$CL_DIR/seq.txt")
t_check "exec -i cat | md5sum: stdin EOF ends cat, data intact (rc $rc)" \
	bash -c "[ $rc = 0 ] && [ '$out' = '$want' ]"

# -t under script(1): a real pty on our side, the remote sh gets one too
# (prompt, echo of typed input, tty in the container, exit code)
tty_run() {
	# generous pauses: script(1) types ^D at the end of its input, which
	# must not reach the shell before "exit 5" on a loaded machine
	{
		sleep 2
		# shellcheck disable=SC2016 # expanded by the remote shell
		printf 'echo tty-$((6*7)); tty\n'
		sleep 2
		printf 'exit 5\n'
		sleep 3
	} | timeout 30 script -qec "$CL_BIN/gannetctl --kubeconfig $KUBECONFIG exec -it sh1 -- sh" /dev/null
}
out=$(tty_run 2>&1)
rc=$?
printf '%s\n' "$out" | tr -d '\r' >"$CL_DIR/tty.out"
t_check "exec -it under script: exit code 5 propagated (rc $rc)" test "$rc" = 5
t_check "exec -it: output tty-42 and /dev/pts in the container" \
	bash -c "grep -qx 'tty-42' $CL_DIR/tty.out && grep -q '^/dev/pts/' $CL_DIR/tty.out"
t_check "exec -it: the pty echoes the typed command and shows a prompt" \
	bash -c "grep -q 'echo tty-\$((6\\*7)); tty' $CL_DIR/tty.out && grep -q '# ' $CL_DIR/tty.out"

# window size from the local terminal (script(1) pty resized by stty)
out=$(timeout 30 script -qec "stty cols 123 rows 45; $CL_BIN/gannetctl --kubeconfig $KUBECONFIG exec -it sh1 -- stty size" /dev/null </dev/null 2>&1 | tr -d '\r')
t_check "exec -it: window size forwarded (stty size: $out)" grep -q '45 123$' <<<"$out"

# live resize (SIGWINCH -> frame 4 -> TIOCSWINSZ -> runc): only where tmux
# is installed (not a project dependency)
if command -v tmux >/dev/null; then
	TM=(tmux -S "$CL_DIR/tmux.sock" -f /dev/null)
	tm_cleanup() { "${TM[@]}" kill-server 2>/dev/null; }
	cluster_on_exit tm_cleanup
	"${TM[@]}" new-session -d -x 100 -y 30 \
		"$CL_BIN/gannetctl --kubeconfig $KUBECONFIG exec -it sh1 -- sh; echo rc=\$?; sleep 30"
	pane_has() { "${TM[@]}" capture-pane -p | grep -q "$1"; }
	wait_for 10 pane_has '# ' >/dev/null
	"${TM[@]}" send-keys 'stty size' Enter
	t_check "tmux: initial size 30x100 in the container" wait_for 10 pane_has '^30 100'
	"${TM[@]}" resize-window -x 120 -y 40
	sleep 0.5
	"${TM[@]}" send-keys 'clear; stty size' Enter
	t_check "tmux: resized window -> 40x120 in the container" wait_for 10 pane_has '^40 120'
	"${TM[@]}" send-keys 'exit 7' Enter
	t_check "tmux: exit 7 propagated" wait_for 10 pane_has '^rc=7'
	"${TM[@]}" kill-server 2>/dev/null
fi

# authorization: a service account without RBAC gets 403, missing pod 404
acurl -X POST -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"nobody"}}' \
	/api/v1/namespaces/default/serviceaccounts >/dev/null
tok=$("$KL_TOOL" sa-token "$APISERVER_DATA" default nobody)
out=$(echo true | timeout 20 "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" --token "$tok" exec -i sh1 -- sh 2>&1)
rc=$?
t_check "exec -i without pods/exec permission: Forbidden, rc 1 ($rc: $out)" \
	bash -c "[ $rc = 1 ] && grep -q Forbidden <<<'$out'"
code=$(curl -sS -k --max-time 10 -o /dev/null -w '%{http_code}' -X POST \
	-H 'Connection: Upgrade' -H 'Upgrade: gannet-exec' -H "Authorization: Bearer $tok" \
	"$APISERVER_URL/api/v1/namespaces/default/pods/sh1/exec?command=sh&stdin=true" 2>/dev/null)
t_check "raw upgrade request by that account: 403 ($code)" test "$code" = 403
out=$(echo true | timeout 20 "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" exec -i nope -- sh 2>&1)
rc=$?
t_check "exec -i on a missing pod: NotFound, rc 1 ($rc: $out)" bash -c "[ $rc = 1 ] && grep -q NotFound <<<'$out'"

# the non-upgrade path is unchanged
out=$(gctl exec sh1 -- sh -c 'echo plain; exit 4'); rc=$?
t_check "plain exec still works (rc $rc: $out)" bash -c "[ $rc = 4 ] && [ '$out' = plain ]"

# a client that goes away (killed, stdin still open): the command is ended
sleep 8 | timeout -s KILL 3 "$CL_BIN/gannetctl" --kubeconfig "$KUBECONFIG" exec -i sh1 -- sleep 1000 \
	>/dev/null 2>&1 &
spid=$!
running() { kexec 1 sh1 main -- ps | jq -r .output | grep -q 'sleep 1000'; }
t_check "exec -i sleep 1000 is running in the container" wait_for 5 running
wait "$spid"
ended() { ! running; }
t_check "client killed -> the agent ends its command" wait_for 10 ended

# no exec left behind in the container
left() { ! kexec 1 sh1 main -- ps | jq -r .output | grep -v ' ps$' | grep -qw -e sh -e cat -e stty -e 'sleep 1000'; }
t_check "no interactive exec process left in the container" wait_for 10 left

t_done
