#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The datapath integration test (40-) again with the agents' underlay in XDP
# mode (underlayMode: xdp) instead of the default (tc): same matrix, iperf3,
# SIGKILL+restart mid-transfer (the XDP attachment is a pinned bpf_link that
# must survive the agent), node join and CNI DEL.
export CL_UNDERLAY_MODE=xdp
exec "$(dirname "$0")/../integration/datapath.sh"
