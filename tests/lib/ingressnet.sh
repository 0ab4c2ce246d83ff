#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Namespace topology for the ingress controller suite and benchmark (source
# it). Everything lives in namespaces named with a unique suffix and is
# removed by ingnet_cleanup:
#   fabric  ($INGNET_FAB)   bridge br0 joining all of the below (the "wire")
#   node    ($INGNET_NODE)  the ingress node, address $INGNET_PFX.2
#   client  ($INGNET_CLIENT) an external client, $INGNET_PFX.100
#   pods    ingnet_pod NAME N -> namespace with $INGNET_PFX.N running a
#           "pod": nginx answering "NAME\n" (plus the request's Host and URI
#           in headers) on :8080; ingnet_pod_helloworld NAME N -> the same
#           with busybox httpd serving the examples' helloworld page
# Nothing touches the root namespace's links, addresses or routes.

INGNET_ID=${INGNET_ID:-$$$RANDOM}
INGNET_PFX=${INGNET_PFX:-10.213.0}
INGNET_FAB=gnt-if-$INGNET_ID
INGNET_NODE=gnt-in-$INGNET_ID
INGNET_CLIENT=gnt-ic-$INGNET_ID
INGNET_DIR=$(mktemp -d /tmp/gnt-ingnet-XXXXXX)
INGNET_NSS=()

# Run in a namespace without remounting /sys (bpffs stays visible).
inx() { local ns=$1; shift; nsenter --net="/run/netns/$ns" "$@"; }

# ingnet_attach NS IP: veth between NS and the fabric bridge.
ingnet_attach() {
	local ns=$1 ip=$2 h
	h=v${#INGNET_NSS[@]}-${INGNET_ID: -6}
	# Created inside the fabric namespace: the root namespace never
	# sees the link, not even briefly.
	inx "$INGNET_FAB" ip link add "$h" type veth peer name eth0 netns "$ns" || return 1
	inx "$INGNET_FAB" ip link set "$h" master br0 up || return 1
	inx "$ns" ip addr add "$ip/24" dev eth0 || return 1
	inx "$ns" ip link set eth0 up || return 1
	inx "$ns" ip link set lo up
}

ingnet_newns() {
	ip netns add "$1" || return 1
	INGNET_NSS+=("$1")
}

ingnet_setup() {
	ingnet_newns "$INGNET_FAB" || return 1
	inx "$INGNET_FAB" ip link add br0 type bridge || return 1
	inx "$INGNET_FAB" ip link set br0 up || return 1
	ingnet_newns "$INGNET_NODE" && ingnet_attach "$INGNET_NODE" "$INGNET_PFX.2" || return 1
	ingnet_newns "$INGNET_CLIENT" && ingnet_attach "$INGNET_CLIENT" "$INGNET_PFX.100" || return 1
}

# ingnet_node2: a second ingress node namespace $INGNET_NODE2 at $INGNET_PFX.3.
INGNET_NODE2=gnt-in2-$INGNET_ID
ingnet_node2() {
	ingnet_newns "$INGNET_NODE2" && ingnet_attach "$INGNET_NODE2" "$INGNET_PFX.3"
}

# ingnet_pod NAME N [WORKERS]: a pod namespace with $INGNET_PFX.N and an
# nginx identifying itself as NAME.
ingnet_pod() {
	local name=$1 n=$2 w=${3:-1} ns=gnt-ip$2-$INGNET_ID d=$INGNET_DIR/pod-$1
	ingnet_newns "$ns" && ingnet_attach "$ns" "$INGNET_PFX.$n" || return 1
	mkdir -p "$d/logs"
	cat >"$d/nginx.conf" <<EOF
worker_processes $w;
pid nginx.pid;
error_log logs/error.log;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path /tmp; proxy_temp_path /tmp; fastcgi_temp_path /tmp;
	uwsgi_temp_path /tmp; scgi_temp_path /tmp;
	keepalive_requests 1000000;
	server {
		listen $INGNET_PFX.$n:8080;
		location / {
			add_header X-Pod $name;
			add_header X-Seen-Host \$host;
			add_header X-Seen-Uri \$request_uri;
			return 200 "$name\n";
		}
	}
}
EOF
	inx "$ns" nginx -p "$d/" -c "$d/nginx.conf"
}

# ingnet_pod_helloworld NAME N: a pod namespace with $INGNET_PFX.N running
# the examples/ingress backend itself: busybox httpd (a process forked per
# connection, no keep-alive) serving "Hello version: v1, instance: NAME".
ingnet_pod_helloworld() {
	local name=$1 n=$2 ns=gnt-ip$2-$INGNET_ID d=$INGNET_DIR/pod-$1
	ingnet_newns "$ns" && ingnet_attach "$ns" "$INGNET_PFX.$n" || return 1
	mkdir -p "$d/www"
	echo "Hello version: v1, instance: $name" >"$d/www/index.html"
	inx "$ns" busybox httpd -p "$INGNET_PFX.$n:8080" -h "$d/www" || return 1
	# httpd daemonised: find it by its listening socket
	for _ in $(seq 1 50); do
		inx "$ns" ss -Hltnp "sport = :8080" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 >"$d/httpd.pid"
		[ -s "$d/httpd.pid" ] && return 0
		sleep 0.1
	done
	return 1
}

ingnet_cleanup() {
	local ns p d
	for d in "$INGNET_DIR"/pod-*; do
		[ -s "$d/nginx.pid" ] && kill -QUIT "$(cat "$d/nginx.pid")" 2>/dev/null
	done
	sleep 0.2
	for ns in "${INGNET_NSS[@]}"; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	for ns in "${INGNET_NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$INGNET_DIR"
}
