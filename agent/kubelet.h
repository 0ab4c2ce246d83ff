/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent API mode: Node registration, Lease heartbeat, remote nodes
 * from the API and the pods bound to this node (see kubelet.c). */
#ifndef GANNET_AGENT_KUBELET_H
#define GANNET_AGENT_KUBELET_H

#include <microhttpd.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/log.h"

struct agent;

/* API mode without podCIDR in the file: registers the Node and waits for
 * its spec.podCIDR (node IPAM controller), filling cfg. No-op otherwise. */
int kubelet_pod_cidr(struct agent *a, struct gerr *err);
/* Component start/stop: no-op unless the config names a kubeconfig. */
int kubelet_start(struct agent *a, struct gerr *err);
void kubelet_stop(struct agent *a);
/* HTTPS server on nodeIP:kubeletPort for logs/exec: client certificates
 * from the cluster CA (ca_pem) with O=system:masters only. */
int kubelet_tls_start(struct agent *a, const unsigned char *ca_pem, size_t ca_len,
		      struct gerr *err);
void kubelet_tls_stop(struct agent *a);
/* GET /containerLogs/<ns>/<pod>[/<ctr>]?follow=&tailLines=&timestamps=
 * and POST /exec/<ns>/<pod>[/<ctr>]?command=..&command=.. on the agent's
 * HTTP endpoint. Returns an MHD result, or -1 when url is not one of them. */
int kubelet_http(struct agent *a, struct MHD_Connection *c, const char *url, const char *method);

/* Queues body (copied) with status code: Content-Type application/json when
 * it starts with '{', text/plain otherwise. For every agent HTTP handler. */
enum MHD_Result kubelet_reply(struct MHD_Connection *c, unsigned code, const char *body);
/* Interactive exec (kubelet_tls.c): answers 101 Switching Protocols
 * (Upgrade: gannet-exec) and pumps the already spawned exec (pid; io =
 * stdin writer or pty master, out = output reader or -1 with a tty)
 * through the framing documented in docs/agent.md. Takes the fds. */
int kubelet_exec_upgrade(struct MHD_Connection *c, pid_t pid, int io, int out, bool tty);

#endif
