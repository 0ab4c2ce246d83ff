/* SPDX-License-Identifier: Apache-2.0 */
/* pods/log and pods/exec: proxied to the gannet-agent of the pod's node. */
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

#endif
