/* SPDX-License-Identifier: Apache-2.0 */
/* Services on the node, the pure part: Services + Endpoints + Nodes (API
 * objects) -> the frontends this node must program, each with its backends
 * and a fingerprint (equal fingerprint = nothing to reprogram). No I/O, no
 * BPF: unit-tested by tests/unit/svcmodel_test.c. Rules in docs/services.md
 * "Services on the node". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/services.h"
#include "common/nodeaddr.h"

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *jpath2(const json_t *o, const char *a, const char *b)
{
	return jstr(json_object_get(o, a), b);
}

/* ---- desired state ------------------------------------------------------------ */

static int proto_of(const char *p)
{
	if (!p || !strcmp(p, "TCP"))
		return IPPROTO_TCP;
	if (!strcmp(p, "UDP"))
		return IPPROTO_UDP;
	return -1;                 /* SCTP: not in the datapath */
}

static int be_cmp(const void *x, const void *y)
{
	const struct dp_backend *a = x, *b = y;

	if (a->ip != b->ip)
		return ntohl(a->ip) < ntohl(b->ip) ? -1 : 1;
	return (int)a->port - (int)b->port;
}

/* Ready backends of one service port from its Endpoints. Endpoints ports
 * carry the service port's name and the resolved targetPort number (named
 * targetPorts are resolved per pod by whoever wrote the Endpoints), so the
 * match is by name; a lone unnamed port matches the lone subset port. */
static size_t backends_of(const struct svc_model_in *in, const json_t *ep, const json_t *sp,
			  size_t n_svc_ports, int proto, struct dp_backend *out)
{
	const char *pname = jstr(sp, "name") ?: "";
	json_t *subsets = json_object_get(ep, "subsets"), *sub, *pp, *ad;
	size_t i, j, n = 0;

	json_array_foreach(subsets, i, sub) {
		json_t *ports = json_object_get(sub, "ports");
		long port = 0;

		json_array_foreach(ports, j, pp) {
			const char *n2 = jstr(pp, "name") ?: "";

			if (proto_of(jstr(pp, "protocol")) != proto)
				continue;
			if (!strcmp(n2, pname) ||
			    (n_svc_ports == 1 && json_array_size(ports) == 1))
				port = (long)json_integer_value(json_object_get(pp, "port"));
		}
		if (port <= 0 || port > 65535)
			continue;
		/* notReadyAddresses are never backends: a pod failing its
		 * readiness probe gets no new connections */
		json_array_foreach(json_object_get(sub, "addresses"), j, ad) {
			const char *ip = jstr(ad, "ip"), *node = jstr(ad, "nodeName"), *nip = NULL;
			struct dp_backend *b = &out[n];
			struct in_addr ia;

			if (n >= SVC_MAX_BACKENDS || !ip || inet_pton(AF_INET, ip, &ia) != 1)
				continue;
			memset(b, 0, sizeof(*b));
			b->ip = ia.s_addr;
			b->port = (uint16_t)port;
			if (node) {
				nip = node_internal_ip(json_object_get(in->nodes, node));
				b->local = in->node_name && !strcmp(node, in->node_name);
			}
			if (nip && inet_pton(AF_INET, nip, &ia) == 1)
				b->node_ip = ia.s_addr;
			else if (b->local)
				b->node_ip = in->node_ip;
			n++;
		}
	}
	qsort(out, n, sizeof(*out), be_cmp);
	/* the same address in two subsets counts once */
	for (i = 1, j = n ? 1 : 0; i < n; i++)
		if (be_cmp(&out[i], &out[j - 1]))
			out[j++] = out[i];
	return n ? j : 0;
}

void svc_fe_key(const struct dp_service *s, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &s->vip, ip, sizeof(ip));
	snprintf(buf, len, "%s:%u/%s/%s", ip, s->port, s->proto == IPPROTO_UDP ? "UDP" : "TCP",
		 s->scope == DP_SVC_SCOPE_EXTERNAL ? "external" : "cluster");
}

/* Everything dp_service_upsert takes, as text: equal text = nothing to do. */
static char *fingerprint(const struct dp_service *s, const struct dp_backend *be, size_t n)
{
	size_t cap = 64 + n * 48, len;
	char *p = malloc(cap), ip[INET_ADDRSTRLEN], nip[INET_ADDRSTRLEN];

	if (!p)
		return NULL;
	len = (size_t)snprintf(p, cap, "f=%u t=%u", s->flags, s->affinity_timeout);
	for (size_t i = 0; i < n; i++) {
		inet_ntop(AF_INET, &be[i].ip, ip, sizeof(ip));
		inet_ntop(AF_INET, &be[i].node_ip, nip, sizeof(nip));
		len += (size_t)snprintf(p + len, cap - len, " %s:%u@%s%s", ip, be[i].port, nip,
					be[i].local ? "L" : "");
	}
	return p;
}

static void want(struct svc_desired *d, const struct dp_service *s, const struct dp_backend *be,
		 size_t n, const char *ns, const char *name, const char *port)
{
	char key[128], *fp = fingerprint(s, be, n);
	json_t *arr = json_array();

	if (!fp || !arr) {
		free(fp);
		json_decref(arr);
		return;
	}
	svc_fe_key(s, key, sizeof(key));
	json_object_set_new(d->fe, key, json_string(fp));
	json_object_set_new(d->svc, key, json_pack("[IIIIII]", (json_int_t)s->vip,
						   (json_int_t)s->port, (json_int_t)s->proto,
						   (json_int_t)s->scope, (json_int_t)s->flags,
						   (json_int_t)s->affinity_timeout));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_pack("[IIIb]", (json_int_t)be[i].ip,
						     (json_int_t)be[i].port,
						     (json_int_t)be[i].node_ip, be[i].local));
	json_object_set_new(d->be, key, arr);
	json_object_set_new(d->labels, key, json_pack("[sss]", ns, name, port));
	free(fp);
}

/* One Service -> its frontends. Headless services (clusterIP None) have
 * no VIP: DNS answers with pod IPs instead (dnssync.c). */
static void service_desired(const struct svc_model_in *in, const json_t *svc,
			    struct svc_desired *d, struct dp_backend *be)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *ns = jpath2(svc, "metadata", "namespace") ?: "",
		   *name = jpath2(svc, "metadata", "name") ?: "",
		   *cip = jstr(spec, "clusterIP"), *type = jstr(spec, "type") ?: "ClusterIP";
	json_t *ports = json_object_get(spec, "ports"), *sp, *x, *ep;
	bool external_ok = !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer");
	uint32_t flags = 0, timeout = 0;
	struct in_addr vip = { 0 };
	char ekey[400];
	size_t i, j;

	if (!strcmp(type, "ExternalName"))
		return;
	if (cip && strcmp(cip, "None") && inet_pton(AF_INET, cip, &vip) != 1)
		vip.s_addr = 0;
	if (jstr(spec, "sessionAffinity") && !strcmp(jstr(spec, "sessionAffinity"), "ClientIP")) {
		json_t *t = json_object_get(json_object_get(json_object_get(spec,
					"sessionAffinityConfig"), "clientIP"), "timeoutSeconds");

		flags |= DP_SVC_F_AFFINITY;
		timeout = json_is_integer(t) && json_integer_value(t) > 0 ?
			(uint32_t)json_integer_value(t) : 0;
	}
	snprintf(ekey, sizeof(ekey), "%s/%s", ns, name);
	ep = json_object_get(in->endpoints, ekey);
	json_array_foreach(ports, i, sp) {
		int proto = proto_of(jstr(sp, "protocol"));
		long port = (long)json_integer_value(json_object_get(sp, "port"));
		long np = (long)json_integer_value(json_object_get(sp, "nodePort"));
		struct dp_service s = { .proto = (uint8_t)proto, .port = (uint16_t)port,
					.flags = flags, .affinity_timeout = timeout };
		char pl[16];
		const char *plabel = jstr(sp, "name");
		size_t n;

		if (proto < 0 || port <= 0 || port > 65535)
			continue;
		if (!plabel || !*plabel) {
			snprintf(pl, sizeof(pl), "%ld", port);
			plabel = pl;
		}
		n = backends_of(in, ep, sp, json_array_size(ports), proto, be);
		if (vip.s_addr) {
			s.vip = vip.s_addr;
			s.scope = DP_SVC_SCOPE_CLUSTER;
			want(d, &s, be, n, ns, name, plabel);
		} else {
			continue;          /* headless: no frontend at all */
		}
		s.scope = DP_SVC_SCOPE_EXTERNAL;
		if (jstr(spec, "externalTrafficPolicy") &&
		    !strcmp(jstr(spec, "externalTrafficPolicy"), "Local"))
			s.flags |= DP_SVC_F_LOCAL_ONLY;
		if (external_ok && np > 0 && np <= 65535) {
			s.vip = in->node_ip;
			s.port = (uint16_t)np;
			want(d, &s, be, n, ns, name, plabel);
			s.port = (uint16_t)port;
		}
		json_array_foreach(json_object_get(spec, "externalIPs"), j, x) {
			struct in_addr ia;

			if (json_string_value(x) && inet_pton(AF_INET, json_string_value(x), &ia) == 1) {
				s.vip = ia.s_addr;
				want(d, &s, be, n, ns, name, plabel);
			}
		}
		if (!strcmp(type, "LoadBalancer"))
			json_array_foreach(json_object_get(json_object_get(json_object_get(svc,
						"status"), "loadBalancer"), "ingress"), j, x) {
				struct in_addr ia;

				if (jstr(x, "ip") && inet_pton(AF_INET, jstr(x, "ip"), &ia) == 1) {
					s.vip = ia.s_addr;
					want(d, &s, be, n, ns, name, plabel);
				}
			}
	}
}

int svc_desired_build(const struct svc_model_in *in, struct svc_desired *d)
{
	struct dp_backend *be = calloc(SVC_MAX_BACKENDS, sizeof(*be));
	const char *key;
	json_t *v;

	d->fe = json_object();
	d->svc = json_object();
	d->be = json_object();
	d->labels = json_object();
	if (!be || !d->fe || !d->svc || !d->be || !d->labels) {
		free(be);
		svc_desired_free(d);
		return -ENOMEM;
	}
	json_object_foreach((json_t *)in->services, key, v)
		service_desired(in, v, d, be);
	free(be);
	return 0;
}

void svc_desired_free(struct svc_desired *d)
{
	json_decref(d->fe);
	json_decref(d->svc);
	json_decref(d->be);
	json_decref(d->labels);
	memset(d, 0, sizeof(*d));
}
