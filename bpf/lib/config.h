/* SPDX-License-Identifier: Apache-2.0 */
/* Per-node runtime settings, set by the dataplane library through the
 * skeleton's rodata before load (the verifier then treats them as
 * constants). Addresses and ports in network byte order. */
#ifndef GNT_BPF_CONFIG_H
#define GNT_BPF_CONFIG_H

#include <linux/types.h>

const volatile __u32 cfg_node_ip = 0;
const volatile __u32 cfg_underlay_ifindex = 0;
const volatile __u16 cfg_vxlan_port = 0;
const volatile __u32 cfg_cluster_net = 0;
const volatile __u32 cfg_cluster_mask = 0;
const volatile __u32 cfg_pod_net = 0;
const volatile __u32 cfg_pod_mask = 0;
/* underlay MTU; 0 = don't check (pods get MTU - 50 and never hit it) */
const volatile __u32 cfg_underlay_mtu = 0;
/* 1: XDP decap redirects to the host veth of endpoints flagged
 * GNT_EP_F_XDP_REDIRECT instead of passing to the tc program. */
const volatile __u8 cfg_xdp_redirect = 0;
/* NodePort frames to remote backends (and their replies), finished in XDP:
 * 0 passed to tc, which transmits; 1 XDP_REDIRECT; 2 also XDP_TX when
 * they leave by the ingress device (a NIC) (bpf/lib/nodeport.h). */
const volatile __u8 cfg_np_xdp_xmit = 0;

#endif
