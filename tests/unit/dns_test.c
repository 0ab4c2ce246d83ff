// SPDX-License-Identifier: Apache-2.0
/* Unit tests of the cluster DNS renderer (agent/dns/dns.c): A records,
 * headless services, SRV for named ports, ExternalName, readiness,
 * validation against injection, determinism, and the pod resolv.conf
 * policy. No root, no dnsmasq. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/dns/dns.h"
#include "tests/unit/test.h"

#define HDR_H "# gannet cluster DNS: A/AAAA records (generated)\n"
#define HDR_R "# gannet cluster DNS: SRV/CNAME records (generated)\n"

static json_t *J(const char *s)
{
	json_error_t je;
	json_t *v = json_loads(s, 0, &je);
	if (!v)
		fprintf(stderr, "bad test JSON: %s: %s\n", je.text, s);
	return v;
}

/* Renders services/endpoints given as JSON array texts. */
static int R(const char *svcs, const char *eps, const char *domain, struct dns_files *f)
{
	struct dns_snapshot s = { J(svcs), J(eps ? eps : "[]") };
	struct dns_render_opts o = { .domain = domain };
	struct gerr e = { 0 };
	int rc = dns_render(&s, &o, f, &e);
	json_decref(s.services);
	json_decref(s.endpoints);
	return rc;
}

static void t_validators(void)
{
	CHECK(name_dns1123_label("web"));
	CHECK(name_dns1123_label("a-1"));
	CHECK(name_dns1123_label("0"));
	CHECK(!name_dns1123_label(""));
	CHECK(!name_dns1123_label("-a"));
	CHECK(!name_dns1123_label("a-"));
	CHECK(!name_dns1123_label("Web"));
	CHECK(!name_dns1123_label("a.b"));
	CHECK(!name_dns1123_label("a,b"));
	CHECK(!name_dns1123_label("a\nb"));
	CHECK(!name_dns1123_label("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
	CHECK(name_dns1123_subdomain("cluster.local"));
	CHECK(name_dns1123_subdomain("a"));
	CHECK(!name_dns1123_subdomain("a..b"));
	CHECK(!name_dns1123_subdomain(".a"));
	CHECK(!name_dns1123_subdomain("a."));
	CHECK(!name_dns1123_subdomain("a/b"));
	CHECK(!name_dns1123_subdomain("a b"));
	CHECK(name_dns1123_subdomain("a.b-c.d0"));
	CHECK(!name_dns1123_subdomain("a-.b"));
	CHECK(!name_dns1123_subdomain("a.-b"));
	CHECK(!name_dns1123_subdomain("A.b"));
	CHECK(!name_dns1123_subdomain(NULL));
	CHECK(!name_dns1123_label(NULL));
	{
		char long_label[70], long_name[260];

		memset(long_label, 'a', 64);
		memcpy(long_label + 64, ".b", 3);             /* a 64-char label */
		CHECK(!name_dns1123_subdomain(long_label));
		for (int i = 0; i < 254; i++)                 /* 254 chars, labels of 1 */
			long_name[i] = i % 2 ? '.' : 'a';
		long_name[253] = 'a';
		long_name[254] = 0;
		CHECK(!name_dns1123_subdomain(long_name));
		long_name[252] = 0;                           /* 252 chars: ok */
		long_name[251] = 'a';
		CHECK(name_dns1123_subdomain(long_name));
		CHECK(name_dns1123_subdomain_n("web.default:x", 11));
		CHECK(!name_dns1123_subdomain_n("web.default.:x", 12));
	}
	CHECK(dns_is_port_name("http"));
	CHECK(dns_is_port_name("h2c-1"));
	CHECK(!dns_is_port_name("80"));        /* needs a letter */
	CHECK(!dns_is_port_name("a--b"));
	CHECK(!dns_is_port_name("-a"));
	CHECK(!dns_is_port_name("Http"));
	CHECK(!dns_is_port_name("abcdefghijklmnop"));   /* 16 */
	CHECK(!dns_is_port_name("a,b"));
}

static void t_cluster_ip_a_and_srv(void)
{
	struct dns_files f;
	CHECK_EQ(R("[{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
		   "\"spec\":{\"clusterIP\":\"10.96.5.5\",\"ports\":["
		   "{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"},"
		   "{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},"
		   "{\"port\":81}]}}]", NULL, NULL, &f), 0);
	CHECK_STR(f.hosts, HDR_H "10.96.5.5 web.default.svc.cluster.local\n");
	CHECK_STR(f.records, HDR_R
		  "srv-host=_dns._udp.web.default.svc.cluster.local,web.default.svc.cluster.local,53,0,100\n"
		  "srv-host=_http._tcp.web.default.svc.cluster.local,web.default.svc.cluster.local,80,0,100\n");
	CHECK_EQ(f.n_a, 1);
	CHECK_EQ(f.n_srv, 2);    /* the unnamed port 81 has none */
	CHECK_EQ(f.n_cname, 0);
	CHECK_EQ(json_array_size(f.warnings), 0);
	dns_files_free(&f);

	/* Other domain; missing namespace = default; no clusterIP yet = no
	 * record; dual stack gives A and AAAA (canonical IPv6 text). */
	CHECK_EQ(R("[{\"metadata\":{\"name\":\"api\"},\"spec\":{\"clusterIP\":\"10.0.0.1\","
		   "\"clusterIPs\":[\"10.0.0.1\",\"fd00:0:0::0:1\"]}},"
		   "{\"metadata\":{\"name\":\"pending\"},\"spec\":{\"ports\":[{\"name\":\"x\",\"port\":1}]}}]",
		   NULL, "corp.example", &f), 0);
	CHECK_STR(f.hosts, HDR_H "10.0.0.1 api.default.svc.corp.example\n"
			   "fd00::1 api.default.svc.corp.example\n");
	CHECK_STR(f.records, HDR_R);
	dns_files_free(&f);
}

static const char *headless_svc =
	"[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},"
	"\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}]";
static const char *headless_eps =
	"[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"subsets\":[{"
	"\"addresses\":[{\"ip\":\"10.244.1.5\",\"hostname\":\"db-0\"},{\"ip\":\"10.244.2.6\"}],"
	"\"notReadyAddresses\":[{\"ip\":\"10.244.3.7\",\"hostname\":\"db-2\"}],"
	"\"ports\":[{\"name\":\"pg\",\"port\":5432,\"protocol\":\"TCP\"},{\"port\":9}]}]},"
	/* same name, other namespace: must not be used */
	"{\"metadata\":{\"name\":\"db\",\"namespace\":\"dev\"},\"subsets\":[{"
	"\"addresses\":[{\"ip\":\"10.244.9.9\"}]}]}]";

static void t_headless(void)
{
	struct dns_files f;
	CHECK_EQ(R(headless_svc, headless_eps, NULL, &f), 0);
	CHECK_STR(f.hosts, HDR_H
		  "10.244.1.5 db-0.db.prod.svc.cluster.local\n"
		  "10.244.1.5 db.prod.svc.cluster.local\n"
		  "10.244.2.6 10-244-2-6.db.prod.svc.cluster.local\n"
		  "10.244.2.6 db.prod.svc.cluster.local\n");
	/* one SRV per ready endpoint, targeting the endpoint's own name */
	CHECK_STR(f.records, HDR_R
		  "srv-host=_pg._tcp.db.prod.svc.cluster.local,10-244-2-6.db.prod.svc.cluster.local,5432,0,100\n"
		  "srv-host=_pg._tcp.db.prod.svc.cluster.local,db-0.db.prod.svc.cluster.local,5432,0,100\n");
	CHECK(!strstr(f.hosts, "10.244.3.7"));   /* not ready */
	CHECK(!strstr(f.hosts, "10.244.9.9"));   /* other namespace */
	dns_files_free(&f);

	/* publishNotReadyAddresses includes them */
	json_t *s = J(headless_svc);
	json_object_set_new(json_object_get(json_array_get(s, 0), "spec"),
			    "publishNotReadyAddresses", json_true());
	char *txt = json_dumps(s, 0);
	CHECK_EQ(R(txt, headless_eps, NULL, &f), 0);
	CHECK(strstr(f.hosts, "10.244.3.7 db-2.db.prod.svc.cluster.local\n"));
	CHECK(strstr(f.hosts, "10.244.3.7 db.prod.svc.cluster.local\n"));
	CHECK_EQ(f.n_srv, 3);
	dns_files_free(&f);
	free(txt);
	json_decref(s);

	/* headless without Endpoints: nothing, no error */
	CHECK_EQ(R(headless_svc, "[]", NULL, &f), 0);
	CHECK_STR(f.hosts, HDR_H);
	CHECK_EQ(f.n_a, 0);
	dns_files_free(&f);
}

static void t_external_name(void)
{
	struct dns_files f;
	CHECK_EQ(R("[{\"metadata\":{\"name\":\"ext\",\"namespace\":\"default\"},"
		   "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"www.example.com.\"}},"
		   "{\"metadata\":{\"name\":\"bad\",\"namespace\":\"default\"},"
		   "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"a,b\\nserver=1.1.1.1\"}}]",
		   NULL, NULL, &f), 0);
	CHECK_STR(f.records, HDR_R "cname=ext.default.svc.cluster.local,www.example.com,5\n");
	CHECK_EQ(f.n_cname, 1);
	CHECK_EQ(json_array_size(f.warnings), 1);
	CHECK_STR(f.hosts, HDR_H);
	dns_files_free(&f);
}

/* Anything that could end a line or a dnsmasq option field is refused,
 * per object: the valid neighbour still renders. */
static void t_injection(void)
{
	struct dns_files f;
	CHECK_EQ(R("["
		   "{\"metadata\":{\"name\":\"a\\nserver=8.8.8.8\",\"namespace\":\"default\"},"
		   " \"spec\":{\"clusterIP\":\"10.96.0.2\"}},"
		   "{\"metadata\":{\"name\":\"b\",\"namespace\":\"x,y\"},\"spec\":{\"clusterIP\":\"10.96.0.3\"}},"
		   "{\"metadata\":{\"name\":\"UPPER\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.4\"}},"
		   "{\"metadata\":{\"name\":\"c\",\"namespace\":\"default\"},"
		   " \"spec\":{\"clusterIP\":\"10.96.0.5 evil.com\\n1.2.3.4\"}},"
		   "{\"metadata\":{\"name\":\"d\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.6\","
		   " \"ports\":[{\"name\":\"x,y\",\"port\":1},{\"name\":\"ok\",\"port\":2,\"protocol\":\"ICMP\"},"
		   "            {\"name\":\"big\",\"port\":70000},{\"name\":\"good\",\"port\":3}]}},"
		   "{\"metadata\":{\"name\":\"h\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"None\"}}"
		   "]",
		   "[{\"metadata\":{\"name\":\"h\",\"namespace\":\"default\"},\"subsets\":[{"
		   "\"addresses\":[{\"ip\":\"10.244.0.1\\nserver=9.9.9.9\"},"
		   "{\"ip\":\"10.244.0.2\",\"hostname\":\"x\\ny\"}]}]}]",
		   NULL, &f), 0);
	CHECK_STR(f.hosts, HDR_H
		  "10.244.0.2 10-244-0-2.h.default.svc.cluster.local\n"
		  "10.244.0.2 h.default.svc.cluster.local\n"
		  "10.96.0.6 d.default.svc.cluster.local\n");
	CHECK_STR(f.records, HDR_R
		  "srv-host=_good._tcp.d.default.svc.cluster.local,d.default.svc.cluster.local,3,0,100\n");
	CHECK(!strstr(f.hosts, "server=") && !strstr(f.records, "server="));
	CHECK(!strstr(f.hosts, "evil") && !strstr(f.hosts, "1.2.3.4"));
	/* one per bad service/port/address/hostname, control chars masked */
	CHECK_EQ(json_array_size(f.warnings), 9);
	size_t i;
	json_t *w;
	json_array_foreach(f.warnings, i, w)
		CHECK(!strchr(json_string_value(w), '\n'));
	dns_files_free(&f);

	/* a bad cluster domain fails the whole render */
	CHECK_EQ(R("[]", NULL, "cluster.local\nserver=1.1.1.1", &f), -EINVAL);
	CHECK_EQ(R("[]", NULL, "Cluster.Local", &f), -EINVAL);
}

static void t_determinism(void)
{
	struct dns_files a, b;
	const char *svcs1 =
		"[{\"metadata\":{\"name\":\"b\",\"namespace\":\"n2\"},\"spec\":{\"clusterIP\":\"10.96.0.20\",\"ports\":[{\"name\":\"p\",\"port\":1}]}},"
		" {\"metadata\":{\"name\":\"a\",\"namespace\":\"n1\"},\"spec\":{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"name\":\"q\",\"port\":2}]}},"
		" {\"metadata\":{\"name\":\"e\",\"namespace\":\"n1\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"x.org\"}},"
		" {\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}}]";
	const char *svcs2 =
		"[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":\"pg\",\"port\":5432}]}},"
		" {\"metadata\":{\"name\":\"e\",\"namespace\":\"n1\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"x.org\"}},"
		" {\"metadata\":{\"name\":\"a\",\"namespace\":\"n1\"},\"spec\":{\"clusterIP\":\"10.96.0.9\",\"ports\":[{\"name\":\"q\",\"port\":2}]}},"
		" {\"metadata\":{\"name\":\"b\",\"namespace\":\"n2\"},\"spec\":{\"clusterIP\":\"10.96.0.20\",\"ports\":[{\"name\":\"p\",\"port\":1}]}}]";
	const char *eps2 =
		"[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"subsets\":["
		"{\"addresses\":[{\"ip\":\"10.244.2.6\"}],\"ports\":[{\"name\":\"pg\",\"port\":5432}]},"
		"{\"addresses\":[{\"ip\":\"10.244.1.5\",\"hostname\":\"db-0\"}],\"ports\":[{\"name\":\"pg\",\"port\":5432}]}]}]";
	const char *eps1 =
		"[{\"metadata\":{\"name\":\"db\",\"namespace\":\"prod\"},\"subsets\":["
		"{\"addresses\":[{\"ip\":\"10.244.1.5\",\"hostname\":\"db-0\"}],\"ports\":[{\"name\":\"pg\",\"port\":5432}]},"
		"{\"addresses\":[{\"ip\":\"10.244.2.6\"}],\"ports\":[{\"name\":\"pg\",\"port\":5432}]}]}]";
	CHECK_EQ(R(svcs1, eps1, NULL, &a), 0);
	CHECK_EQ(R(svcs2, eps2, NULL, &b), 0);
	CHECK_STR(a.hosts, b.hosts);
	CHECK_STR(a.records, b.records);
	CHECK_EQ(a.n_a, 6);
	CHECK_EQ(a.n_srv, 4);
	CHECK_EQ(a.n_cname, 1);
	dns_files_free(&a);
	dns_files_free(&b);
}

static void t_snapshot_docs(void)
{
	json_t *docs = J("[{\"kind\":\"ServiceList\",\"items\":[{\"metadata\":{\"name\":\"s\"},"
			 "\"spec\":{\"clusterIP\":\"10.96.0.7\"}}]},"
			 "{\"kind\":\"List\",\"items\":[{\"kind\":\"Endpoints\",\"metadata\":{\"name\":\"s\"}},"
			 "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"}}]},"
			 "{\"kind\":\"Service\",\"metadata\":{\"name\":\"t\"},\"spec\":{\"clusterIP\":\"10.96.0.8\"}}]");
	json_t *holder = NULL;
	struct dns_snapshot s;
	CHECK_EQ(dns_snapshot_from_docs(docs, &holder, &s, NULL), 0);
	CHECK_EQ(json_array_size(s.services), 2);
	CHECK_EQ(json_array_size(s.endpoints), 1);
	json_decref(holder);
	json_decref(docs);
}

static char *resolv(const char *pod, const char *host_file, int *rc)
{
	json_t *p = J(pod);
	struct dns_resolv r;
	struct dns_pod_opts o = { .host_resolv_conf = host_file };
	struct gerr e = { 0 };
	char *t = NULL;
	*rc = dns_pod_resolv(p, &o, &r, &e);
	if (!*rc) {
		t = dns_resolv_text(&r);
		dns_resolv_free(&r);
	}
	json_decref(p);
	return t;
}

static void t_resolv(void)
{
	int rc;
	char *t = resolv("{\"metadata\":{\"namespace\":\"prod\"},\"spec\":{}}", NULL, &rc);
	CHECK_EQ(rc, 0);
	CHECK_STR(t, "search prod.svc.cluster.local svc.cluster.local cluster.local\n"
		     "nameserver 10.96.0.10\noptions ndots:5\n");
	free(t);

	/* dnsConfig adds a nameserver and a search domain, overrides ndots */
	t = resolv("{\"metadata\":{\"namespace\":\"a\"},\"spec\":{\"dnsPolicy\":\"ClusterFirst\","
		   "\"dnsConfig\":{\"nameservers\":[\"10.0.0.53\",\"10.96.0.10\"],\"searches\":[\"corp.example.\"],"
		   "\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},{\"name\":\"edns0\"}]}}}", NULL, &rc);
	CHECK_EQ(rc, 0);
	CHECK_STR(t, "search a.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
		     "nameserver 10.96.0.10\nnameserver 10.0.0.53\noptions ndots:2 edns0\n");
	free(t);

	/* None: only dnsConfig */
	t = resolv("{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.2.3.4\"]}}}",
		   NULL, &rc);
	CHECK_EQ(rc, 0);
	CHECK_STR(t, "nameserver 1.2.3.4\n");
	free(t);

	/* Default and hostNetwork+ClusterFirst: the host's file */
	char tmpl[] = "/tmp/dns_test_resolvXXXXXX";
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	const char *host = "# host\nnameserver 192.0.2.1\nnameserver bogus\nsearch lan.example\n"
			   "options ndots:1 rotate\n";
	CHECK_EQ(write(fd, host, strlen(host)), (long long)strlen(host));
	close(fd);
	t = resolv("{\"spec\":{\"dnsPolicy\":\"Default\"}}", tmpl, &rc);
	CHECK_EQ(rc, 0);
	CHECK_STR(t, "search lan.example\nnameserver 192.0.2.1\noptions ndots:1\n");
	free(t);
	t = resolv("{\"spec\":{\"hostNetwork\":true}}", tmpl, &rc);
	CHECK_STR(t, "search lan.example\nnameserver 192.0.2.1\noptions ndots:1\n");
	free(t);
	t = resolv("{\"spec\":{\"hostNetwork\":true,\"dnsPolicy\":\"ClusterFirstWithHostNet\"}}", tmpl, &rc);
	CHECK(t && strstr(t, "nameserver 10.96.0.10\n"));
	free(t);
	unlink(tmpl);

	/* bad input */
	t = resolv("{\"spec\":{\"dnsPolicy\":\"None\"}}", NULL, &rc);
	CHECK_EQ(rc, -EINVAL);
	t = resolv("{\"spec\":{\"dnsPolicy\":\"Weird\"}}", NULL, &rc);
	CHECK_EQ(rc, -EINVAL);
	t = resolv("{\"spec\":{\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\\nnameserver 6.6.6.6\"]}}}",
		   NULL, &rc);
	CHECK_EQ(rc, -EINVAL);
	t = resolv("{\"spec\":{\"dnsConfig\":{\"searches\":[\"a b\"]}}}", NULL, &rc);
	CHECK_EQ(rc, -EINVAL);
	t = resolv("{\"spec\":{\"dnsConfig\":{\"options\":[{\"name\":\"x\\ny\"}]}}}", NULL, &rc);
	CHECK_EQ(rc, -EINVAL);
	t = resolv("{\"spec\":{\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\",\"1.1.1.2\",\"1.1.1.3\"]}}}",
		   NULL, &rc);   /* 10.96.0.10 + 3 > MAXNS */
	CHECK_EQ(rc, -EINVAL);
	t = resolv("{\"metadata\":{\"namespace\":\"Bad_NS\"},\"spec\":{}}", NULL, &rc);
	CHECK_EQ(rc, -EINVAL);
}

TEST_MAIN(T(t_validators), T(t_cluster_ip_a_and_srv), T(t_headless), T(t_external_name),
	  T(t_injection), T(t_determinism), T(t_snapshot_docs), T(t_resolv))
