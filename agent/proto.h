/* SPDX-License-Identifier: Apache-2.0 */
/* The agent <-> gannet-cni protocol over the agent's unix stream socket
 * (documented in docs/cni.md), plus helpers both sides share: CNI error
 * codes, the host-side veth name, and message framing.
 *
 * One request per connection: the client writes one JSON object and shuts
 * down its write side; the pod netns fd (if any) rides along as SCM_RIGHTS
 * on the first bytes, so the agent never has to resolve the runtime's netns
 * path in its own mount namespace. The agent answers one JSON object
 * {"result": {...}} or {"error": {"code": N, "msg": "...", "details": "..."}}
 * and closes. */
#ifndef GANNET_AGENT_PROTO_H
#define GANNET_AGENT_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"

/* CNI spec error codes (SPEC.md "Error"), plus Gannet's own (>= 100). */
enum cni_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED = 51,
	GANNET_ERR_EXISTS = 100,       /* interface/attachment already exists */
	GANNET_ERR_CHECK = 101,        /* CHECK found a mismatch */
	GANNET_ERR_NO_ADDRESS = 102,   /* pod CIDR exhausted */
	GANNET_ERR_INTERNAL = 110,     /* netlink / datapath failure */
};

#define PROTO_MAX_MSG (1 << 20)
#define GANNET_GATEWAY "169.254.1.1"

/* "gnt" + first 11 hex digits of sha256(containerID + ifname): 14 chars,
 * fits IFNAMSIZ, stable across restarts. */
void proto_host_ifname(const char *container_id, const char *ifname, char out[16]);

/* Sends len bytes (and fd >= 0 as SCM_RIGHTS with the first chunk). */
int proto_send(int sock, const char *buf, size_t len, int fd);
/* Reads until EOF (max PROTO_MAX_MSG); *fd_out gets a passed fd or -1.
 * Returns a NUL-terminated malloc'd buffer or NULL with *errp set. */
char *proto_recv(int sock, int *fd_out, int *errp);

#endif
