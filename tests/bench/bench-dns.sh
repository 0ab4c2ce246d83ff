#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cluster DNS update propagation: how long after an update a new name
# answers, and how many queries fail meanwhile (a probe in a "pod" netns
# queries back to back, 200 ms timeout). Gannet's scheme (agent/dns:
# A records through --hostsdir/inotify; SRV/CNAME through a front/back
# switch) against the two obvious dnsmasq alternatives, measured in the
# same run: restarting dnsmasq with a new conf-file (the only way to change
# srv-host=) and --addn-hosts + SIGHUP. Everything in throwaway netns.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CLI=$PWD/$BUILD/bin/gannet-dns-render
PROBE=$PWD/tests/bench/dns_probe.py
N=${DNS_BENCH_N:-5}

[ "$(id -u)" = 0 ] || { echo "skip: needs root"; exit 77; }
[ -x /usr/sbin/dnsmasq ] || { echo "skip: dnsmasq-base not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
[ -x "$CLI" ] || { echo "missing $CLI (run make)"; exit 1; }

NODE=gnt-dnsbn-$$-$RANDOM
POD=gnt-dnsbp-$$-$RANDOM
T=$(mktemp -d /tmp/gnt-dnsb-$$-XXXX)
chmod 755 "$T"
D=$T/state
cleanup() {
	set +e
	"$CLI" stop --dir "$D" >/dev/null 2>&1
	for f in "$T"/base-*.pid; do [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null; done
	for n in "$NODE" "$POD"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

ip netns add "$NODE" && ip netns add "$POD" || exit 1
ip -n "$NODE" link set lo up
ip -n "$POD" link set lo up
for a in 10 11 12 13; do ip -n "$NODE" addr add 10.96.0.$a/32 dev lo; done
ip link add gdb$$ netns "$NODE" type veth peer name eth0 netns "$POD"
ip -n "$NODE" link set gdb$$ up
ip -n "$NODE" addr add 10.244.0.1/24 dev gdb$$
ip -n "$POD" link set eth0 up
ip -n "$POD" addr add 10.244.0.5/24 dev eth0
ip -n "$POD" route add default via 10.244.0.1

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
innode() { nsenter --net=/run/netns/$NODE "$@"; }
# trial NAME QTYPE SERVER UPDATE-CMD...: prints "latency_ms fails total"
trial() {
	local name=$1 qt=$2 srv=$3 t0 first fails total; shift 3
	nsenter --net=/run/netns/$POD python3 "$PROBE" "$srv" "$name" "$qt" 6 1 >"$T/probe.out" &
	local pp=$!
	sleep 0.3
	t0=$(now_ms)
	"$@" >/dev/null 2>&1
	wait $pp
	read -r first fails total <"$T/probe.out"
	[ "$first" -lt 0 ] && echo "-1 $fails $total" || echo "$(( first - t0 )) $fails $total"
}
svc_yaml() { # name ip [portname]
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: default}\n' "$1"
	if [ -n "${3:-}" ]; then
		printf 'spec: {clusterIP: %s, ports: [{name: %s, port: 80}]}\n' "$2" "$3"
	else
		printf 'spec: {clusterIP: %s, ports: [{port: 80}]}\n' "$2"
	fi
}

# --- Gannet: front/back via the CLI
svc_yaml web 10.96.5.5 http >"$T/snap.yaml"
"$CLI" apply --dir "$D" --netns /run/netns/$NODE -l 10.96.0.10 "$T/snap.yaml" >/dev/null 2>&1 ||
	{ echo "apply failed"; exit 1; }
gannet_apply() { "$CLI" apply --dir "$D" --netns /run/netns/$NODE -l 10.96.0.10 "$T/snap.yaml"; }

# --- baseline 1: one dnsmasq, srv-host in its conf-file, restarted per update
R=$T/restart; mkdir -p "$R"; chmod 755 "$R"
: >"$R/records.conf"
base_start() { # tag addr extra-args...
	local tag=$1 addr=$2; shift 2
	innode /usr/sbin/dnsmasq --no-resolv --no-hosts --bind-interfaces --listen-address="$addr" \
		--local=/cluster.local/ --pid-file="$T/base-$tag.pid" "$@"
}
base_stop() { # tag: SIGTERM and wait until the process is gone
	local p; p=$(cat "$T/base-$1.pid" 2>/dev/null) || return 0
	kill "$p" 2>/dev/null
	while [ -d /proc/$p ] && [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" != Z ]; do :; done
}
base_start restart 10.96.0.11 --conf-file="$R/records.conf"
restart_update() { # name
	echo "srv-host=_http._tcp.$1.default.svc.cluster.local,$1.default.svc.cluster.local,80" >>"$R/records.conf"
	base_stop restart
	base_start restart 10.96.0.11 --conf-file="$R/records.conf"
}

# --- baseline 2: --addn-hosts file + SIGHUP
H=$T/addn; mkdir -p "$H"; chmod 755 "$H"
: >"$H/hosts"; chmod 644 "$H/hosts"
base_start sighup 10.96.0.12 --conf-file=/dev/null --addn-hosts="$H/hosts"
sighup_update() { # name ip
	echo "$2 $1.default.svc.cluster.local" >>"$H/hosts"
	kill -HUP "$(cat "$T/base-sighup.pid")"
}

# --- baseline 3: front/back where the switch rewrites the front's
# --servers-file to the new back only and sends SIGHUP (Gannet's first design)
S=$T/swap; mkdir -p "$S"; chmod 755 "$S"
: >"$S/records.conf"
SWAP_PORT=10063
swap_back() { # port
	base_start swapb$1 127.0.0.1 --port="$1" --conf-file="$S/records.conf"
}
swap_back $SWAP_PORT
echo $SWAP_PORT >"$S/port"   # trials run in subshells: state in a file
echo "server=/cluster.local/127.0.0.1#$SWAP_PORT" >"$S/servers"
chmod 644 "$S/servers" "$S/records.conf"
innode /usr/sbin/dnsmasq --no-resolv --no-hosts --bind-interfaces --listen-address=10.96.0.13 \
	--conf-file=/dev/null --servers-file="$S/servers" --pid-file="$T/base-swapf.pid"
swap_update() { # name
	local old new
	old=$(cat "$S/port"); new=$(( old == 10063 ? 10064 : 10063 ))
	echo "srv-host=_http._tcp.$1.default.svc.cluster.local,$1.default.svc.cluster.local,80" >>"$S/records.conf"
	swap_back $new
	echo "server=/cluster.local/127.0.0.1#$new" >"$S/servers.tmp"
	mv "$S/servers.tmp" "$S/servers"
	kill -HUP "$(cat "$T/base-swapf.pid")"
	sleep 0.2
	base_stop swapb$old
	echo $new >"$S/port"
}

declare -A LAT FAIL TOT
run() { # key name qtype server cmd...
	local key=$1; shift
	local r; r=$(trial "$@")
	echo "$key $r" >>"$T/trials.log"; [ -n "${DNS_BENCH_V:-}" ] && echo "trial $key $r" >&2
	set -- $r
	LAT[$key]="${LAT[$key]:-} $1"
	FAIL[$key]=$(( ${FAIL[$key]:-0} + $2 ))
	TOT[$key]=$(( ${TOT[$key]:-0} + $3 ))
}
for i in $(seq 1 "$N"); do
	svc_yaml a$i 10.96.10.$i >>"$T/snap.yaml"
	run gannet-a a$i.default.svc.cluster.local 1 10.96.0.10 gannet_apply
	svc_yaml s$i 10.96.11.$i http >>"$T/snap.yaml"
	run gannet-srv _http._tcp.s$i.default.svc.cluster.local 33 10.96.0.10 gannet_apply
	run restart-srv _http._tcp.r$i.default.svc.cluster.local 33 10.96.0.11 restart_update r$i
	run sighup-a h$i.default.svc.cluster.local 1 10.96.0.12 sighup_update h$i 10.96.12.$i
	run swap-srv _http._tcp.w$i.default.svc.cluster.local 33 10.96.0.13 swap_update w$i
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : -1)}'; }
maxof() { tr ' ' '\n' | grep -v '^$' | sort -n | tail -1; }
printf '\n%-42s %10s %8s %16s\n' "update path ($N trials each)" "median ms" "max ms" "failed/queries"
for k in gannet-a sighup-a gannet-srv restart-srv swap-srv; do
	case $k in
	gannet-a)    label="A: hostsdir inotify (gannet)";;
	sighup-a)    label="A: addn-hosts + SIGHUP (baseline)";;
	gannet-srv)  label="SRV: front/back switch (gannet)";;
	restart-srv) label="SRV: restart dnsmasq (baseline)";;
	swap-srv)    label="SRV: servers-file + SIGHUP switch";;
	esac
	printf '%-42s %10s %8s %16s\n' "$label" "$(echo "${LAT[$k]}" | median)" \
		"$(echo "${LAT[$k]}" | maxof)" "${FAIL[$k]}/${TOT[$k]}"
done
echo "(latency: update started -> first answer seen by the probe; -1 = never within 6 s)"
