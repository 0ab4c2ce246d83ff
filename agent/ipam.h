/* SPDX-License-Identifier: Apache-2.0 */
/* IPAM for one node's pod CIDR, split as containernetworking host-local
 * splits it: a pure allocator core (struct ipam: the pool and its
 * allocations, no I/O, unit-testable without root) and an on-disk store
 * (ipam_store_*: one JSON file under the agent's state dir, rewritten
 * atomically, guarded by flock so concurrent processes never hand out one IP
 * twice). Allocations are keyed by (container ID, ifname).
 *
 * Addresses are IPv4 in network byte order, as in struct in_addr. */
#ifndef GANNET_AGENT_IPAM_H
#define GANNET_AGENT_IPAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

#define IPAM_ID_MAX     128
#define IPAM_IFNAME_MAX 16

struct ipam_alloc {
	uint32_t ip;
	char id[IPAM_ID_MAX];           /* CNI container ID */
	char ifname[IPAM_IFNAME_MAX];   /* CNI_IFNAME inside the pod */
	uint8_t mac[6];                 /* pod-side MAC, once known (for reconcile) */
	bool has_mac;
};

struct ipam {
	uint32_t net;                   /* network address, network order */
	uint8_t prefix;
	uint32_t first, last;           /* usable range, HOST order */
	uint32_t last_reserved;         /* HOST order, 0 = none yet */
	struct ipam_alloc *allocs;
	size_t n, cap;
};

/* ---- pure allocator ---------------------------------------------------- */

/* The pool is net/prefix minus the network address, the broadcast address
 * and the first host address (.1, kept for the node side). prefix 8..30. */
int ipam_init(struct ipam *p, uint32_t net, uint8_t prefix, struct gerr *err);
void ipam_free(struct ipam *p);
/* Next free IP after the last one handed out (round robin, so a released
 * address is not reused immediately). -EEXIST if (id, ifname) already has an
 * address, -ENOSPC when the pool is full. */
int ipam_allocate(struct ipam *p, const char *id, const char *ifname,
		  uint32_t *ip_out, struct gerr *err);
/* Records a specific address (used when loading state). -EEXIST if taken,
 * -ERANGE outside the pool. */
int ipam_reserve(struct ipam *p, const struct ipam_alloc *a, struct gerr *err);
/* Releases by (id, ifname); ifname NULL releases every interface of id.
 * Returns how many were released (0 is not an error: DEL is idempotent). */
int ipam_release(struct ipam *p, const char *id, const char *ifname);
struct ipam_alloc *ipam_find(struct ipam *p, const char *id, const char *ifname);
struct ipam_alloc *ipam_find_ip(struct ipam *p, uint32_t ip);
size_t ipam_free_count(const struct ipam *p);
bool ipam_contains(const struct ipam *p, uint32_t ip);

/* Serialisation of the whole pool (cidr, lastReserved, allocations) as a
 * JSON text; parse validates it against the pool's CIDR. */
char *ipam_to_json(const struct ipam *p);
int ipam_from_json(struct ipam *p, const char *text, struct gerr *err);

/* ---- on-disk store ------------------------------------------------------ */

struct ipam_store {
	char path[512];                 /* <dir>/ipam.json */
	char lock_path[512];            /* <dir>/ipam.lock */
	int lock_fd;                    /* held between lock and unlock */
	uint32_t net;
	uint8_t prefix;
};

/* Creates dir if needed. Does not touch the state file. */
int ipam_store_init(struct ipam_store *s, const char *dir, uint32_t net,
		    uint8_t prefix, struct gerr *err);
/* Takes the exclusive flock and loads the state into *p (an empty pool when
 * there is no file yet). Every successful lock must be paired with unlock. */
int ipam_store_lock(struct ipam_store *s, struct ipam *p, struct gerr *err);
/* Writes *p atomically (tmp file, fsync, rename, fsync dir). */
int ipam_store_save(struct ipam_store *s, const struct ipam *p, struct gerr *err);
/* Drops the lock and frees *p. */
void ipam_store_unlock(struct ipam_store *s, struct ipam *p);

#endif
