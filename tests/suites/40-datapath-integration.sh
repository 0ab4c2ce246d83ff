#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Datapath integration: 3 nodes x 2 pods in network namespaces, real agents
# and gannet-cni; ICMP/TCP/UDP matrix with source IPs, iperf3 across nodes,
# agent SIGKILL+restart during a transfer, CNI DEL (see the script).
exec "$(dirname "$0")/../integration/datapath.sh"
