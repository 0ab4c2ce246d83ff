/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the gannet-agent YAML config parser (agent/config.c):
 * the documented example, defaults, and that every invalid input is
 * rejected with a message naming the field. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "agent/config.h"
#include "tests/unit/test.h"

static uint32_t A(const char *s)
{
	struct in_addr a;

	inet_pton(AF_INET, s, &a);
	return a.s_addr;
}

static const char *full =
	"nodeName: node1\n"
	"nodeIP: 192.168.250.11\n"
	"underlayInterface: eth0        # in the netns the agent runs in\n"
	"podCIDR: 10.244.1.0/24\n"
	"clusterCIDR: 10.244.0.0/16\n"
	"mtu: 1450\n"
	"stateDir: /var/lib/gannet/node1\n"
	"socket: /run/gannet/node1/agent.sock\n"
	"pinRoot: /sys/fs/bpf/gannet\n"
	"metricsAddress: 0.0.0.0:9962\n"
	"underlayMode: xdp\n"
	"peers:\n"
	"  - {name: node2, nodeIP: 192.168.250.12, podCIDR: 10.244.2.0/24}\n"
	"  - name: node3\n"
	"    nodeIP: 192.168.250.13\n"
	"    podCIDR: 10.244.3.0/24\n";

static struct agentcfg c;

static int parse(const char *s, struct gerr *e)
{
	memset(e, 0, sizeof(*e));
	return agentcfg_parse(s, strlen(s), &c, e);
}

static void t_full(void)
{
	struct gerr e;

	CHECK_EQ(parse(full, &e), 0);
	CHECK_STR(c.node_name, "node1");
	CHECK_EQ(c.node_ip, A("192.168.250.11"));
	CHECK_STR(c.underlay_ifname, "eth0");
	CHECK_EQ(c.pod_cidr, A("10.244.1.0"));
	CHECK_EQ(c.pod_prefix, 24);
	CHECK_EQ(c.cluster_cidr, A("10.244.0.0"));
	CHECK_EQ(c.cluster_prefix, 16);
	CHECK_EQ(c.mtu, 1450);
	CHECK_STR(c.state_dir, "/var/lib/gannet/node1");
	CHECK_STR(c.socket_path, "/run/gannet/node1/agent.sock");
	CHECK_STR(c.pin_root, "/sys/fs/bpf/gannet");
	CHECK_STR(c.metrics_addr, "0.0.0.0:9962");
	CHECK_EQ(c.underlay_mode, DP_UNDERLAY_XDP);
	CHECK_EQ(c.n_peers, 2);
	CHECK_STR(c.peers[0].name, "node2");
	CHECK_EQ(c.peers[0].node_ip, A("192.168.250.12"));
	CHECK_EQ(c.peers[0].pod_cidr, A("10.244.2.0"));
	CHECK_EQ(c.peers[0].pod_prefix, 24);
	CHECK_STR(c.peers[1].name, "node3");
	CHECK_EQ(c.peers[1].pod_cidr, A("10.244.3.0"));
}

static void t_defaults(void)
{
	struct gerr e;

	CHECK_EQ(parse("nodeName: n7\nnodeIP: 10.0.0.7\nunderlayInterface: eth1\n"
		       "podCIDR: 10.244.7.0/24\n", &e), 0);
	CHECK_EQ(c.mtu, 0);   /* = underlay MTU - 50 at run time */
	CHECK_STR(c.state_dir, "/var/lib/gannet/n7");
	CHECK_STR(c.socket_path, "/run/gannet/n7/agent.sock");
	CHECK_STR(c.pin_root, "/sys/fs/bpf/gannet");
	CHECK_STR(c.metrics_addr, "0.0.0.0:9962");
	CHECK_EQ(c.cluster_cidr, A("10.244.0.0"));
	CHECK_EQ(c.cluster_prefix, 16);
	CHECK_EQ(c.underlay_mode, DP_UNDERLAY_AUTO);
	CHECK_EQ(c.n_peers, 0);
	CHECK(!c.policy_allow_events);
	CHECK_EQ(parse("nodeName: n7\nnodeIP: 10.0.0.7\nunderlayInterface: eth1\n"
		       "podCIDR: 10.244.7.0/24\npolicyAllowEvents: true\n", &e), 0);
	CHECK(c.policy_allow_events);
	CHECK(parse("nodeName: n7\nnodeIP: 10.0.0.7\nunderlayInterface: eth1\n"
		    "podCIDR: 10.244.7.0/24\npolicyAllowEvents: maybe\n", &e) < 0);
	CHECK(strstr(e.msg, "policyAllowEvents") != NULL);
	CHECK_EQ(parse("nodeName: n7\nnodeIP: 10.0.0.7\nunderlayInterface: eth1\n"
		       "podCIDR: 10.244.7.0/24\npeers: []\nmetricsAddress: \"\"\n", &e), 0);
	CHECK_STR(c.metrics_addr, "");
}

/* Replaces the line starting with key in the full example by repl (or
 * removes it when repl is ""), parses, and checks the message names field. */
static void bad(const char *key, const char *repl, const char *field)
{
	char buf[2048], *p, *eol;
	struct gerr e;
	int ret;

	snprintf(buf, sizeof(buf), "%s", full);
	p = strstr(buf, key);
	if (!p) {
		CHECK(!"key not in example");
		return;
	}
	eol = strchr(p, '\n');
	memmove(p + strlen(repl), eol + 1, strlen(eol + 1) + 1);
	memcpy(p, repl, strlen(repl));
	ret = parse(buf, &e);
	CHECK_EQ(ret, -EINVAL);
	if (!strstr(e.msg, field)) {
		fprintf(stderr, "  message \"%s\" does not name %s\n", e.msg, field);
		CHECK(!"message names the field");
	}
}

static void t_invalid_fields(void)
{
	bad("nodeName:", "", "nodeName");
	bad("nodeName:", "nodeName: a/b\n", "nodeName");
	bad("nodeIP:", "", "nodeIP");
	bad("nodeIP:", "nodeIP: 192.168.250.300\n", "nodeIP");
	bad("underlayInterface:", "", "underlayInterface");
	bad("underlayInterface:", "underlayInterface: a-very-long-interface-name\n",
	    "underlayInterface");
	bad("podCIDR:", "", "podCIDR");
	bad("podCIDR:", "podCIDR: 10.244.1.1/24\n", "podCIDR");      /* host bits */
	bad("podCIDR:", "podCIDR: 10.244.1.0\n", "podCIDR");
	bad("podCIDR:", "podCIDR: 10.245.1.0/24\n", "podCIDR");      /* outside cluster */
	bad("podCIDR:", "podCIDR: 10.244.1.0/31\n", "podCIDR");
	bad("clusterCIDR:", "clusterCIDR: banana\n", "clusterCIDR");
	bad("mtu:", "mtu: 12\n", "mtu");
	bad("mtu:", "mtu: lots\n", "mtu");
	bad("stateDir:", "stateDir: relative/dir\n", "stateDir");
	bad("socket:", "socket: agent.sock\n", "socket");
	bad("pinRoot:", "pinRoot: bpf\n", "pinRoot");
	bad("metricsAddress:", "metricsAddress: 9962\n", "metricsAddress");
	bad("underlayMode:", "underlayMode: fast\n", "underlayMode");
	bad("mtu:", "mtuu: 1450\n", "mtuu");                          /* typo: unknown */
	{
		struct gerr e;

		CHECK_EQ(parse("nodeName: n\nnodeIP: 10.0.0.7\nunderlayInterface: e\n"
			       "podCIDR: 10.244.7.0/24\npeers: {a: b}\n", &e), -EINVAL);
		CHECK(strstr(e.msg, "peers") != NULL);
	}
	bad("  - {name: node2", "  - {name: node2, nodeIP: 192.168.250.12}\n", "peers[0].podCIDR");
	bad("  - {name: node2", "  - {name: node2, podCIDR: 10.244.2.0/24}\n", "peers[0].nodeIP");
	bad("  - {name: node2",
	    "  - {name: node2, nodeIP: 192.168.250.12, podCIDR: 10.244.1.0/25}\n",
	    "peers[0].podCIDR");                                        /* overlaps ours */
	bad("  - {name: node2",
	    "  - {name: node2, nodeIP: 192.168.250.12, podCIDR: 10.244.3.0/24}\n",
	    "peers[1].podCIDR");                                        /* overlaps peer */
	bad("  - {name: node2",
	    "  - {name: node2, nodeIP: 192.168.250.11, podCIDR: 10.244.2.0/24}\n",
	    "peers[0].nodeIP");                                         /* our node IP */
	bad("  - {name: node2",
	    "  - {name: node2, nodeIP: 192.168.250.12, podCIDR: 10.244.2.0/24, x: 1}\n",
	    "peers[0].x");
}

static void t_not_yaml(void)
{
	struct gerr e;

	CHECK_EQ(parse("nodeName: [unclosed\n", &e), -EINVAL);
	CHECK(strstr(e.msg, "YAML") != NULL);
	CHECK_EQ(parse("- just\n- a list\n", &e), -EINVAL);
	CHECK(strstr(e.msg, "mapping") != NULL);
	CHECK_EQ(parse("", &e), -EINVAL);
}

static void t_load(void)
{
	char path[] = "/tmp/agentcfg-test-XXXXXX";
	struct gerr e = { 0 };
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs(full, f);
	fclose(f);
	CHECK_EQ(agentcfg_load(path, &c, &e), 0);
	CHECK_STR(c.node_name, "node1");
	unlink(path);
	memset(&e, 0, sizeof(e));
	CHECK_EQ(agentcfg_load(path, &c, &e), -ENOENT);
	CHECK(strstr(e.msg, path) != NULL);
}

static void t_cidr(void)
{
	uint32_t n;
	uint8_t p;

	CHECK_EQ(agentcfg_parse_cidr("10.244.0.0/16", &n, &p), 0);
	CHECK_EQ(n, A("10.244.0.0"));
	CHECK_EQ(p, 16);
	CHECK_EQ(agentcfg_parse_cidr("0.0.0.0/0", &n, &p), 0);
	CHECK_EQ(agentcfg_parse_cidr("10.244.0.1/32", &n, &p), 0);
	CHECK(agentcfg_parse_cidr("10.244.0.0/33", &n, &p) < 0);
	CHECK(agentcfg_parse_cidr("10.244.0.0/", &n, &p) < 0);
	CHECK(agentcfg_parse_cidr("10.244.0.0/8x", &n, &p) < 0);
	CHECK(agentcfg_parse_cidr("1.2.3.4/0", &n, &p) < 0);
}

TEST_MAIN(T(t_full), T(t_defaults), T(t_invalid_fields), T(t_not_yaml), T(t_load), T(t_cidr))
