#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian packages Gannet needs to build, run and test.
# Idempotent: only calls apt when something is missing. Run as root.
set -euo pipefail
PKGS=(
	build-essential pkg-config clang llvm bpftool
	libbpf-dev libelf-dev zlib1g-dev linux-libc-dev
	libnl-3-dev libnl-route-3-dev
	libyaml-dev libjansson-dev libmicrohttpd-dev libgnutls28-dev libssl-dev libcurl4-openssl-dev libsqlite3-dev
	iproute2 ethtool iptables ipset iperf3 socat curl jq openssl netcat-openbsd iputils-ping
	runc busybox-static etcd-server etcd-client
	nginx wrk
	dnsmasq-base dnsutils
	python3 bc
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${missing[*]} (run as root)" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
	# The nginx package starts a system instance on port 80; Gannet's
	# ingress runs its own nginx in a private prefix, so stop that one.
	if [[ " ${missing[*]} " == *" nginx "* ]]; then
		systemctl disable --now nginx >/dev/null 2>&1 || service nginx stop >/dev/null 2>&1 || true
		if [ -s /run/nginx.pid ]; then nginx -s quit >/dev/null 2>&1 || true; fi
	fi
fi
# bpffs is needed for pinning; mount it if the host has not.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf
fi
echo "deps: ok"
