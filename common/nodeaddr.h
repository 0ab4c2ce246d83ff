/* SPDX-License-Identifier: Apache-2.0 */
/* A Node object's addresses (status.addresses), read the way kubectl and
 * kube-proxy read them: the first entry of the wanted type. jansson only
 * (no libcurl), so pure modules and their unit tests can use it. */
#ifndef GANNET_COMMON_NODEADDR_H
#define GANNET_COMMON_NODEADDR_H

#include <jansson.h>

/* The address of the first status.addresses entry of type ("InternalIP",
 * "ExternalIP", "Hostname", ...), or NULL. The string belongs to node. */
const char *node_address(const json_t *node, const char *type);

/* node_address(node, "InternalIP"): where agents, the API server's proxy
 * and peers reach the node. */
const char *node_internal_ip(const json_t *node);

#endif
