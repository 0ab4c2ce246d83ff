/* SPDX-License-Identifier: Apache-2.0 */
/* GET /dataplane/services on the agent's HTTPS port: the services exactly as
 * programmed in this node's BPF maps (dp_service_foreach reads the maps, not
 * the agent's desired state), so that an operator can tell "the API says"
 * from "the datapath does". One JSON document:
 *   {"node": "...", "maglevSize": M, "services": [
 *     {"id", "frontend": "vip:port/PROTO/scope", "vip", "port", "protocol",
 *      "scope": "cluster"|"external", "sessionAffinity", "affinityTimeoutSeconds",
 *      "externalTrafficPolicy", "packets", "bytes",
 *      "backends": [{"ip", "port", "nodeIP", "local", "maglevSlots"}]}]}
 * Service names are not in the maps; gannetctl joins them from the API. */
#include "agent/dpview.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "dataplane/svcjson.h"

static const char *ipstr(uint32_t ip, char *buf)
{
	struct in_addr a = { ip };

	return inet_ntop(AF_INET, &a, buf, INET_ADDRSTRLEN) ? buf : "?";
}

static int svc_cb(const struct dp_service *svc, const struct dp_backend *be,
		  const uint32_t *slots, size_t n, const struct dp_service_stats *st, void *arg)
{
	json_t *arr = arg, *o = dp_service_json(svc, be, slots, n, st);
	const char *proto = svc->proto == IPPROTO_TCP ? "TCP" : svc->proto == IPPROTO_UDP ? "UDP" :
			    svc->proto == IPPROTO_SCTP ? "SCTP" : "?";
	char a[INET_ADDRSTRLEN], fe[96];

	if (!o)
		return -ENOMEM;
	snprintf(fe, sizeof(fe), "%s:%u/%s/%s", ipstr(svc->vip, a), svc->port, proto,
		 svc->scope ? "external" : "cluster");
	json_object_set_new(o, "frontend", json_string(fe));
	json_object_set_new(o, "protocol", json_string(proto));
	json_array_append_new(arr, o);
	return 0;
}

static int reply(struct MHD_Connection *c, unsigned code, const char *type, char *body)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

int dpview_http(struct agent *a, struct MHD_Connection *c, const char *url, const char *method)
{
	json_t *doc, *arr;
	struct gerr e = { 0 };
	char *s;
	int ret;

	if (strcmp(url, "/dataplane/services"))
		return -1;
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, 405, "text/plain", strdup("method not allowed\n"));
	arr = json_array();
	doc = json_pack("{s:s, s:I}", "node", a->cfg.node_name, "maglevSize",
			(json_int_t)dp_maglev_size());
	if (!arr || !doc) {
		json_decref(arr);
		json_decref(doc);
		return reply(c, 500, "text/plain", strdup("out of memory\n"));
	}
	pthread_mutex_lock(&a->dp_lock);
	ret = a->dp ? dp_service_foreach(a->dp, svc_cb, arr, &e)
		    : gerr_set(&e, -ENODEV, "the dataplane is not attached");
	pthread_mutex_unlock(&a->dp_lock);
	if (ret) {
		json_decref(arr);
		json_decref(doc);
		if (asprintf(&s, "dataplane services: %s\n", e.msg) < 0)
			return MHD_NO;
		return reply(c, 503, "text/plain", s);
	}
	json_object_set_new(doc, "services", arr);
	s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (!s)
		return reply(c, 500, "text/plain", strdup("out of memory\n"));
	return reply(c, 200, "application/json", s);
}
