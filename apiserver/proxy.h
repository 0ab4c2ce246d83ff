/* SPDX-License-Identifier: Apache-2.0 */
/* pods/log and pods/exec: proxied to the gannet-agent of the pod's node;
 * nodes/{name}/proxy/{path}: any GET the node's agent serves. */
#ifndef GANNET_APISERVER_PROXY_H
#define GANNET_APISERVER_PROXY_H

#include <microhttpd.h>

struct apiserver;

/* sub is "log" (GET, ?container=&follow=&tailLines=&timestamps=) or "exec"
 * (POST, ?container=&command=...). The caller has authorized the request
 * (get pods/log, create pods/exec). The agent endpoint is the Node's
 * gannet.io/agent-endpoint annotation when set (e.g. behind a relay), else
 * http://<InternalIP>:<daemonEndpoints.kubeletEndpoint.Port>. */
enum MHD_Result proxy_pod(struct apiserver *as, struct MHD_Connection *conn, const char *ns,
			  const char *name, const char *sub, const char *method);

/* GET /api/v1/nodes/{node}/proxy/{path}?query -> the agent's /{path}?query
 * (Kubernetes' node proxy subresource; the caller authorized get
 * nodes/proxy). The agent's answer is streamed (chunked) once its headers
 * arrived, so follow streams (/flows?follow=true) work and end when the
 * client goes away. 404 for an unknown node (or a path the agent does not
 * serve), 503 with the reason when the agent cannot be reached, 502 for
 * other agent errors. */
enum MHD_Result proxy_node(struct apiserver *as, struct MHD_Connection *conn, const char *node,
			   const char *path, const char *method);

#endif
