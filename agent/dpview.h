/* SPDX-License-Identifier: Apache-2.0 */
/* Read-only views of what this node's BPF maps hold, served on the agent's
 * HTTPS port (kubelet_tls.c) and reached through the API server's node
 * proxy (gannetctl dataplane services). */
#ifndef GANNET_AGENT_DPVIEW_H
#define GANNET_AGENT_DPVIEW_H

#include <microhttpd.h>

struct agent;

/* Handles GET /dataplane/services (JSON: the services as programmed in the
 * maps with their backends, Maglev slot shares and packet/byte counters).
 * Returns an MHD_Result (>= 0), or -1 when url is not one of its paths. */
int dpview_http(struct agent *a, struct MHD_Connection *c, const char *url, const char *method);

#endif
