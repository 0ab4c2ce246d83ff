/* SPDX-License-Identifier: Apache-2.0 */
/* Link set-up through libnl: veth pairs, addresses, routes and permanent
 * neighbours, optionally inside another network namespace (given as an
 * open fd of /proc/<pid>/ns/net or /run/netns/<name>; -1 = the calling
 * thread's). Used by the agent to wire pods. All calls return 0 or -errno
 * and fill *err. Thread-safe: sockets are per thread. */
#ifndef GANNET_DATAPLANE_LINK_H
#define GANNET_DATAPLANE_LINK_H

#include <stdint.h>

#include "common/log.h"

/* Groups of calls into one namespace: after link_ns_hold(fd), this
 * thread's calls for netns_fd's namespace share one netlink socket opened
 * there once, until link_ns_release() (hold the namespace only while
 * working in it: the socket keeps it alive). Holding another namespace
 * releases the previous one. Calls work the same without a hold, each
 * opening its own socket there. */
int link_ns_hold(int netns_fd, struct gerr *err);
void link_ns_release(void);

/* Create veth host_ifname <-> peer_ifname with the peer moved into netns_fd,
 * both MTU mtu, host side up. Fails with -EEXIST if host_ifname exists, or if
 * peer_ifname already exists in the target netns. */
int link_veth_create(const char *host_ifname, const char *peer_ifname,
		     int netns_fd, unsigned mtu, struct gerr *err);
int link_delete(const char *ifname, int netns_fd /* -1 = current */, struct gerr *err);
int link_ifindex(const char *ifname, int netns_fd, struct gerr *err); /* >0 or -errno */
int link_get_mac(const char *ifname, int netns_fd, uint8_t mac[6], struct gerr *err);
/* Names of the links whose name starts with prefix, up to max of them, into
 * names[]; returns how many there are (may exceed max) or -errno. */
int link_list(const char *prefix, int netns_fd, char (*names)[16], int max,
	      struct gerr *err);
/* MTU of ifname: >0 or -errno. */
int link_mtu(const char *ifname, int netns_fd, struct gerr *err);
int link_set_up(const char *ifname, int netns_fd, struct gerr *err);
int link_addr_add(const char *ifname, int netns_fd, uint32_t ip, uint8_t prefix_len,
		  struct gerr *err);
/* 1 if ifname carries ip (any prefix), 0 if not, or -errno. */
int link_addr_has(const char *ifname, int netns_fd, uint32_t ip, struct gerr *err);
/* Route dst/prefix via gw (0 = on-link) dev ifname. */
int link_route_add(const char *ifname, int netns_fd, uint32_t dst, uint8_t prefix_len,
		   uint32_t gw, struct gerr *err);
int link_route_del(const char *ifname, int netns_fd, uint32_t dst, uint8_t prefix_len,
		   struct gerr *err);
/* 1 if the main table has dst/prefix via gw (0 = any) dev ifname, 0 if
 * not, or -errno. */
int link_route_has(const char *ifname, int netns_fd, uint32_t dst, uint8_t prefix_len,
		   uint32_t gw, struct gerr *err);
/* 1 if ifname has a permanent neighbour ip -> mac, 0 if not, or -errno. */
int link_neigh_has_permanent(const char *ifname, int netns_fd, uint32_t ip,
			     const uint8_t mac[6], struct gerr *err);
int link_neigh_add_permanent(const char *ifname, int netns_fd, uint32_t ip,
			     const uint8_t mac[6], struct gerr *err);

#endif
