/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the NetworkPolicy engine (policies/): every semantic of
 * networking.k8s.io/v1 NetworkPolicy the engine implements, checked twice
 * per connection (the compiled per-endpoint entries, as the datapath will
 * use them, and pol_trace, which reads the policies directly; the two must
 * agree), incremental change sets, identities, ipcache and validation
 * errors. A randomized test checks that incremental updates always equal a
 * full recompute. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policies/policy.h"
#include "tests/unit/test.h"

/* ---- helpers -------------------------------------------------------------- */

/* "a=b,c=d" -> {"a":"b","c":"d"} */
static json_t *L(const char *s)
{
	json_t *o = json_object();
	char *dup = strdup(s), *save = NULL;

	for (char *kv = strtok_r(dup, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			continue;
		*eq = '\0';
		json_object_set_new(o, kv, json_string(eq + 1));
	}
	free(dup);
	return o;
}

static void ns(struct pol_engine *e, const char *name, const char *labels)
{
	json_t *l = L(labels);

	CHECK_EQ(pol_upsert_namespace(e, name, l, NULL), 0);
	json_decref(l);
}

static void pod_ports(struct pol_engine *e, const char *nsn, const char *name, const char *labels,
		      const char *ip, const struct pol_named_port *ports, size_t n)
{
	json_t *l = L(labels);
	struct gerr err = { 0 };

	CHECK_EQ(pol_upsert_pod(e, nsn, name, l, ip, ports, n, &err), 0);
	if (err.code)
		fprintf(stderr, "pod: %s\n", err.msg);
	json_decref(l);
}

static void pod(struct pol_engine *e, const char *nsn, const char *name, const char *labels,
		const char *ip)
{
	pod_ports(e, nsn, name, labels, ip, NULL, 0);
}

static int np(struct pol_engine *e, const char *json)
{
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);
	struct gerr err = { 0 };
	int ret;

	if (!j) {
		fprintf(stderr, "bad test JSON: %s: %s\n", jerr.text, json);
		return -999;
	}
	ret = pol_upsert_policy(e, j, &err);
	if (ret)
		fprintf(stderr, "policy: %s\n", err.msg);
	json_decref(j);
	return ret;
}

#define NP(e, ...) CHECK_EQ(np(e, #__VA_ARGS__), 0)

static void split(const char *s, char *nsn, char *name)
{
	const char *slash = strchr(s, '/');

	snprintf(nsn, 64, "%.*s", (int)(slash - s), s);
	snprintf(name, 64, "%s", slash + 1);
}

static bool is_pod_ref(const char *s)
{
	return strchr(s, '/') != NULL;
}

/* Verdict from the compiled entries (src egress && dst ingress, with the
 * datapath's identities), cross-checked against pol_trace. */
static bool conn_line(struct pol_engine *e, const char *from, const char *to, uint8_t proto,
		      uint16_t port, int line)
{
	char a[64], b[64];
	uint32_t sid, did;
	bool ok = true;
	struct pol_trace_result tr;
	struct gerr err = { 0 };

	if (!strcmp(from, "host")) {
		sid = POL_ID_HOST;
	} else if (is_pod_ref(from)) {
		split(from, a, b);
		sid = pol_pod_identity(e, a, b);
	} else {
		sid = pol_ip_identity(e, from);
	}
	if (is_pod_ref(to)) {
		split(to, a, b);
		did = pol_pod_identity(e, a, b);
	} else {
		did = pol_ip_identity(e, to);
	}
	if (is_pod_ref(from) && strcmp(from, to)) {
		split(from, a, b);
		ok = pol_rules_allow(pol_endpoint_rules(e, a, b, POL_EGRESS), did, proto, port);
	}
	if (is_pod_ref(to) && strcmp(from, to)) {
		split(to, a, b);
		ok = ok && pol_rules_allow(pol_endpoint_rules(e, a, b, POL_INGRESS), sid, proto, port);
	}
	if (pol_trace(e, from, to, proto, port, &tr, &err)) {
		fprintf(stderr, "line %d: trace failed: %s\n", line, err.msg);
		t_failed++;
	} else if (tr.allowed != ok) {
		fprintf(stderr, "line %d: entries say %d, trace says %d:\n%s", line, ok, tr.allowed,
			tr.explain);
		t_failed++;
	}
	return ok;
}

#define ALLOW(e, f, t, pr, po) CHECK(conn_line(e, f, t, pr, po, __LINE__))
#define DENY(e, f, t, pr, po) CHECK(!conn_line(e, f, t, pr, po, __LINE__))
#define TCP POL_PROTO_TCP
#define UDP POL_PROTO_UDP
#define SCTP POL_PROTO_SCTP

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Endpoints changed since the last call, sorted: "a/x,-b/y" (- = removed). */
static char *changed(struct pol_engine *e)
{
	static char buf[4096];
	struct pol_changes c;
	char **names;

	pol_changes_take(e, &c);
	names = calloc(c.n_endpoints + 1, sizeof(*names));
	for (size_t i = 0; i < c.n_endpoints; i++)
		if (asprintf(&names[i], "%s%s/%s", c.endpoints[i].removed ? "-" : "",
			     c.endpoints[i].ns, c.endpoints[i].name) < 0)
			names[i] = NULL;
	qsort(names, c.n_endpoints, sizeof(*names), str_cmp);
	buf[0] = '\0';
	for (size_t i = 0; i < c.n_endpoints; i++) {
		if (i)
			strcat(buf, ",");
		strncat(buf, names[i], sizeof(buf) - strlen(buf) - 2);
		free(names[i]);
	}
	free(names);
	pol_changes_free(&c);
	return buf;
}

static uint64_t recomputed(struct pol_engine *e)
{
	struct pol_stats st;

	pol_get_stats(e, &st);
	return st.recomputed;
}

static uint64_t refreshed(struct pol_engine *e)
{
	struct pol_stats st;

	pol_get_stats(e, &st);
	return st.refreshed;
}

/* A small cluster: namespaces prod (team=a) and dev (team=b), pods:
 *   prod/web   app=web         10.244.0.10
 *   prod/db    app=db          10.244.0.11
 *   prod/cli   app=client      10.244.0.12
 *   dev/cli    app=client      10.244.1.12
 *   dev/tool   app=tool        10.244.1.13 */
static struct pol_engine *cluster(void)
{
	struct pol_engine *e = pol_engine_new();

	ns(e, "prod", "team=a");
	ns(e, "dev", "team=b");
	pod(e, "prod", "web", "app=web", "10.244.0.10");
	pod(e, "prod", "db", "app=db", "10.244.0.11");
	pod(e, "prod", "cli", "app=client", "10.244.0.12");
	pod(e, "dev", "cli", "app=client", "10.244.1.12");
	pod(e, "dev", "tool", "app=tool", "10.244.1.13");
	changed(e);
	return e;
}

/* ---- semantics -------------------------------------------------------------- */

static void test_unrestricted_without_policy(void)
{
	struct pol_engine *e = cluster();

	CHECK(!pol_endpoint_rules(e, "prod", "web", POL_INGRESS)->enforced);
	CHECK(!pol_endpoint_rules(e, "prod", "web", POL_EGRESS)->enforced);
	ALLOW(e, "dev/tool", "prod/web", TCP, 80);
	ALLOW(e, "prod/web", "8.8.8.8", UDP, 53);
	ALLOW(e, "1.2.3.4", "prod/db", TCP, 5432);
	pol_engine_free(e);
}

static void test_empty_pod_selector_deny_all(void)
{
	struct pol_engine *e = cluster();

	NP(e, {"metadata":{"name":"deny","namespace":"prod"},"spec":{"podSelector":{}}});
	/* every prod pod isolated for ingress, none for egress, dev untouched */
	CHECK(pol_endpoint_rules(e, "prod", "web", POL_INGRESS)->enforced);
	CHECK(pol_endpoint_rules(e, "prod", "db", POL_INGRESS)->enforced);
	CHECK(!pol_endpoint_rules(e, "prod", "web", POL_EGRESS)->enforced);
	CHECK(!pol_endpoint_rules(e, "dev", "tool", POL_INGRESS)->enforced);
	DENY(e, "dev/tool", "prod/web", TCP, 80);
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	DENY(e, "1.2.3.4", "prod/web", TCP, 80);
	ALLOW(e, "prod/web", "dev/tool", TCP, 80);
	ALLOW(e, "prod/cli", "dev/cli", UDP, 53);
	CHECK_STR(changed(e), "prod/cli,prod/db,prod/web");
	pol_engine_free(e);
}

static void test_policy_types_defaults(void)
{
	struct pol_engine *e = cluster();

	/* egress rules, no policyTypes -> Ingress and Egress */
	NP(e, {"metadata":{"name":"p1","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "egress":[{"to":[{"podSelector":{"matchLabels":{"app":"db"}}}]}]}});
	CHECK(pol_endpoint_rules(e, "prod", "web", POL_INGRESS)->enforced);
	CHECK(pol_endpoint_rules(e, "prod", "web", POL_EGRESS)->enforced);
	ALLOW(e, "prod/web", "prod/db", TCP, 5432);
	DENY(e, "prod/web", "prod/cli", TCP, 80);
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	/* only ingress rules -> Ingress only */
	NP(e, {"metadata":{"name":"p2","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{}]}});
	CHECK(pol_endpoint_rules(e, "prod", "db", POL_INGRESS)->enforced);
	CHECK(!pol_endpoint_rules(e, "prod", "db", POL_EGRESS)->enforced);
	ALLOW(e, "dev/tool", "prod/db", TCP, 1);   /* ingress: [{}] allows all */
	/* egress: [] without policyTypes -> no Egress type */
	NP(e, {"metadata":{"name":"p3","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"client"}},
	       "egress":[]}});
	CHECK(!pol_endpoint_rules(e, "prod", "cli", POL_EGRESS)->enforced);
	CHECK(pol_endpoint_rules(e, "prod", "cli", POL_INGRESS)->enforced);
	/* explicit policyTypes [Egress]: ingress stays open even with ingress rules */
	NP(e, {"metadata":{"name":"p4","namespace":"dev"},"spec":{"podSelector":{},"policyTypes":["Egress"],
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"none"}}}]}]}});
	CHECK(!pol_endpoint_rules(e, "dev", "tool", POL_INGRESS)->enforced);
	CHECK(pol_endpoint_rules(e, "dev", "tool", POL_EGRESS)->enforced);
	ALLOW(e, "prod/cli", "dev/tool", TCP, 22);
	DENY(e, "dev/tool", "8.8.8.8", UDP, 53);
	DENY(e, "dev/tool", "dev/cli", UDP, 53);
	pol_engine_free(e);
}

static void test_pod_selector_peer_is_namespace_local(void)
{
	struct pol_engine *e = cluster();

	NP(e, {"metadata":{"name":"web","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}]}]}});
	ALLOW(e, "prod/cli", "prod/web", TCP, 80);
	DENY(e, "dev/cli", "prod/web", TCP, 80);    /* same labels, other namespace */
	DENY(e, "prod/db", "prod/web", TCP, 80);
	ALLOW(e, "prod/cli", "prod/db", TCP, 80);   /* db not selected */
	pol_engine_free(e);
}

static void test_namespace_selector(void)
{
	struct pol_engine *e = cluster();

	NP(e, {"metadata":{"name":"web","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"b"}}}]}]}});
	ALLOW(e, "dev/cli", "prod/web", TCP, 80);
	ALLOW(e, "dev/tool", "prod/web", TCP, 80);
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	/* the kubernetes.io/metadata.name label is always there */
	NP(e, {"metadata":{"name":"db","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"prod"}}}]}]}});
	ALLOW(e, "prod/web", "prod/db", TCP, 5432);
	DENY(e, "dev/tool", "prod/db", TCP, 5432);
	/* namespaceSelector {} = every namespace, pods only (not outside IPs) */
	NP(e, {"metadata":{"name":"cli","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"client"}},
	       "ingress":[{"from":[{"namespaceSelector":{}}]}]}});
	ALLOW(e, "dev/tool", "prod/cli", TCP, 1);
	ALLOW(e, "prod/db", "prod/cli", TCP, 1);
	DENY(e, "1.2.3.4", "prod/cli", TCP, 1);
	pol_engine_free(e);
}

static void test_and_vs_or_peers(void)
{
	struct pol_engine *e = cluster();

	/* one peer with both selectors: client pods in team=b namespaces */
	NP(e, {"metadata":{"name":"and","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"b"}},
				    "podSelector":{"matchLabels":{"app":"client"}}}]}]}});
	ALLOW(e, "dev/cli", "prod/web", TCP, 80);
	DENY(e, "dev/tool", "prod/web", TCP, 80);
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	/* two peers: team=b namespaces OR client pods of prod */
	NP(e, {"metadata":{"name":"or","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"b"}}},
				   {"podSelector":{"matchLabels":{"app":"client"}}}]}]}});
	ALLOW(e, "dev/cli", "prod/db", TCP, 80);
	ALLOW(e, "dev/tool", "prod/db", TCP, 80);
	ALLOW(e, "prod/cli", "prod/db", TCP, 80);
	DENY(e, "prod/web", "prod/db", TCP, 80);
	pol_engine_free(e);
}

static void test_match_expressions(void)
{
	struct pol_engine *e = cluster();

	pod(e, "prod", "a", "app=x,tier=fe", "10.244.0.20");
	pod(e, "prod", "b", "app=x,tier=be", "10.244.0.21");
	pod(e, "prod", "c", "app=x", "10.244.0.22");
	pod(e, "prod", "t", "app=target", "10.244.0.30");
	pod(e, "prod", "u", "app=target2", "10.244.0.31");
	NP(e, {"metadata":{"name":"in","namespace":"prod"},"spec":{"podSelector":{"matchExpressions":[
		{"key":"app","operator":"In","values":["target","target2"]}]},
	       "ingress":[{"from":[{"podSelector":{"matchExpressions":[{"key":"tier","operator":"In","values":["fe"]}]}}],
			   "ports":[{"port":1}]},
			  {"from":[{"podSelector":{"matchExpressions":[{"key":"tier","operator":"NotIn","values":["fe"]}]}}],
			   "ports":[{"port":2}]},
			  {"from":[{"podSelector":{"matchExpressions":[{"key":"tier","operator":"Exists"}]}}],
			   "ports":[{"port":3}]},
			  {"from":[{"podSelector":{"matchExpressions":[{"key":"tier","operator":"DoesNotExist"},
								       {"key":"app","operator":"In","values":["x"]}]}}],
			   "ports":[{"port":4}]}]}});
	ALLOW(e, "prod/a", "prod/t", TCP, 1);
	DENY(e, "prod/b", "prod/t", TCP, 1);
	DENY(e, "prod/a", "prod/t", TCP, 2);
	ALLOW(e, "prod/b", "prod/t", TCP, 2);
	ALLOW(e, "prod/c", "prod/t", TCP, 2);       /* NotIn matches a missing key */
	ALLOW(e, "prod/a", "prod/u", TCP, 3);
	ALLOW(e, "prod/b", "prod/u", TCP, 3);
	DENY(e, "prod/c", "prod/u", TCP, 3);
	ALLOW(e, "prod/c", "prod/t", TCP, 4);
	DENY(e, "prod/a", "prod/t", TCP, 4);
	DENY(e, "prod/web", "prod/t", TCP, 4);      /* no tier but app != x */
	ALLOW(e, "prod/web", "prod/a", TCP, 4);     /* a not selected (app=x) */
	pol_engine_free(e);
}

static void test_ipblock_except(void)
{
	struct pol_engine *e = cluster();
	struct pol_ipcache_change *ipc;
	size_t n;
	int found = 0;

	NP(e, {"metadata":{"name":"ext","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"ipBlock":{"cidr":"172.16.0.0/12","except":["172.17.0.0/16","172.18.5.0/24"]}}]}],
	       "egress":[{"to":[{"ipBlock":{"cidr":"192.168.1.77/24"}}],"ports":[{"port":443}]}]}});
	ALLOW(e, "172.16.0.1", "prod/web", TCP, 80);
	ALLOW(e, "172.31.255.255", "prod/web", TCP, 80);
	DENY(e, "172.17.3.4", "prod/web", TCP, 80);
	DENY(e, "172.18.5.9", "prod/web", TCP, 80);
	ALLOW(e, "172.18.6.9", "prod/web", TCP, 80);
	DENY(e, "172.32.0.1", "prod/web", TCP, 80);
	DENY(e, "10.0.0.1", "prod/web", TCP, 80);
	/* ipBlocks do not select pods: pods keep their own identity */
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	CHECK_EQ(pol_ip_identity(e, "172.17.3.4") >= POL_ID_CIDR_MIN, 1);
	CHECK_EQ(pol_ip_identity(e, "8.8.8.8"), POL_ID_WORLD);
	/* host bits of the cidr are cleared: 192.168.1.0/24 */
	ALLOW(e, "prod/web", "192.168.1.1", TCP, 443);
	DENY(e, "prod/web", "192.168.1.1", TCP, 80);
	DENY(e, "prod/web", "192.168.2.1", TCP, 443);
	DENY(e, "prod/web", "prod/db", TCP, 443);
	CHECK_EQ(pol_ipcache_dump(e, &ipc, &n), 0);
	for (size_t i = 0; i < n; i++)
		if ((ipc[i].ip == 0xac100000 && ipc[i].prefixlen == 12) ||
		    (ipc[i].ip == 0xac110000 && ipc[i].prefixlen == 16) ||
		    (ipc[i].ip == 0xac120500 && ipc[i].prefixlen == 24) ||
		    (ipc[i].ip == 0xc0a80100 && ipc[i].prefixlen == 24))
			found++;
	CHECK_EQ(found, 4);
	CHECK_EQ(n, 4 + 5);                          /* + the five pods */
	free(ipc);
	pol_engine_free(e);
}

static void test_ipblock_everything(void)
{
	struct pol_engine *e = cluster();

	/* 0.0.0.0/0 covers every address: no lookup ends in WORLD any more */
	NP(e, {"metadata":{"name":"out","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "policyTypes":["Egress"],
	       "egress":[{"to":[{"ipBlock":{"cidr":"0.0.0.0/0","except":["10.0.0.0/8"]}}],"ports":[{"port":443}]}]}});
	CHECK(pol_ip_identity(e, "8.8.8.8") >= POL_ID_CIDR_MIN);
	ALLOW(e, "prod/web", "8.8.8.8", TCP, 443);
	ALLOW(e, "prod/web", "255.255.255.254", TCP, 443);
	DENY(e, "prod/web", "8.8.8.8", TCP, 80);
	DENY(e, "prod/web", "10.1.1.1", TCP, 443);
	DENY(e, "prod/web", "prod/db", TCP, 443);   /* pods are not ipBlock addresses */
	CHECK_EQ(pol_delete_policy(e, "prod", "out"), 0);
	CHECK_EQ(pol_ip_identity(e, "8.8.8.8"), POL_ID_WORLD);
	ALLOW(e, "prod/web", "8.8.8.8", TCP, 80);
	pol_engine_free(e);
}

static void test_overlapping_ipblocks(void)
{
	struct pol_engine *e = cluster();
	struct pol_changes c;
	struct pol_stats st;

	/* web: 10/8 except 10.1/16; db: 10.1/16 except 10.1.2/24; web also
	 * 10.1.2/24 via a second policy. Every prefix gets its identity and
	 * longest-prefix match composes them. */
	NP(e, {"metadata":{"name":"a","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.1.0.0/16"]}}]}]}});
	NP(e, {"metadata":{"name":"b","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{"from":[{"ipBlock":{"cidr":"10.1.0.0/16","except":["10.1.2.0/24"]}}]}]}});
	NP(e, {"metadata":{"name":"c","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"ipBlock":{"cidr":"10.1.2.0/24"}}]}]}});
	pol_get_stats(e, &st);
	CHECK_EQ(st.cidr_identities, 3);
	ALLOW(e, "10.9.9.9", "prod/web", TCP, 80);
	DENY(e, "10.1.3.1", "prod/web", TCP, 80);
	ALLOW(e, "10.1.2.5", "prod/web", TCP, 80);
	ALLOW(e, "10.1.3.1", "prod/db", TCP, 80);
	DENY(e, "10.1.2.5", "prod/db", TCP, 80);
	DENY(e, "10.9.9.9", "prod/db", TCP, 80);
	/* pod IPs in the cluster CIDR are not matched by the 10/8 block */
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	changed(e);
	/* A fourth block nested inside a's: splits a's LPM, so web (selected
	 * by a) must learn the new identity although the new policy selects
	 * only db. */
	NP(e, {"metadata":{"name":"d","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{"from":[{"ipBlock":{"cidr":"10.5.0.0/16"}}]}]}});
	CHECK_STR(changed(e), "prod/db,prod/web");
	ALLOW(e, "10.5.1.1", "prod/web", TCP, 80);
	ALLOW(e, "10.5.1.1", "prod/db", TCP, 80);
	/* deleting b keeps 10.1/16 (a's except) but drops 10.1.2/24's second
	 * reference only */
	CHECK_EQ(pol_delete_policy(e, "prod", "b"), 0);
	pol_get_stats(e, &st);
	CHECK_EQ(st.cidr_identities, 4);
	DENY(e, "10.1.3.1", "prod/db", TCP, 80);
	DENY(e, "10.1.3.1", "prod/web", TCP, 80);
	ALLOW(e, "10.1.2.5", "prod/web", TCP, 80);
	changed(e);
	CHECK_EQ(pol_delete_policy(e, "prod", "c"), 0);
	pol_changes_take(e, &c);
	CHECK_EQ(c.n_ids_released, 1);                /* 10.1.2.0/24 */
	CHECK_EQ(c.n_ipcache, 1);
	CHECK_EQ(c.n_ipcache ? c.ipcache[0].identity : 99, 0);
	CHECK_EQ(c.n_ipcache ? c.ipcache[0].ip : 0, 0x0a010200);
	pol_changes_free(&c);
	DENY(e, "10.1.2.5", "prod/web", TCP, 80);
	pol_engine_free(e);
}

static void test_ports_protocols_endport(void)
{
	struct pol_engine *e = cluster();
	const struct pol_rules *r;
	struct pol_port_block blk[32];
	int n;

	NP(e, {"metadata":{"name":"p","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"ports":[{"port":80},{"protocol":"UDP","port":53},{"protocol":"SCTP","port":9},
				    {"protocol":"TCP","port":8000,"endPort":8100},{"protocol":"UDP"}]}]}});
	ALLOW(e, "dev/tool", "prod/web", TCP, 80);
	ALLOW(e, "dev/tool", "prod/web", UDP, 80);     /* {protocol: UDP}: all UDP */
	DENY(e, "dev/tool", "prod/web", SCTP, 80);
	ALLOW(e, "dev/tool", "prod/web", UDP, 53);
	ALLOW(e, "dev/tool", "prod/web", SCTP, 9);
	DENY(e, "dev/tool", "prod/web", TCP, 9);
	ALLOW(e, "dev/tool", "prod/web", TCP, 8000);
	ALLOW(e, "dev/tool", "prod/web", TCP, 8050);
	ALLOW(e, "dev/tool", "prod/web", TCP, 8100);
	DENY(e, "dev/tool", "prod/web", TCP, 7999);
	DENY(e, "dev/tool", "prod/web", TCP, 8101);
	ALLOW(e, "dev/tool", "prod/web", UDP, 12345);   /* UDP with no port: all UDP */
	ALLOW(e, "1.2.3.4", "prod/web", TCP, 80);      /* no from: every source */
	r = pol_endpoint_rules(e, "prod", "web", POL_INGRESS);
	CHECK(r && r->enforced);
	CHECK_EQ(r ? r->n : 0, 6);                     /* 5 + host */
	/* 8000-8100: 8000/10 (8000-8063) 8064/11 8096/14 8100/16 */
	n = pol_port_blocks(8000, 8100, blk, 32);
	CHECK_EQ(n, 4);
	CHECK_EQ(blk[0].port, 8000);
	CHECK_EQ(blk[0].prefixlen, 10);
	CHECK_EQ(blk[3].port, 8100);
	CHECK_EQ(blk[3].prefixlen, 16);
	CHECK_EQ(pol_port_blocks(0, 65535, blk, 32), 1);
	CHECK_EQ(blk[0].prefixlen, 0);
	CHECK_EQ(pol_port_blocks(1, 65535, blk, 32), 16);
	CHECK_EQ(pol_port_blocks(443, 443, blk, 32), 1);
	CHECK_EQ(blk[0].prefixlen, 16);
	/* exhaustive: blocks tile [lo,hi] exactly, without overlap */
	for (int t = 0; t < 300; t++) {
		uint16_t lo = (uint16_t)(rand() % 65536), hi = (uint16_t)(lo + rand() % (65536 - lo));
		uint32_t next = lo;
		bool ok = true;

		n = pol_port_blocks(lo, hi, blk, 32);
		ok = n >= 1 && n <= 32;
		for (int i = 0; ok && i < n; i++) {
			uint32_t size = 1U << (16 - blk[i].prefixlen);

			ok = blk[i].port == next && (blk[i].port & (size - 1)) == 0;
			next += size;
		}
		CHECK(ok && next == (uint32_t)hi + 1);
	}
	pol_engine_free(e);
}

static void test_named_ports_ingress(void)
{
	struct pol_engine *e = cluster();
	struct pol_named_port p1[] = { { "http", TCP, 8080 }, { "dns", UDP, 5353 } };
	struct pol_named_port p2[] = { { "http", TCP, 9090 } };

	pod_ports(e, "prod", "web", "app=web", "10.244.0.10", p1, 2);
	pod_ports(e, "prod", "web2", "app=web", "10.244.0.40", p2, 1);
	NP(e, {"metadata":{"name":"p","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"ports":[{"port":"http"},{"port":"dns","protocol":"UDP"},{"port":"dns"}]}]}});
	ALLOW(e, "dev/tool", "prod/web", TCP, 8080);
	DENY(e, "dev/tool", "prod/web", TCP, 9090);
	ALLOW(e, "dev/tool", "prod/web2", TCP, 9090);
	DENY(e, "dev/tool", "prod/web2", TCP, 8080);
	ALLOW(e, "dev/tool", "prod/web", UDP, 5353);
	DENY(e, "dev/tool", "prod/web", TCP, 5353);  /* "dns" is UDP: no TCP match */
	DENY(e, "dev/tool", "prod/web2", UDP, 5353);
	/* the port moves: only web's entries change */
	changed(e);
	p1[0].port = 8081;
	pod_ports(e, "prod", "web", "app=web", "10.244.0.10", p1, 2);
	CHECK_STR(changed(e), "prod/web");
	ALLOW(e, "dev/tool", "prod/web", TCP, 8081);
	DENY(e, "dev/tool", "prod/web", TCP, 8080);
	pol_engine_free(e);
}

static void test_named_ports_egress(void)
{
	struct pol_engine *e = cluster();
	struct pol_named_port pa[] = { { "http", TCP, 8080 } };
	struct pol_named_port pb[] = { { "http", TCP, 9090 } };

	pod_ports(e, "prod", "web", "app=web", "10.244.0.10", pa, 1);
	pod_ports(e, "prod", "db", "app=db", "10.244.0.11", pb, 1);
	NP(e, {"metadata":{"name":"p","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"client"}},
	       "policyTypes":["Egress"],
	       "egress":[{"to":[{"podSelector":{"matchLabels":{"app":"web"}}}],"ports":[{"port":"http"}]}]}});
	ALLOW(e, "prod/cli", "prod/web", TCP, 8080);
	DENY(e, "prod/cli", "prod/web", TCP, 9090);
	DENY(e, "prod/cli", "prod/db", TCP, 9090);
	/* named port to any destination: resolved per destination pod */
	NP(e, {"metadata":{"name":"q","namespace":"dev"},"spec":{"podSelector":{},"policyTypes":["Egress"],
	       "egress":[{"ports":[{"port":"http"}]}]}});
	ALLOW(e, "dev/tool", "prod/web", TCP, 8080);
	ALLOW(e, "dev/tool", "prod/db", TCP, 9090);
	DENY(e, "dev/tool", "prod/db", TCP, 8080);
	DENY(e, "dev/tool", "8.8.8.8", TCP, 8080);
	/* a peer pod that gains the named port updates its clients only */
	changed(e);
	{
		struct pol_named_port pc[] = { { "http", TCP, 7070 } };

		pod_ports(e, "prod", "cli", "app=client", "10.244.0.12", pc, 1);
	}
	/* the dev pods (their rule has no peers); prod/cli's own rules do not
	 * depend on its ports */
	CHECK_STR(changed(e), "dev/cli,dev/tool");
	ALLOW(e, "dev/tool", "prod/cli", TCP, 7070);
	pol_engine_free(e);
}

static void test_union_of_policies(void)
{
	struct pol_engine *e = cluster();

	NP(e, {"metadata":{"name":"one","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"web"}}}],"ports":[{"port":5432}]}]}});
	NP(e, {"metadata":{"name":"two","namespace":"prod"},"spec":{"podSelector":{},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"b"}}}],"ports":[{"port":9100}]}]}});
	ALLOW(e, "prod/web", "prod/db", TCP, 5432);
	ALLOW(e, "dev/tool", "prod/db", TCP, 9100);
	DENY(e, "dev/tool", "prod/db", TCP, 5432);
	DENY(e, "prod/web", "prod/db", TCP, 9100);
	DENY(e, "prod/cli", "prod/db", TCP, 5432);
	ALLOW(e, "dev/cli", "prod/web", TCP, 9100);
	DENY(e, "prod/db", "prod/web", TCP, 5432);
	pol_engine_free(e);
}

static void test_self_and_host(void)
{
	struct pol_engine *e = cluster();
	struct pol_trace_result tr;
	const struct pol_rules *r;

	NP(e, {"metadata":{"name":"deny","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"]}});
	ALLOW(e, "prod/web", "prod/web", TCP, 80);   /* loopback to itself */
	ALLOW(e, "host", "prod/web", TCP, 8080);     /* kubelet probes */
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	DENY(e, "prod/web", "host", TCP, 10250);     /* egress to the node: policy applies */
	r = pol_endpoint_rules(e, "prod", "web", POL_INGRESS);
	CHECK(r && r->n == 1 && r->entries[0].identity == POL_ID_HOST);
	r = pol_endpoint_rules(e, "prod", "web", POL_EGRESS);
	CHECK(r && r->enforced && r->n == 0);
	CHECK_EQ(pol_trace(e, "prod/web", "10.244.0.10", TCP, 80, &tr, NULL), 0);
	CHECK(tr.allowed && strstr(tr.explain, "itself"));
	pol_engine_free(e);
}

static void test_trace_explains(void)
{
	struct pol_engine *e = cluster();
	struct pol_trace_result tr;
	struct gerr err = { 0 };

	NP(e, {"metadata":{"name":"web-in","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"db"}}},{"podSelector":{"matchLabels":{"app":"client"}}}],
			   "ports":[{"port":81},{"port":80}]}]}});
	CHECK_EQ(pol_trace(e, "prod/cli", "prod/web", TCP, 80, &tr, &err), 0);
	CHECK(tr.allowed && tr.ingress_enforced && !tr.egress_enforced);
	CHECK(strstr(tr.explain, "ALLOW by prod/web-in spec.ingress[0].from[1] ports[1]") != NULL);
	printf("%s", tr.explain);
	CHECK_EQ(pol_trace(e, "prod/cli", "prod/web", TCP, 443, &tr, &err), 0);
	CHECK(!tr.allowed);
	CHECK(strstr(tr.explain, "peer matches but not 443/TCP") != NULL);
	CHECK(strstr(tr.explain, "verdict: DENY") != NULL);
	printf("%s", tr.explain);
	CHECK(pol_trace(e, "prod/nope", "prod/web", TCP, 80, &tr, &err) == -ENOENT);
	CHECK(strstr(err.msg, "prod/nope") != NULL);
	pol_engine_free(e);
}

/* ---- identities, ipcache, incremental ------------------------------------------- */

static void test_identity_reuse_release(void)
{
	struct pol_engine *e = pol_engine_new();
	struct pol_changes c;
	uint32_t a, b, x;

	ns(e, "n", "");
	changed(e);
	pod(e, "n", "a", "app=x", "10.0.0.1");
	pod(e, "n", "b", "app=x", "10.0.0.2");
	a = pol_pod_identity(e, "n", "a");
	b = pol_pod_identity(e, "n", "b");
	CHECK_EQ(a, b);
	CHECK(a >= POL_ID_POD_MIN && a <= POL_ID_POD_MAX);
	pol_changes_take(e, &c);
	CHECK_EQ(c.n_ids_created, 1);
	CHECK_EQ(c.n_ipcache, 2);
	for (size_t i = 0; i < c.n_ipcache; i++)
		CHECK(c.ipcache[i].identity == a && c.ipcache[i].prefixlen == 32);
	pol_changes_free(&c);
	CHECK_EQ(pol_delete_pod(e, "n", "a"), 0);
	pol_changes_take(e, &c);
	CHECK_EQ(c.n_ids_released, 0);
	CHECK_EQ(c.n_ipcache, 1);
	CHECK_EQ(c.n_ipcache ? c.ipcache[0].identity : 1, 0);
	CHECK_EQ(c.n_endpoints, 1);
	CHECK(c.n_endpoints && c.endpoints[0].removed);
	pol_changes_free(&c);
	CHECK_EQ(pol_pod_identity(e, "n", "b"), a);
	/* label change: new identity, the old one is released */
	pod(e, "n", "b", "app=y", "10.0.0.2");
	x = pol_pod_identity(e, "n", "b");
	CHECK(x != a);
	pol_changes_take(e, &c);
	CHECK_EQ(c.n_ids_released, 1);
	CHECK_EQ(c.n_ids_released ? c.ids_released[0] : 0, a);
	CHECK_EQ(c.n_ids_created, 1);
	CHECK_EQ(c.n_ipcache, 1);
	CHECK_EQ(c.n_ipcache ? c.ipcache[0].identity : 0, x);
	pol_changes_free(&c);
	/* numbers follow the label set, not the order of arrival: the
	 * released label set comes back with its number (every agent numbers
	 * it the same, so the VNI means the same identity on every node) */
	pod(e, "n", "c", "app=x", "10.0.0.3");
	CHECK_EQ(pol_pod_identity(e, "n", "c"), a);
	{
		/* another engine (another node's agent) seeing the same
		 * pods in the opposite order agrees on every number */
		struct pol_engine *o = pol_engine_new();

		ns(o, "m", "");
		ns(o, "n", "");
		pod(o, "m", "c", "app=x", "10.0.1.3");
		pod(o, "n", "c", "app=x", "10.0.0.3");
		pod(o, "n", "b", "app=y", "10.0.0.2");
		pod(e, "m", "c", "app=x", "10.0.1.3");
		CHECK_EQ(pol_pod_identity(o, "n", "b"), x);
		CHECK_EQ(pol_pod_identity(o, "n", "c"), a);
		CHECK_EQ(pol_pod_identity(o, "m", "c"), pol_pod_identity(e, "m", "c"));
		pol_engine_free(o);
	}
	/* same labels in another namespace: another identity */
	pod(e, "m", "c", "app=x", "10.0.1.3");
	CHECK(pol_pod_identity(e, "m", "c") != pol_pod_identity(e, "n", "c"));
	/* a pod without an IP yet has an identity but no ipcache entry */
	changed(e);
	pod(e, "n", "pending", "app=x", NULL);
	pol_changes_take(e, &c);
	CHECK_EQ(c.n_ipcache, 0);
	pol_changes_free(&c);
	CHECK_EQ(pol_pod_identity(e, "n", "pending"), pol_pod_identity(e, "n", "c"));
	pol_engine_free(e);
}

static void test_incremental_pod_label_change(void)
{
	struct pol_engine *e = cluster();
	uint64_t before, before_r;

	pod(e, "prod", "web2", "app=web", "10.244.0.13");
	NP(e, {"metadata":{"name":"web","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"role":"frontend"}}}]}]}});
	NP(e, {"metadata":{"name":"db","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}},
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"web"}}}]}]}});
	NP(e, {"metadata":{"name":"tool","namespace":"dev"},"spec":{"podSelector":{"matchLabels":{"app":"tool"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"b"}}}]}]}});
	changed(e);
	DENY(e, "prod/cli", "prod/web", TCP, 80);
	/* prod/cli gains role=frontend: a new identity that web's policy
	 * matches. prod/cli itself is recomputed; the two pods selected by
	 * "web" get that one identity's entries added (a refresh of their
	 * one enforced direction, ingress); db (peers app=web) and the dev pods are not touched. */
	before = recomputed(e);
	before_r = refreshed(e);
	pod(e, "prod", "cli", "app=client,role=frontend", "10.244.0.12");
	CHECK_EQ(recomputed(e) - before, 2 * 1);
	CHECK_EQ(refreshed(e) - before_r, 2);
	CHECK_STR(changed(e), "prod/web,prod/web2");   /* cli's own rules unchanged */
	ALLOW(e, "prod/cli", "prod/web", TCP, 80);
	ALLOW(e, "prod/cli", "prod/web2", TCP, 80);
	/* web2 relabelled to app=web2: its own rules change (no longer
	 * selected); web keeps the app=web identity alive, so db, which peers
	 * with it, is neither recomputed nor refreshed. */
	before = recomputed(e);
	before_r = refreshed(e);
	pod(e, "prod", "web2", "app=web2", "10.244.0.13");
	CHECK_EQ(recomputed(e) - before, 2 * 1);
	CHECK_EQ(refreshed(e) - before_r, 0);
	CHECK_STR(changed(e), "prod/web2");
	ALLOW(e, "prod/db", "prod/web2", TCP, 80);
	DENY(e, "prod/web2", "prod/db", TCP, 80);
	/* web (the last app=web pod) going away releases the identity: db's
	 * entries for it are dropped by a refresh */
	before = recomputed(e);
	before_r = refreshed(e);
	CHECK_EQ(pol_delete_pod(e, "prod", "web"), 0);
	CHECK_EQ(recomputed(e) - before, 0);
	CHECK_EQ(refreshed(e) - before_r, 1);
	CHECK_STR(changed(e), "-prod/web,prod/db");
	/* an unrelated pod: only itself */
	before = recomputed(e);
	before_r = refreshed(e);
	pod(e, "prod", "other", "app=other", "10.244.0.50");
	CHECK_EQ(recomputed(e) - before, 2);
	CHECK_EQ(refreshed(e) - before_r, 0);
	CHECK_STR(changed(e), "");
	pol_engine_free(e);
}

static void test_incremental_policy_change(void)
{
	struct pol_engine *e = cluster();
	struct gerr err = { 0 };
	uint64_t before;
	json_t *bad;

	NP(e, {"metadata":{"name":"a","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"podSelector":{}}]}]}});
	changed(e);
	/* a new policy: only the pods it selects are recomputed */
	before = recomputed(e);
	NP(e, {"metadata":{"name":"b","namespace":"prod"},"spec":{"podSelector":{"matchExpressions":[
		{"key":"app","operator":"In","values":["db","client"]}]}}});
	CHECK_EQ(recomputed(e) - before, 2 * 2);
	CHECK_STR(changed(e), "prod/cli,prod/db");
	/* changing its selector: old and new selected pods */
	before = recomputed(e);
	NP(e, {"metadata":{"name":"b","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}}}});
	CHECK_EQ(recomputed(e) - before, 2 * 2);
	CHECK_STR(changed(e), "prod/cli");
	/* the same policy again: recomputed, nothing reported */
	NP(e, {"metadata":{"name":"b","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"db"}}}});
	CHECK_STR(changed(e), "");
	/* a bad update leaves the engine as it was */
	before = recomputed(e);
	bad = json_loads("{\"metadata\":{\"name\":\"b\",\"namespace\":\"prod\"},\"spec\":{\"podSelector\":{},"
			 "\"ingress\":[{\"ports\":[{\"port\":0}]}]}}", 0, NULL);
	CHECK_EQ(pol_upsert_policy(e, bad, &err), -EINVAL);
	json_decref(bad);
	CHECK_EQ(recomputed(e), before);
	CHECK_STR(changed(e), "");
	DENY(e, "prod/web", "prod/db", TCP, 80);
	ALLOW(e, "prod/web", "prod/cli", TCP, 80);
	/* delete: only db */
	CHECK_EQ(pol_delete_policy(e, "prod", "b"), 0);
	CHECK_STR(changed(e), "prod/db");
	CHECK_EQ(pol_delete_policy(e, "prod", "b"), -ENOENT);
	pol_engine_free(e);
}

static void test_namespace_label_change(void)
{
	struct pol_engine *e = cluster();
	uint32_t before_id = pol_pod_identity(e, "dev", "tool");

	NP(e, {"metadata":{"name":"web","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"env":"staging"}}}]}]}});
	DENY(e, "dev/tool", "prod/web", TCP, 80);
	changed(e);
	ns(e, "dev", "team=b,env=staging");
	CHECK(pol_pod_identity(e, "dev", "tool") != before_id);
	CHECK_STR(changed(e), "prod/web");
	ALLOW(e, "dev/tool", "prod/web", TCP, 80);
	ALLOW(e, "dev/cli", "prod/web", TCP, 80);
	CHECK_EQ(pol_delete_namespace(e, "dev"), 0);
	DENY(e, "dev/tool", "prod/web", TCP, 80);
	pol_engine_free(e);
}

static void test_pod_json(void)
{
	struct pol_engine *e = cluster();
	json_t *p = json_loads(
		"{\"metadata\":{\"name\":\"api\",\"namespace\":\"prod\",\"labels\":{\"app\":\"api\"}},"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"metrics\",\"containerPort\":9100},"
		"{\"name\":\"q\",\"containerPort\":5000,\"protocol\":\"UDP\"},{\"containerPort\":22}]}]},"
		"\"status\":{\"podIP\":\"10.244.0.77\"}}", 0, NULL);

	CHECK_EQ(pol_upsert_pod_json(e, p, NULL), 0);
	json_decref(p);
	CHECK(pol_pod_identity(e, "prod", "api") != 0);
	CHECK_EQ(pol_ip_identity(e, "10.244.0.77"), pol_pod_identity(e, "prod", "api"));
	NP(e, {"metadata":{"name":"api","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"api"}},
	       "ingress":[{"ports":[{"port":"metrics"},{"port":"q","protocol":"UDP"}]}]}});
	ALLOW(e, "dev/tool", "prod/api", TCP, 9100);
	ALLOW(e, "dev/tool", "prod/api", UDP, 5000);
	DENY(e, "dev/tool", "prod/api", TCP, 22);
	pol_engine_free(e);
}

/* ---- validation -------------------------------------------------------------------- */

static void test_validation_errors(void)
{
	static const struct {
		const char *spec;       /* the "spec" object */
		const char *msg;        /* expected in the error */
	} cases[] = {
		{ "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Like\"}]}}",
		  "spec.podSelector.matchExpressions[0].operator: Unsupported value: \"Like\"" },
		{ "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}}",
		  "spec.podSelector.matchExpressions[0].values: Required value" },
		{ "{\"podSelector\":{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}}",
		  "spec.podSelector.matchExpressions[0].values: Forbidden" },
		{ "{\"podSelector\":{\"matchLabels\":{\"bad key!\":\"x\"}}}",
		  "spec.podSelector.matchLabels: Invalid value: \"bad key!\"" },
		{ "{\"podSelector\":{\"matchLabels\":{\"a\":\"-x-\"}}}",
		  "spec.podSelector.matchLabels[a]: Invalid value: \"-x-\"" },
		{ "{\"ingress\":[{\"from\":[{\"namespaceSelector\":{\"matchLabels\":{\"a\":7}}}]}]}",
		  "spec.ingress[0].from[0].namespaceSelector.matchLabels[a]: Invalid value: 7" },
		{ "{\"ingress\":[{\"from\":[{\"podSelector\":{}},{\"ipBlock\":{\"cidr\":\"10.0.0.0/33\"}}]}]}",
		  "spec.ingress[0].from[1].ipBlock.cidr: Invalid value: \"10.0.0.0/33\"" },
		{ "{\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"300.1.2.3/8\"}}]}]}",
		  "spec.ingress[0].from[0].ipBlock.cidr: Invalid value" },
		{ "{\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0\"}}]}]}",
		  "spec.ingress[0].from[0].ipBlock.cidr: Invalid value: \"10.0.0.0\"" },
		{ "{\"ingress\":[{\"from\":[{\"ipBlock\":{}}]}]}",
		  "spec.ingress[0].from[0].ipBlock.cidr: Required value" },
		{ "{\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":[\"11.0.0.0/16\"]}}]}]}",
		  "spec.egress[0].to[0].ipBlock.except[0]: Invalid value: \"11.0.0.0/16\": must be a strict subset" },
		{ "{\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.0.0.0/8\"]}}]}]}",
		  "spec.egress[0].to[0].ipBlock.except[0]: Invalid value" },
		{ "{\"egress\":[{\"to\":[{\"ipBlock\":{\"cidr\":\"fd00::/8\"}}]}]}",
		  "spec.egress[0].to[0].ipBlock.cidr: Unsupported value: \"fd00::/8\": IPv6" },
		{ "{\"ingress\":[{\"from\":[{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\"},\"podSelector\":{}}]}]}",
		  "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer" },
		{ "{\"ingress\":[{\"from\":[{}]}]}",
		  "spec.ingress[0].from[0]: Required value" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":70000}]}]}",
		  "spec.ingress[0].ports[0].port: Invalid value: 70000: must be between 1 and 65535" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":0}]}]}",
		  "spec.ingress[0].ports[0].port: Invalid value: 0" },
		{ "{\"ingress\":[{},{\"ports\":[{\"port\":80},{\"protocol\":\"ICMP\",\"port\":1}]}]}",
		  "spec.ingress[1].ports[1].protocol: Unsupported value: \"ICMP\"" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":\"http\",\"endPort\":90}]}]}",
		  "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is not a number" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":100,\"endPort\":90}]}]}",
		  "spec.ingress[0].ports[0].endPort: Invalid value: 90: must be greater than or equal to `port`" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":100,\"endPort\":65536}]}]}",
		  "spec.ingress[0].ports[0].endPort: Invalid value: 65536" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":\"Not_A_Name\"}]}]}",
		  "spec.ingress[0].ports[0].port: Invalid value: \"Not_A_Name\"" },
		{ "{\"ingress\":[{\"ports\":[{\"port\":1.5}]}]}",
		  "spec.ingress[0].ports[0].port: Invalid value: 1.5" },
		{ "{\"policyTypes\":[\"Ingress\",\"Sideways\"]}",
		  "spec.policyTypes[1]: Unsupported value: \"Sideways\"" },
		{ "{\"policyTypes\":[\"Ingress\",\"Ingress\"]}",
		  "spec.policyTypes[1]: Duplicate value" },
		{ "{\"ingress\":{}}", "spec.ingress: Invalid value: {}: must be a list" },
		{ "{\"podSelector\":{},\"frobnicate\":true}", "spec.frobnicate: Unsupported value" },
		{ "{\"egress\":[{\"from\":[]}]}", "spec.egress[0].from: Unsupported value" },
	};
	struct pol_engine *e = cluster();
	struct pol_stats st;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *doc;
		json_t *j;
		struct gerr err = { 0 };
		int ret;

		if (asprintf(&doc, "{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
			     "\"metadata\":{\"name\":\"x\",\"namespace\":\"prod\"},\"spec\":%s}", cases[i].spec) < 0)
			continue;
		j = json_loads(doc, 0, NULL);
		CHECK(j != NULL);
		ret = pol_validate(j, &err);
		CHECK_EQ(ret, -EINVAL);
		if (!strstr(err.msg, cases[i].msg)) {
			fprintf(stderr, "case %zu: got \"%s\", want \"%s\"\n", i, err.msg, cases[i].msg);
			t_failed++;
		}
		memset(&err, 0, sizeof(err));
		CHECK_EQ(pol_upsert_policy(e, j, &err), -EINVAL);
		json_decref(j);
		free(doc);
	}
	/* metadata and kind */
	{
		struct gerr err = { 0 };
		json_t *j = json_loads("{\"metadata\":{},\"spec\":{}}", 0, NULL);

		CHECK_EQ(pol_validate(j, &err), -EINVAL);
		CHECK(strstr(err.msg, "metadata.name: Required value") != NULL);
		json_decref(j);
		memset(&err, 0, sizeof(err));
		j = json_loads("{\"metadata\":{\"name\":\"a\",\"namespace\":3}}", 0, NULL);
		CHECK_EQ(pol_validate(j, &err), -EINVAL);
		CHECK(strstr(err.msg, "metadata.namespace: Invalid value: 3") != NULL);
		json_decref(j);
		memset(&err, 0, sizeof(err));
		j = json_loads("{\"spec\":{}}", 0, NULL);
		CHECK_EQ(pol_validate(j, &err), -EINVAL);
		CHECK(strstr(err.msg, "metadata: Required value") != NULL);
		json_decref(j);
		memset(&err, 0, sizeof(err));
		j = json_loads("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}", 0, NULL);
		CHECK_EQ(pol_validate(j, &err), -EINVAL);
		CHECK(strstr(err.msg, "kind: Unsupported value: \"Pod\"") != NULL);
		json_decref(j);
		memset(&err, 0, sizeof(err));
		j = json_loads("{\"metadata\":{\"name\":\"Bad_Name\"}}", 0, NULL);
		CHECK_EQ(pol_validate(j, &err), -EINVAL);
		CHECK(strstr(err.msg, "metadata.name: Invalid value: \"Bad_Name\"") != NULL);
		json_decref(j);
		/* a valid policy with every feature passes */
		j = json_loads("{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"NetworkPolicy\","
			       "\"metadata\":{\"name\":\"ok\"},\"spec\":{\"podSelector\":{\"matchLabels\":{\"example.com/app\":\"a\"}},"
			       "\"policyTypes\":[\"Ingress\",\"Egress\"],"
			       "\"ingress\":[{\"from\":[{\"namespaceSelector\":{},\"podSelector\":{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"DoesNotExist\"}]}},"
			       "{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.1.0.0/16\"]}}],"
			       "\"ports\":[{\"port\":\"http\"},{\"protocol\":\"SCTP\",\"port\":1,\"endPort\":65535}]}],"
			       "\"egress\":[{}]}}", 0, NULL);
		memset(&err, 0, sizeof(err));
		CHECK_EQ(pol_validate(j, &err), 0);
		if (err.code)
			fprintf(stderr, "valid policy rejected: %s\n", err.msg);
		json_decref(j);
	}
	pol_get_stats(e, &st);
	CHECK_EQ(st.policies, 0);
	CHECK(!pol_endpoint_rules(e, "prod", "web", POL_INGRESS)->enforced);
	/* bad pod input */
	{
		struct gerr err = { 0 };
		struct pol_named_port bp[] = { { "x", 1, 80 } };

		CHECK_EQ(pol_upsert_pod(e, "prod", "p", NULL, "10.0.0.300", NULL, 0, &err), -EINVAL);
		CHECK(strstr(err.msg, "invalid IPv4") != NULL);
		memset(&err, 0, sizeof(err));
		CHECK_EQ(pol_upsert_pod(e, "prod", "p", NULL, NULL, bp, 1, &err), -EINVAL);
		CHECK_EQ(pol_pod_identity(e, "prod", "p"), 0);
	}
	pol_engine_free(e);
}

/* ---- the proposed BPF encoding ------------------------------------------------- */

static void test_lpm_encoding(void)
{
	struct pol_engine *e = cluster();
	struct pol_named_port pn[] = { { "http", TCP, 8080 } };
	static const char *const eps[][2] = { { "prod", "web" }, { "prod", "db" }, { "prod", "cli" },
					      { "dev", "cli" }, { "dev", "tool" } };
	static const uint8_t protos[] = { TCP, UDP, SCTP };
	struct pol_lpm_key keys[512];
	uint32_t ids[16];
	size_t nids = 0;
	int n, mism = 0;

	pod_ports(e, "prod", "web", "app=web", "10.244.0.10", pn, 1);
	NP(e, {"metadata":{"name":"a","namespace":"prod"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},
	       "ingress":[{"from":[{"namespaceSelector":{"matchLabels":{"team":"b"}}}],
			   "ports":[{"port":8000,"endPort":8100},{"protocol":"UDP"},{"port":"http"}]},
			  {"from":[{"ipBlock":{"cidr":"172.16.0.0/12","except":["172.17.0.0/16"]}}]}]}});
	NP(e, {"metadata":{"name":"b","namespace":"prod"},"spec":{"podSelector":{},"policyTypes":["Ingress","Egress"],
	       "ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"client"}}}],"ports":[{"port":1,"endPort":65535,"protocol":"SCTP"}]}],
	       "egress":[{"ports":[{"port":53,"protocol":"UDP"},{"port":443}]},{"to":[{"podSelector":{}}]}]}});
	/* web ingress: 8000-8100 is 4 blocks per team=b identity */
	n = pol_rules_lpm_keys(pol_endpoint_rules(e, "prod", "web", POL_INGRESS), keys, 512);
	CHECK(n > 0 && n < 512);
	{
		int plen50 = 0;

		for (int i = 0; i < n; i++)
			if (keys[i].prefixlen == 50 && keys[i].proto == TCP &&
			    keys[i].port_be[0] == 8000 >> 8 && keys[i].port_be[1] == (8000 & 255))
				plen50++;
		CHECK_EQ(plen50, 2);                     /* dev/cli and dev/tool */
	}
	ids[nids++] = POL_ID_HOST;
	ids[nids++] = POL_ID_WORLD;
	ids[nids++] = pol_ip_identity(e, "172.16.1.1");
	ids[nids++] = pol_ip_identity(e, "172.17.1.1");
	for (size_t i = 0; i < 5; i++)
		ids[nids++] = pol_pod_identity(e, eps[i][0], eps[i][1]);
	for (size_t i = 0; i < 5; i++)
		for (int d = 0; d < 2; d++) {
			const struct pol_rules *r = pol_endpoint_rules(e, eps[i][0], eps[i][1], d);

			n = pol_rules_lpm_keys(r, keys, 512);
			CHECK(n >= 0 && n < 512);
			for (int q = 0; q < 3000; q++) {
				uint32_t id = ids[rand() % nids];
				uint8_t pr = protos[rand() % 3];
				uint16_t port = q % 3 ? (uint16_t)(rand() % 65536) :
						(uint16_t)(7990 + rand() % 120);
				bool want = pol_rules_allow(r, id, pr, port);
				bool got = !r->enforced || pol_lpm_allow(keys, n, id, pr, port);

				if (want != got && mism++ < 5)
					fprintf(stderr, "%s/%s dir %d id %u %u/%u: rules %d lpm %d\n",
						eps[i][0], eps[i][1], d, id, port, pr, want, got);
			}
		}
	CHECK_EQ(mism, 0);
	pol_engine_free(e);
}

/* ---- randomized: incremental == full recompute, entries == trace ------------------ */

static void test_random_incremental_equals_full(void)
{
	static const char *apps[] = { "a", "b", "c", "d" };
	static const char *nss[] = { "n0", "n1", "n2" };
	struct pol_engine *e = pol_engine_new();
	struct pol_named_port np1[] = { { "http", TCP, 8080 } };

	srand(12345);
	for (int step = 0; step < 600; step++) {
		int op = rand() % 10;
		char name[32], ip[32], doc[1024];
		const char *n = nss[rand() % 3];

		snprintf(name, sizeof(name), "p%d", rand() % 12);
		if (op < 4) {
			char labels[64];
			const char *app = apps[rand() % 4];

			snprintf(labels, sizeof(labels), "app=%s%s", app, rand() % 2 ? ",tier=x" : "");
			snprintf(ip, sizeof(ip), "10.244.%d.%d", (int)(n[1] - '0'), atoi(name + 1) + 2);
			/* same labels -> same ports: one identity, one port mapping */
			pod_ports(e, n, name, labels, ip, np1, app[0] == 'a' || app[0] == 'c');
		} else if (op < 5) {
			pol_delete_pod(e, n, name);
		} else if (op < 6) {
			ns(e, n, rand() % 2 ? "env=x" : "env=y");
		} else if (op < 9) {
			int kind = rand() % 5;
			const char *peer =
				kind == 0 ? "{\"podSelector\":{\"matchLabels\":{\"app\":\"b\"}}}" :
				kind == 1 ? "{\"namespaceSelector\":{\"matchLabels\":{\"env\":\"x\"}}}" :
				kind == 2 ? "{\"namespaceSelector\":{},\"podSelector\":{\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"Exists\"}]}}" :
				kind == 3 ? "{\"ipBlock\":{\"cidr\":\"10.0.0.0/8\",\"except\":[\"10.244.1.0/24\"]}}" :
					    "{\"ipBlock\":{\"cidr\":\"10.244.0.0/16\"}}";
			const char *ports = rand() % 3 == 0 ? "[{\"port\":\"http\"}]" :
					    rand() % 2 ? "[{\"port\":80,\"endPort\":90}]" : "[]";

			bool in = rand() % 2;

			snprintf(doc, sizeof(doc),
				 "{\"metadata\":{\"name\":\"q%d\",\"namespace\":\"%s\"},\"spec\":{"
				 "\"podSelector\":{\"matchLabels\":{\"app\":\"%s\"}},\"%s\":[{\"%s\":[%s],\"ports\":%s}]}}",
				 rand() % 6, n, apps[rand() % 4], in ? "ingress" : "egress",
				 in ? "from" : "to", peer, ports);
			CHECK_EQ(np(e, doc), 0);
		} else {
			char pn[8];

			snprintf(pn, sizeof(pn), "q%d", rand() % 6);
			pol_delete_policy(e, n, pn);
		}
		if (step % 50 == 49) {
			/* a full recompute must find nothing to change */
			changed(e);
			pol_recompute_all(e);
			CHECK_STR(changed(e), "");
			/* compiled entries and trace agree on every pod pair */
			for (int i = 0; i < 3; i++)
				for (int j = 0; j < 12; j++)
					for (int k = 0; k < 3; k++) {
						char from[32], to[32];

						snprintf(from, sizeof(from), "%s/p%d", nss[i], j);
						snprintf(to, sizeof(to), "%s/p%d", nss[k], (j * 7 + k) % 12);
						if (!pol_pod_identity(e, nss[i], from + 3) ||
						    !pol_pod_identity(e, nss[k], to + 3))
							continue;
						conn_line(e, from, to, TCP, 85, __LINE__);
						conn_line(e, from, to, TCP, 8080, __LINE__);
						conn_line(e, "10.9.9.9", to, TCP, 80, __LINE__);
						conn_line(e, "10.244.1.200", to, TCP, 80, __LINE__);
						conn_line(e, from, "10.244.1.200", TCP, 80, __LINE__);
					}
		}
	}
	pol_engine_free(e);
}

TEST_MAIN(T(test_unrestricted_without_policy), T(test_empty_pod_selector_deny_all),
	  T(test_policy_types_defaults), T(test_pod_selector_peer_is_namespace_local),
	  T(test_namespace_selector), T(test_and_vs_or_peers), T(test_match_expressions),
	  T(test_ipblock_except), T(test_ipblock_everything), T(test_overlapping_ipblocks), T(test_ports_protocols_endport),
	  T(test_named_ports_ingress), T(test_named_ports_egress), T(test_union_of_policies),
	  T(test_self_and_host), T(test_trace_explains), T(test_identity_reuse_release),
	  T(test_incremental_pod_label_change), T(test_incremental_policy_change),
	  T(test_namespace_label_change), T(test_pod_json), T(test_validation_errors),
	  T(test_lpm_encoding), T(test_random_incremental_equals_full))
