/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the agent's Services -> frontends model (agent/svcmodel.c):
 * frontends per Service type, backends by port name from ready addresses
 * only, node IPs and locality, affinity, headless/ExternalName skipped, and
 * fingerprints that change exactly when programming must change. No root. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "agent/services.h"
#include "tests/unit/test.h"

static uint32_t A(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fprintf(stderr, "bad test JSON: %s\n", e.text);
	return j;
}

static const char *NODES = "{\"n1\": {\"metadata\": {\"name\": \"n1\"}, \"status\": {\"addresses\": "
	"[{\"type\": \"InternalIP\", \"address\": \"192.168.0.1\"}]}},"
	"\"n2\": {\"metadata\": {\"name\": \"n2\"}, \"status\": {\"addresses\": "
	"[{\"type\": \"Hostname\", \"address\": \"n2\"}, {\"type\": \"InternalIP\", \"address\": \"192.168.0.2\"}]}}}";

/* web: NodePort, 2 ports (http by name -> 8080, dns UDP), externalIP, an
 * LB ingress (ignored: not a LoadBalancer), affinity 60 s. Endpoints: 2
 * ready (n1, n2), 1 not ready, ports named. */
static const char *SVCS = "{\"default/web\": {\"metadata\": {\"namespace\": \"default\", \"name\": \"web\"},"
	"\"spec\": {\"type\": \"NodePort\", \"clusterIP\": \"10.96.0.20\", \"externalIPs\": [\"198.51.100.7\"],"
	"\"sessionAffinity\": \"ClientIP\", \"sessionAffinityConfig\": {\"clientIP\": {\"timeoutSeconds\": 60}},"
	"\"ports\": [{\"name\": \"http\", \"port\": 80, \"targetPort\": \"http\", \"nodePort\": 30080},"
	"{\"name\": \"dns\", \"port\": 53, \"protocol\": \"UDP\", \"nodePort\": 30053},"
	"{\"name\": \"sctp\", \"port\": 9, \"protocol\": \"SCTP\", \"nodePort\": 30009}]},"
	"\"status\": {\"loadBalancer\": {\"ingress\": [{\"ip\": \"203.0.113.9\"}]}}},"
	"\"default/hl\": {\"metadata\": {\"namespace\": \"default\", \"name\": \"hl\"},"
	"\"spec\": {\"clusterIP\": \"None\", \"ports\": [{\"port\": 80}]}},"
	"\"default/ext\": {\"metadata\": {\"namespace\": \"default\", \"name\": \"ext\"},"
	"\"spec\": {\"type\": \"ExternalName\", \"externalName\": \"example.com\"}},"
	"\"kube-system/one\": {\"metadata\": {\"namespace\": \"kube-system\", \"name\": \"one\"},"
	"\"spec\": {\"clusterIP\": \"10.96.0.30\", \"ports\": [{\"port\": 8443}]}}}";

static const char *EPS = "{\"default/web\": {\"metadata\": {\"namespace\": \"default\", \"name\": \"web\"},"
	"\"subsets\": [{\"addresses\": [{\"ip\": \"10.244.1.5\", \"nodeName\": \"n1\"},"
	"{\"ip\": \"10.244.2.5\", \"nodeName\": \"n2\"}, {\"ip\": \"10.244.1.5\", \"nodeName\": \"n1\"}],"
	"\"notReadyAddresses\": [{\"ip\": \"10.244.3.5\", \"nodeName\": \"n3\"}],"
	"\"ports\": [{\"name\": \"dns\", \"port\": 5353, \"protocol\": \"UDP\"}, {\"name\": \"http\", \"port\": 8080}]}]},"
	"\"kube-system/one\": {\"subsets\": [{\"addresses\": [{\"ip\": \"10.244.9.9\", \"nodeName\": \"gone\"}],"
	"\"ports\": [{\"port\": 6443}]}]}}";

struct fx {
	json_t *svcs, *eps, *nodes;
	struct svc_desired d;
};

static int build(struct fx *f, const char *node)
{
	struct svc_model_in in = { .services = f->svcs, .endpoints = f->eps, .nodes = f->nodes,
				   .node_name = node, .node_ip = A("192.168.0.1") };

	svc_desired_free(&f->d);
	return svc_desired_build(&in, &f->d);
}

static void fx_init(struct fx *f)
{
	memset(f, 0, sizeof(*f));
	f->svcs = J(SVCS);
	f->eps = J(EPS);
	f->nodes = J(NODES);
	CHECK_EQ(build(f, "n1"), 0);
}

static void fx_free(struct fx *f)
{
	svc_desired_free(&f->d);
	json_decref(f->svcs);
	json_decref(f->eps);
	json_decref(f->nodes);
}

static void t_frontends(void)
{
	struct fx f;

	fx_init(&f);
	/* web: 2 ports x (cluster, nodeport, externalIP) = 6; LB ingress not
	 * used for a NodePort Service; SCTP skipped; "one": 1;
	 * headless and ExternalName: nothing */
	CHECK_EQ(json_object_size(f.d.fe), 7);
	CHECK(json_object_get(f.d.fe, "10.96.0.20:80/TCP/cluster"));
	CHECK(json_object_get(f.d.fe, "10.96.0.20:53/UDP/cluster"));
	CHECK(json_object_get(f.d.fe, "192.168.0.1:30080/TCP/external"));
	CHECK(json_object_get(f.d.fe, "192.168.0.1:30053/UDP/external"));
	CHECK(json_object_get(f.d.fe, "198.51.100.7:80/TCP/external"));
	CHECK(json_object_get(f.d.fe, "198.51.100.7:53/UDP/external"));
	CHECK(json_object_get(f.d.fe, "10.96.0.30:8443/TCP/cluster"));
	CHECK(!json_object_get(f.d.fe, "203.0.113.9:80/TCP/external"));
	/* labels: namespace, name, port name (number when unnamed) */
	CHECK_STR(json_string_value(json_array_get(json_object_get(f.d.labels,
		  "10.96.0.20:80/TCP/cluster"), 2)), "http");
	CHECK_STR(json_string_value(json_array_get(json_object_get(f.d.labels,
		  "10.96.0.30:8443/TCP/cluster"), 2)), "8443");

	/* LoadBalancer: the ingress IP becomes a frontend too */
	json_object_set_new(json_object_get(json_object_get(f.svcs, "default/web"), "spec"), "type",
			    json_string("LoadBalancer"));
	CHECK_EQ(build(&f, "n1"), 0);
	CHECK(json_object_get(f.d.fe, "203.0.113.9:80/TCP/external"));
	/* ClusterIP type: no NodePort frontend even with nodePort set */
	json_object_set_new(json_object_get(json_object_get(f.svcs, "default/web"), "spec"), "type",
			    json_string("ClusterIP"));
	CHECK_EQ(build(&f, "n1"), 0);
	CHECK(!json_object_get(f.d.fe, "192.168.0.1:30080/TCP/external"));
	CHECK(json_object_get(f.d.fe, "198.51.100.7:80/TCP/external"));   /* externalIPs stay */
	fx_free(&f);
}

static void t_backends(void)
{
	struct fx f;
	json_t *bl, *svc;

	fx_init(&f);
	/* http -> 8080 by name, duplicates dropped, not-ready excluded, sorted */
	bl = json_object_get(f.d.be, "10.96.0.20:80/TCP/cluster");
	CHECK_EQ(json_array_size(bl), 2);
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 0), 0)), A("10.244.1.5"));
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 0), 1)), 8080);
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 0), 2)), A("192.168.0.1"));
	CHECK(json_is_true(json_array_get(json_array_get(bl, 0), 3)));     /* on n1 = local */
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 1), 0)), A("10.244.2.5"));
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 1), 2)), A("192.168.0.2"));
	CHECK(json_is_false(json_array_get(json_array_get(bl, 1), 3)));
	/* UDP dns -> 5353 */
	bl = json_object_get(f.d.be, "10.96.0.20:53/UDP/cluster");
	CHECK_EQ(json_array_size(bl), 2);
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 0), 1)), 5353);
	/* lone unnamed port matches the lone subset port; unknown node -> 0 */
	bl = json_object_get(f.d.be, "10.96.0.30:8443/TCP/cluster");
	CHECK_EQ(json_array_size(bl), 1);
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 0), 1)), 6443);
	CHECK_EQ(json_integer_value(json_array_get(json_array_get(bl, 0), 2)), 0);
	/* affinity flag + timeout on every frontend of web */
	svc = json_object_get(f.d.svc, "192.168.0.1:30080/TCP/external");
	CHECK_EQ(json_integer_value(json_array_get(svc, 4)) & DP_SVC_F_AFFINITY, DP_SVC_F_AFFINITY);
	CHECK_EQ(json_integer_value(json_array_get(svc, 5)), 60);
	CHECK_EQ(json_integer_value(json_array_get(svc, 3)), DP_SVC_SCOPE_EXTERNAL);
	/* no Endpoints at all: frontends with 0 backends (connections refused) */
	json_object_del(f.eps, "default/web");
	CHECK_EQ(build(&f, "n1"), 0);
	CHECK_EQ(json_array_size(json_object_get(f.d.be, "10.96.0.20:80/TCP/cluster")), 0);
	fx_free(&f);
}

static void t_fingerprint(void)
{
	struct fx f;
	char *a, *b;
	json_t *addrs;

	fx_init(&f);
	a = strdup(json_string_value(json_object_get(f.d.fe, "10.96.0.20:80/TCP/cluster")));
	/* same objects, rebuilt from another node's view of locality: differs */
	CHECK_EQ(build(&f, "n2"), 0);
	CHECK(strcmp(a, json_string_value(json_object_get(f.d.fe, "10.96.0.20:80/TCP/cluster"))));
	/* same view again: identical (nothing to reprogram) */
	CHECK_EQ(build(&f, "n1"), 0);
	CHECK_STR(a, json_string_value(json_object_get(f.d.fe, "10.96.0.20:80/TCP/cluster")));
	/* the not-ready address becoming ready changes it */
	addrs = json_object_get(json_array_get(json_object_get(json_object_get(f.eps, "default/web"),
								"subsets"), 0), "addresses");
	json_array_append_new(addrs, J("{\"ip\": \"10.244.3.5\", \"nodeName\": \"n3\"}"));
	CHECK_EQ(build(&f, "n1"), 0);
	b = strdup(json_string_value(json_object_get(f.d.fe, "10.96.0.20:80/TCP/cluster")));
	CHECK(strcmp(a, b));
	CHECK_EQ(json_array_size(json_object_get(f.d.be, "10.96.0.20:80/TCP/cluster")), 3);
	free(a);
	free(b);
	fx_free(&f);
}

static void t_key(void)
{
	struct dp_service s = { .vip = A("10.96.0.1"), .port = 443, .proto = IPPROTO_TCP };
	char k[64];

	svc_fe_key(&s, k, sizeof(k));
	CHECK_STR(k, "10.96.0.1:443/TCP/cluster");
	s.proto = IPPROTO_UDP;
	s.scope = DP_SVC_SCOPE_EXTERNAL;
	svc_fe_key(&s, k, sizeof(k));
	CHECK_STR(k, "10.96.0.1:443/UDP/external");
}

TEST_MAIN(T(t_frontends), T(t_backends), T(t_fingerprint), T(t_key))
