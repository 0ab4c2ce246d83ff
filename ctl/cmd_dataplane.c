/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl dataplane services [--node N] [-o json]: the services as
 * programmed in a node's BPF maps (frontends, backends with their share of
 * the Maglev table, per-service packet and byte counters), from the
 * agent's GET /dataplane/services through the API server's node proxy.
 * The maps know addresses, not names: frontends are matched to Service
 * objects here (clusterIP, externalIPs and load-balancer IPs by
 * address:port, NodePorts by port), so a frontend the API no longer has
 * shows as "<none>": a stale entry worth looking at. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

static const char *const svc_header[] = {
	"NODE", "SERVICE", "FRONTEND", "AFFINITY", "PACKETS", "BYTES", "BACKENDS",
};
#define SVC_COLS (sizeof(svc_header) / sizeof(svc_header[0]))

/* "ip:port/PROTO" -> "ns/name:port" for every address a Service answers on;
 * "*:nodePort/PROTO" for NodePorts (any node address). */
static json_t *service_names(struct ctl *c)
{
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	json_t *m = json_object(), *svc, *pt;
	size_t i, j;

	if (apiclient_get(c->api, "/api/v1/services", &r, &err) || !api_ok(&r)) {
		fprintf(stderr, "warning: cannot list services, names not shown: %s\n",
			err.msg[0] ? err.msg : r.message);
		api_resp_free(&r);
		return m;
	}
	json_array_foreach(json_object_get(r.body, "items"), i, svc) {
		const char *ns = ctl_jpath_str(svc, "metadata.namespace") ?: "";
		const char *name = ctl_jpath_str(svc, "metadata.name") ?: "";
		const json_t *spec = json_object_get(svc, "spec");

		json_array_foreach(json_object_get(spec, "ports"), j, pt) {
			const char *proto = json_string_value(json_object_get(pt, "protocol")) ?: "TCP";
			const char *pname = json_string_value(json_object_get(pt, "name"));
			json_int_t port = json_integer_value(json_object_get(pt, "port"));
			json_int_t np = json_integer_value(json_object_get(pt, "nodePort"));
			char key[128], val[600], pstr[32];
			const json_t *ips[3] = { NULL, json_object_get(spec, "externalIPs"), NULL };
			json_t *ip, *ing;
			size_t k;

			snprintf(pstr, sizeof(pstr), "%lld", (long long)port);
			snprintf(val, sizeof(val), "%s/%s:%s", ns, name, pname && *pname ? pname : pstr);
			if (json_string_value(json_object_get(spec, "clusterIP"))) {
				snprintf(key, sizeof(key), "%s:%lld/%s",
					 json_string_value(json_object_get(spec, "clusterIP")),
					 (long long)port, proto);
				json_object_set_new(m, key, json_string(val));
			}
			json_array_foreach(ips[1], k, ip) {
				snprintf(key, sizeof(key), "%s:%lld/%s", json_string_value(ip) ?: "",
					 (long long)port, proto);
				json_object_set_new(m, key, json_string(val));
			}
			json_array_foreach(ctl_jpath(svc, "status.loadBalancer.ingress"), k, ing) {
				snprintf(key, sizeof(key), "%s:%lld/%s",
					 json_string_value(json_object_get(ing, "ip")) ?: "",
					 (long long)port, proto);
				json_object_set_new(m, key, json_string(val));
			}
			if (np) {
				snprintf(key, sizeof(key), "*:%lld/%s", (long long)np, proto);
				json_object_set_new(m, key, json_string(val));
			}
		}
	}
	api_resp_free(&r);
	return m;
}

static const char *name_of(json_t *names, const json_t *s)
{
	const char *vip = json_string_value(json_object_get(s, "vip")) ?: "";
	const char *proto = json_string_value(json_object_get(s, "protocol")) ?: "";
	json_int_t port = json_integer_value(json_object_get(s, "port"));
	const char *scope = json_string_value(json_object_get(s, "scope")) ?: "";
	char key[128];
	const char *n;

	snprintf(key, sizeof(key), "%s:%lld/%s", vip, (long long)port, proto);
	n = json_string_value(json_object_get(names, key));
	if (!n && !strcmp(scope, "external")) {
		snprintf(key, sizeof(key), "*:%lld/%s", (long long)port, proto);
		n = json_string_value(json_object_get(names, key));
	}
	return n;
}

static void backends_cell(const json_t *s, long long msize, char *buf, size_t len)
{
	const json_t *bes = json_object_get(s, "backends"), *b;
	size_t i, o = 0;

	buf[0] = 0;
	if (!json_array_size(bes)) {
		snprintf(buf, len, "<none>");
		return;
	}
	json_array_foreach(bes, i, b) {
		long long slots = (long long)json_integer_value(json_object_get(b, "maglevSlots"));
		int w = snprintf(buf + o, len - o, "%s%s:%lld (%lld%%%s)", i ? ", " : "",
				 json_string_value(json_object_get(b, "ip")) ?: "?",
				 (long long)json_integer_value(json_object_get(b, "port")),
				 msize ? (slots * 100 + msize / 2) / msize : 0,
				 json_is_true(json_object_get(b, "local")) ? ", local" : "");

		if (w < 0 || (size_t)w >= len - o)
			break;
		o += (size_t)w;
	}
}

static int services(struct ctl *c)
{
	bool json = c->o.output && !strcmp(c->o.output, "json");
	json_t *nodes = json_array(), *out = json_array(), *names, *it;
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	struct table t;
	size_t i, failed = 0;
	int ret;

	if (c->o.output && !json) {
		fprintf(stderr, "error: dataplane services prints a table or -o json\n");
		return CTL_EXIT_USAGE;
	}
	ret = ctl_connect(c);
	if (ret)
		goto out_nt;
	if (c->o.node) {
		json_array_append_new(nodes, json_string(c->o.node));
	} else {
		ret = ctl_node_names(c, nodes);
		if (ret)
			goto out_nt;
	}
	names = service_names(c);
	if (table_init(&t, SVC_COLS, svc_header)) {
		json_decref(names);
		ret = CTL_EXIT_ERR;
		goto out_nt;
	}
	json_array_foreach(nodes, i, it) {
		const char *node = json_string_value(it);
		char path[512], en[300];
		json_t *doc, *s;
		long long msize;
		size_t j;

		snprintf(path, sizeof(path), "/api/v1/nodes/%s/proxy/dataplane/services",
			 apiclient_escape(node, en, sizeof(en)));
		memset(&r, 0, sizeof(r));
		if (apiclient_get(c->api, path, &r, &err)) {
			fprintf(stderr, "error: node %s: %s\n", node, err.msg);
			failed++;
			continue;
		}
		if (!api_ok(&r)) {
			ctl_print_api_error(&r, node);
			api_resp_free(&r);
			failed++;
			continue;
		}
		doc = r.body ? json_incref(r.body) : json_loads(r.raw ? r.raw : "", 0, NULL);
		api_resp_free(&r);
		if (!json_is_object(doc)) {
			fprintf(stderr, "error: node %s: the agent's answer is not JSON\n", node);
			json_decref(doc);
			failed++;
			continue;
		}
		msize = (long long)json_integer_value(json_object_get(doc, "maglevSize"));
		json_array_foreach(json_object_get(doc, "services"), j, s) {
			const char *n = name_of(names, s);
			char pk[32], by[32], be[4096], aff[48];
			const char *row[SVC_COLS];

			if (json) {
				json_object_set_new(s, "service", n ? json_string(n) : json_null());
				continue;
			}
			snprintf(pk, sizeof(pk), "%lld",
				 (long long)json_integer_value(json_object_get(s, "packets")));
			snprintf(by, sizeof(by), "%lld",
				 (long long)json_integer_value(json_object_get(s, "bytes")));
			snprintf(aff, sizeof(aff), "%s",
				 json_string_value(json_object_get(s, "sessionAffinity")) ?: "None");
			backends_cell(s, msize, be, sizeof(be));
			row[0] = node;
			row[1] = n ? n : "<none>";
			row[2] = json_string_value(json_object_get(s, "frontend")) ?: "?";
			row[3] = aff;
			row[4] = pk;
			row[5] = by;
			row[6] = be;
			table_add_row(&t, row);
		}
		if (json) {
			if (!json_object_get(doc, "node"))
				json_object_set_new(doc, "node", json_string(node));
			json_array_append(out, doc);
		}
		json_decref(doc);
	}
	if (json) {
		json_t *o = json_pack("{s:O}", "nodes", out);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else if (t.nrows > 1) {
		table_print(&t, stdout, !c->o.no_headers);
	} else if (failed < json_array_size(nodes)) {
		fprintf(stderr, "No services programmed.\n");
	}
	if (failed)
		ret = CTL_EXIT_ERR;
	table_free(&t);
	json_decref(names);
out_nt:
	json_decref(nodes);
	json_decref(out);
	return ret;
}

int cmd_dataplane(struct ctl *c, int argc, char **argv)
{
	if (argc != 1 || strcmp(argv[0], "services")) {
		fprintf(stderr, "error: expected \"dataplane services [--node NODE]\"\n");
		return CTL_EXIT_USAGE;
	}
	return services(c);
}
