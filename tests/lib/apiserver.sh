#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Test helpers for a live gannet-apiserver. Source this file, then:
#   apiserver_start [extra server args...]   start on a free 127.0.0.1 port with
#       a fresh temp data dir, wait for /readyz, export:
#         APISERVER_URL APISERVER_PORT APISERVER_DATA APISERVER_PID APISERVER_LOG
#         KUBECONFIG (admin) CA_CERT ADMIN_CERT ADMIN_KEY
#   apiserver_stop            SIGTERM, wait (data dir kept)
#   apiserver_kill            SIGKILL (crash tests)
#   apiserver_restart [args]  start again on the same port and data dir
#   apiserver_cleanup         stop and remove the data dir (registered on EXIT
#                             by apiserver_start unless APISERVER_NO_TRAP=1)
#   acurl [curl args...] PATH  curl as admin: acurl -X POST -d @f /api/v1/...
#   acurl_code ...            same, prints only the HTTP status code
# APISERVER_EXTRA_ARGS adds server flags to every start (e.g. another store).
# The server normally runs the scheduler and the controllers in-process; the
# harness starts it WITHOUT them (--disable=scheduler,controllers) so that
# suites which run gannet-scheduler / gannet-controller-manager themselves,
# or simulate a controller, never see two of them. APISERVER_CONTROLLERS=1
# keeps the in-process scheduler and controllers (the all-in-one server).
# Everything listens on 127.0.0.1 only. $BUILD selects the build (build-san
# for the sanitizer build); GANNET_APISERVER overrides the binary path.

: "${GANNET_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BUILD:=build}"

_apiserver_bin() {
	if [ -n "${GANNET_APISERVER:-}" ]; then echo "$GANNET_APISERVER"; return; fi
	case "$BUILD" in
	/*) echo "$BUILD/bin/gannet-apiserver";;
	*)  echo "$GANNET_ROOT/$BUILD/bin/gannet-apiserver";;
	esac
}

_apiserver_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$(( 20000 + RANDOM % 40000 ))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q .; then
			echo "$p"; return 0
		fi
	done
	return 1
}

_apiserver_launch() {
	local bin; bin=$(_apiserver_bin)
	[ -x "$bin" ] || { echo "apiserver.sh: $bin not built" >&2; return 1; }
	# APISERVER_EXTRA_ARGS (whitespace-split) lets a wrapper suite rerun
	# another suite with e.g. "--store etcd:http://127.0.0.1:PORT".
	local loops=(--disable=scheduler,controllers)
	[ "${APISERVER_CONTROLLERS:-0}" = 1 ] && loops=()
	# shellcheck disable=SC2086
	"$bin" --data-dir "$APISERVER_DATA" --listen "127.0.0.1:$APISERVER_PORT" "${loops[@]}" \
		${APISERVER_EXTRA_ARGS:-} "${APISERVER_ARGS[@]}" "$@" >>"$APISERVER_LOG" 2>&1 &
	APISERVER_PID=$!
	export APISERVER_PID
	local i
	for i in $(seq 1 200); do
		if ! kill -0 "$APISERVER_PID" 2>/dev/null; then
			echo "apiserver.sh: server exited; log:" >&2
			tail -n 30 "$APISERVER_LOG" >&2
			return 1
		fi
		if [ -f "$APISERVER_DATA/pki/ca.crt" ] &&
		   curl -sf --max-time 2 --cacert "$APISERVER_DATA/pki/ca.crt" \
			"$APISERVER_URL/readyz" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.05
	done
	echo "apiserver.sh: server not ready after 10s; log:" >&2
	tail -n 30 "$APISERVER_LOG" >&2
	return 1
}

apiserver_start() {
	APISERVER_DATA=$(mktemp -d /tmp/gannet-apiserver-test.XXXXXX)
	APISERVER_PORT=$(_apiserver_free_port) || { echo "no free port" >&2; return 1; }
	APISERVER_URL="https://127.0.0.1:$APISERVER_PORT"
	APISERVER_LOG="$APISERVER_DATA/apiserver.log"
	APISERVER_ARGS=("$@")
	export APISERVER_DATA APISERVER_PORT APISERVER_URL APISERVER_LOG
	if [ "${APISERVER_NO_TRAP:-0}" != 1 ]; then
		trap apiserver_cleanup EXIT
	fi
	_apiserver_launch || return 1
	export CA_CERT="$APISERVER_DATA/pki/ca.crt"
	export ADMIN_CERT="$APISERVER_DATA/pki/admin.crt"
	export ADMIN_KEY="$APISERVER_DATA/pki/admin.key"
	export KUBECONFIG="$APISERVER_DATA/admin.kubeconfig"
}

apiserver_restart() {
	_apiserver_launch "$@"
}

apiserver_stop() {
	if [ -n "${APISERVER_PID:-}" ] && kill -0 "$APISERVER_PID" 2>/dev/null; then
		kill -TERM "$APISERVER_PID" 2>/dev/null
		for _ in $(seq 1 100); do
			kill -0 "$APISERVER_PID" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$APISERVER_PID" 2>/dev/null
		wait "$APISERVER_PID" 2>/dev/null
	fi
	APISERVER_PID=
}

apiserver_kill() {
	if [ -n "${APISERVER_PID:-}" ]; then
		kill -KILL "$APISERVER_PID" 2>/dev/null
		wait "$APISERVER_PID" 2>/dev/null
	fi
	APISERVER_PID=
}

apiserver_cleanup() {
	apiserver_stop
	if [ -n "${APISERVER_DATA:-}" ] && [ -d "$APISERVER_DATA" ] &&
	   [ "${KEEP_DATA:-0}" != 1 ]; then
		rm -rf "$APISERVER_DATA"
	fi
}

acurl() {
	local path=${!#}
	local args=("${@:1:$#-1}")
	curl -sS --max-time "${ACURL_TIMEOUT:-20}" --cacert "$CA_CERT" --cert "$ADMIN_CERT" \
		--key "$ADMIN_KEY" "${args[@]}" "$APISERVER_URL$path"
}

acurl_code() {
	acurl -o /dev/null -w '%{http_code}' "$@"
}
