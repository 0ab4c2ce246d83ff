/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target for the NetworkPolicy engine (make fuzz-policy). The
 * input is a JSON document: a NetworkPolicy, or an array of them. Each is
 * validated and upserted into an engine holding a small fixed cluster;
 * then, besides ASan/UBSan catching memory errors, the target checks the
 * engine's own invariants and aborts when one breaks:
 *   - a policy pol_validate() rejects is rejected by pol_upsert_policy()
 *     with the same message and leaves nothing behind;
 *   - the compiled entries agree with pol_trace on a set of connections;
 *   - the LPM key encoding answers like the entries;
 *   - a full recompute finds nothing the incremental path missed;
 *   - deleting every policy leaves every endpoint unenforced. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/policy.h"

static const char *const pods[][3] = {
	{ "a", "web", "{\"app\":\"web\",\"tier\":\"fe\"}" },
	{ "a", "db", "{\"app\":\"db\"}" },
	{ "b", "cli", "{\"app\":\"client\",\"tier\":\"fe\"}" },
	{ "b", "web", "{\"app\":\"web\"}" },
	{ "c", "x", "{}" },
};
static const char *const ips[] = { "10.244.0.2", "10.244.0.3", "10.244.1.2", "10.244.1.3",
				   "10.244.2.2" };
static const char *const outside[] = { "10.1.2.3", "192.168.0.1", "172.16.5.5", "8.8.8.8" };

static struct pol_engine *setup(void)
{
	struct pol_engine *e = pol_engine_new();
	struct pol_named_port ports[] = { { "http", POL_PROTO_TCP, 8080 },
					  { "dns", POL_PROTO_UDP, 53 } };
	json_t *l;

	l = json_loads("{\"team\":\"x\"}", 0, NULL);
	pol_upsert_namespace(e, "a", l, NULL);
	json_decref(l);
	l = json_loads("{\"team\":\"y\"}", 0, NULL);
	pol_upsert_namespace(e, "b", l, NULL);
	json_decref(l);
	for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
		l = json_loads(pods[i][2], 0, NULL);
		pol_upsert_pod(e, pods[i][0], pods[i][1], l, ips[i], ports, i % 2 ? 2 : 1, NULL);
		json_decref(l);
	}
	return e;
}

static bool entries_allow(struct pol_engine *e, int from, const char *from_ip, int to,
			  uint8_t proto, uint16_t port)
{
	uint32_t sid = from >= 0 ? pol_pod_identity(e, pods[from][0], pods[from][1])
				 : pol_ip_identity(e, from_ip);
	uint32_t did = pol_pod_identity(e, pods[to][0], pods[to][1]);

	if (from == to)
		return true;
	if (from >= 0 &&
	    !pol_rules_allow(pol_endpoint_rules(e, pods[from][0], pods[from][1], POL_EGRESS),
			     did, proto, port))
		return false;
	return pol_rules_allow(pol_endpoint_rules(e, pods[to][0], pods[to][1], POL_INGRESS),
			       sid, proto, port);
}

static void check_consistency(struct pol_engine *e)
{
	static const uint8_t protos[] = { POL_PROTO_TCP, POL_PROTO_UDP, POL_PROTO_SCTP };
	static const uint16_t ports[] = { 1, 53, 80, 443, 8080, 65535 };
	size_t np = sizeof(pods) / sizeof(pods[0]);
	struct pol_trace_result tr;
	struct pol_changes c;
	char from[64], to[64];

	for (size_t f = 0; f < np + 4; f++)
		for (size_t t = 0; t < np; t++)
			for (size_t pr = 0; pr < 3; pr++)
				for (size_t po = 0; po < 6; po++) {
					int fi = f < np ? (int)f : -1;
					const char *fip = f < np ? NULL : outside[f - np];
					bool want;

					if (fi >= 0)
						snprintf(from, sizeof(from), "%s/%s", pods[f][0], pods[f][1]);
					else
						snprintf(from, sizeof(from), "%s", fip);
					snprintf(to, sizeof(to), "%s/%s", pods[t][0], pods[t][1]);
					want = entries_allow(e, fi, fip, (int)t, protos[pr], ports[po]);
					if (pol_trace(e, from, to, protos[pr], ports[po], &tr, NULL) ||
					    tr.allowed != want) {
						fprintf(stderr, "entries=%d trace=%d\n%s", want, tr.allowed,
							tr.explain);
						abort();
					}
				}
	/* the proposed LPM encoding answers like the entries */
	for (size_t p = 0; p < np; p++)
		for (int d = 0; d < 2; d++) {
			const struct pol_rules *r = pol_endpoint_rules(e, pods[p][0], pods[p][1], d);
			static struct pol_lpm_key keys[4096];
			int n = pol_rules_lpm_keys(r, keys, 4096);

			if (n < 0 || n > 4096)
				continue;       /* more keys than this check holds */
			for (size_t f = 0; f < np + 4; f++) {
				uint32_t id = f < np ? pol_pod_identity(e, pods[f][0], pods[f][1])
						     : pol_ip_identity(e, outside[f - np]);

				for (size_t pr = 0; pr < 3; pr++)
					for (size_t po = 0; po < 6; po++) {
						bool want = pol_rules_allow(r, id, protos[pr], ports[po]);
						bool got = !r->enforced ||
							   pol_lpm_allow(keys, n, id, protos[pr], ports[po]);

						if (want != got) {
							fprintf(stderr, "lpm %d rules %d\n", got, want);
							abort();
						}
					}
			}
		}
	pol_changes_take(e, &c);
	pol_changes_free(&c);
	pol_recompute_all(e);
	pol_changes_take(e, &c);
	if (c.n_endpoints) {
		fprintf(stderr, "full recompute changed %s/%s\n", c.endpoints[0].ns,
			c.endpoints[0].name);
		abort();
	}
	pol_changes_free(&c);
}

static void one(struct pol_engine *e, const json_t *np, json_t *names)
{
	struct gerr v = { 0 }, u = { 0 };
	struct pol_stats before, after;
	int rv, ru;

	pol_get_stats(e, &before);
	rv = pol_validate(np, &v);
	ru = pol_upsert_policy(e, np, &u);
	pol_get_stats(e, &after);
	if (rv != ru || strcmp(v.msg, u.msg)) {
		fprintf(stderr, "validate %d \"%s\" vs upsert %d \"%s\"\n", rv, v.msg, ru, u.msg);
		abort();
	}
	if (ru && (after.policies != before.policies || after.recomputed != before.recomputed)) {
		fprintf(stderr, "rejected policy changed the engine\n");
		abort();
	}
	if (!ru) {
		const json_t *md = json_object_get(np, "metadata");
		const char *ns = json_string_value(json_object_get(md, "namespace"));

		json_array_append_new(names, json_pack("[ss]", ns && *ns ? ns : "default",
						       json_string_value(json_object_get(md, "name"))));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	json_t *names = json_array(), *x;
	struct pol_engine *e;
	size_t i;

	if (!doc) {
		json_decref(names);
		return 0;
	}
	e = setup();
	if (json_is_array(doc)) {
		json_array_foreach(doc, i, x) {
			if (i >= 16)
				break;
			one(e, x, names);
		}
	} else {
		one(e, doc, names);
	}
	check_consistency(e);
	json_array_foreach(names, i, x)
		pol_delete_policy(e, json_string_value(json_array_get(x, 0)),
				  json_string_value(json_array_get(x, 1)));
	for (size_t p = 0; p < sizeof(pods) / sizeof(pods[0]); p++)
		for (int d = 0; d < 2; d++)
			if (pol_endpoint_rules(e, pods[p][0], pods[p][1], d)->enforced) {
				fprintf(stderr, "still enforced after deleting every policy\n");
				abort();
			}
	pol_engine_free(e);
	json_decref(names);
	json_decref(doc);
	return 0;
}
