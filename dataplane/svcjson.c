/* SPDX-License-Identifier: Apache-2.0 */
/* A programmed service as JSON (see svcjson.h). */
#include "dataplane/svcjson.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static json_t *ip_json(uint32_t ip)
{
	struct in_addr a = { ip };
	char buf[INET_ADDRSTRLEN];

	return json_string(inet_ntop(AF_INET, &a, buf, sizeof(buf)) ? buf : "?");
}

json_t *dp_service_json(const struct dp_service *svc, const struct dp_backend *be,
			const uint32_t *slots, size_t n, const struct dp_service_stats *st)
{
	json_t *o = json_object(), *bes = json_array();

	if (!o || !bes)
		goto nomem;
	json_object_set_new(o, "id", json_integer(svc->id));
	json_object_set_new(o, "vip", ip_json(svc->vip));
	json_object_set_new(o, "port", json_integer(svc->port));
	json_object_set_new(o, "scope", json_string(svc->scope ? "external" : "cluster"));
	json_object_set_new(o, "sessionAffinity",
			    json_string(svc->flags & DP_SVC_F_AFFINITY ? "ClientIP" : "None"));
	/* the maps hold the resolved timeout; 0 only from a hand-made entry */
	if (svc->flags & DP_SVC_F_AFFINITY)
		json_object_set_new(o, "affinityTimeoutSeconds",
				    json_integer(svc->affinity_timeout ? svc->affinity_timeout : 10800));
	json_object_set_new(o, "externalTrafficPolicy",
			    json_string(svc->flags & DP_SVC_F_LOCAL_ONLY ? "Local" : "Cluster"));
	json_object_set_new(o, "packets", json_integer((json_int_t)st->packets));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	for (size_t i = 0; i < n; i++) {
		json_t *j = json_object();

		if (!j || json_array_append_new(bes, j))
			goto nomem;
		json_object_set_new(j, "ip", ip_json(be[i].ip));
		json_object_set_new(j, "port", json_integer(be[i].port));
		if (be[i].node_ip)
			json_object_set_new(j, "nodeIP", ip_json(be[i].node_ip));
		json_object_set_new(j, "local", json_boolean(be[i].local));
		json_object_set_new(j, "maglevSlots", json_integer(slots[i]));
	}
	json_object_set_new(o, "backends", bes);
	return o;
nomem:
	json_decref(o);
	json_decref(bes);
	return NULL;
}
