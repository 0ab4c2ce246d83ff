/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-agent YAML configuration parser (libyaml document API). Every
 * error names the field; unknown fields are errors too, so a typo never
 * silently falls back to a default. */
#include "agent/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/fileutil.h"

int agentcfg_parse_cidr(const char *s, uint32_t *net, uint8_t *prefix)
{
	char buf[64], *slash, *end;
	struct in_addr a;
	long p;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	errno = 0;
	p = strtol(slash + 1, &end, 10);
	if (errno || *end || end == slash + 1 || p < 0 || p > 32)
		return -EINVAL;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	/* host bits set? (shifting a 32-bit value by 32 is undefined) */
	if (p == 0 ? a.s_addr != 0 :
	    p < 32 && (ntohl(a.s_addr) & ~(0xffffffffu << (32 - p))))
		return -EINVAL;
	*net = a.s_addr;
	*prefix = (uint8_t)p;
	return 0;
}

static bool cidr_contains(uint32_t net, uint8_t prefix, uint32_t inner, uint8_t iprefix)
{
	uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;

	return iprefix >= prefix && (ntohl(inner) & mask) == ntohl(net);
}

static bool cidr_overlap(uint32_t a, uint8_t ap, uint32_t b, uint8_t bp)
{
	return ap <= bp ? cidr_contains(a, ap, b & htonl(ap ? 0xffffffffu << (32 - ap) : 0), bp)
			: cidr_contains(b, bp, a & htonl(bp ? 0xffffffffu << (32 - bp) : 0), ap);
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
	(void)doc;
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

static int set_str(char *dst, size_t size, const char *field, const char *v,
		   struct gerr *err)
{
	if (!v)
		return gerr_set(err, -EINVAL, "%s: must be a string", field);
	if (!*v)
		return gerr_set(err, -EINVAL, "%s: must not be empty", field);
	if (strlen(v) >= size)
		return gerr_set(err, -EINVAL, "%s: longer than %zu characters", field, size - 1);
	snprintf(dst, size, "%s", v);
	return 0;
}

static int set_ip(uint32_t *dst, const char *field, const char *v, struct gerr *err)
{
	struct in_addr a;

	if (!v || inet_pton(AF_INET, v, &a) != 1)
		return gerr_set(err, -EINVAL, "%s: \"%s\" is not an IPv4 address", field,
				v ? v : "");
	*dst = a.s_addr;
	return 0;
}

static int set_cidr(uint32_t *net, uint8_t *prefix, const char *field, const char *v,
		    struct gerr *err)
{
	if (!v || agentcfg_parse_cidr(v, net, prefix))
		return gerr_set(err, -EINVAL, "%s: \"%s\" is not an IPv4 CIDR (a.b.c.d/n, no host bits)",
				field, v ? v : "");
	return 0;
}

static bool valid_ifname(const char *s)
{
	if (!s || !*s || strlen(s) >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ')
			return false;
	return true;
}

/* v is a whole decimal integer in [min, max]. */
static bool int_in(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	if (!v || !*v)
		return false;
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || *end || n < min || n > max)
		return false;
	*out = n;
	return true;
}

static bool valid_node_name(const char *s)
{
	for (; *s; s++)
		if (!(((*s | 0x20) >= 'a' && (*s | 0x20) <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return false;
	return true;
}

static int parse_peer(yaml_document_t *doc, yaml_node_t *n, size_t idx,
		      struct agentcfg_peer *p, struct gerr *err)
{
	char field[64];
	bool have_ip = false, have_cidr = false;
	int ret;

	if (n->type != YAML_MAPPING_NODE)
		return gerr_set(err, -EINVAL, "peers[%zu]: must be a mapping", idx);
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	     pr < n->data.mapping.pairs.top; pr++) {
		const char *k = scalar(doc, yaml_document_get_node(doc, pr->key));
		const char *v = scalar(doc, yaml_document_get_node(doc, pr->value));

		snprintf(field, sizeof(field), "peers[%zu].%s", idx, k ? k : "?");
		if (!k)
			return gerr_set(err, -EINVAL, "peers[%zu]: keys must be strings", idx);
		if (!strcmp(k, "name")) {
			ret = set_str(p->name, sizeof(p->name), field, v, err);
		} else if (!strcmp(k, "nodeIP")) {
			ret = set_ip(&p->node_ip, field, v, err);
			have_ip = true;
		} else if (!strcmp(k, "podCIDR")) {
			ret = set_cidr(&p->pod_cidr, &p->pod_prefix, field, v, err);
			have_cidr = true;
		} else {
			ret = gerr_set(err, -EINVAL, "%s: unknown field", field);
		}
		if (ret)
			return ret;
	}
	if (!have_ip)
		return gerr_set(err, -EINVAL, "peers[%zu].nodeIP: required", idx);
	if (!have_cidr)
		return gerr_set(err, -EINVAL, "peers[%zu].podCIDR: required", idx);
	if (!p->name[0])
		snprintf(p->name, sizeof(p->name), "peer%zu", idx);
	return 0;
}

static int parse_root(yaml_document_t *doc, yaml_node_t *root, struct agentcfg *c,
		      struct gerr *err)
{
	bool have_name = false, have_ip = false, have_if = false, have_pod = false;
	int ret = 0;

	if (!root || root->type != YAML_MAPPING_NODE)
		return gerr_set(err, -EINVAL, "config: top level must be a mapping");
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
	     pr < root->data.mapping.pairs.top && !ret; pr++) {
		yaml_node_t *vn = yaml_document_get_node(doc, pr->value);
		const char *k = scalar(doc, yaml_document_get_node(doc, pr->key));
		const char *v = scalar(doc, vn);

		if (!k)
			return gerr_set(err, -EINVAL, "config: keys must be strings");
		if (!strcmp(k, "nodeName")) {
			ret = set_str(c->node_name, sizeof(c->node_name), k, v, err);
			if (!ret && !valid_node_name(c->node_name))
				ret = gerr_set(err, -EINVAL, "nodeName: only letters, digits, '-', '.', '_'");
			have_name = true;
		} else if (!strcmp(k, "nodeIP")) {
			ret = set_ip(&c->node_ip, k, v, err);
			have_ip = true;
		} else if (!strcmp(k, "underlayInterface")) {
			ret = set_str(c->underlay_ifname, sizeof(c->underlay_ifname), k, v, err);
			if (!ret && !valid_ifname(v))
				ret = gerr_set(err, -EINVAL, "underlayInterface: invalid interface name");
			have_if = true;
		} else if (!strcmp(k, "podCIDR")) {
			ret = set_cidr(&c->pod_cidr, &c->pod_prefix, k, v, err);
			if (!ret && (c->pod_prefix < 8 || c->pod_prefix > 30))
				ret = gerr_set(err, -EINVAL, "podCIDR: prefix must be /8../30");
			have_pod = true;
		} else if (!strcmp(k, "clusterCIDR")) {
			ret = set_cidr(&c->cluster_cidr, &c->cluster_prefix, k, v, err);
		} else if (!strcmp(k, "mtu")) {
			long m;

			if (!int_in(v, 576, 65535, &m))
				ret = gerr_set(err, -EINVAL, "mtu: must be an integer 576..65535");
			else
				c->mtu = (unsigned)m;
		} else if (!strcmp(k, "stateDir")) {
			ret = set_str(c->state_dir, sizeof(c->state_dir), k, v, err);
			if (!ret && v[0] != '/')
				ret = gerr_set(err, -EINVAL, "stateDir: must be an absolute path");
		} else if (!strcmp(k, "socket")) {
			ret = set_str(c->socket_path, sizeof(c->socket_path), k, v, err);
			if (!ret && v[0] != '/')
				ret = gerr_set(err, -EINVAL, "socket: must be an absolute path");
		} else if (!strcmp(k, "pinRoot")) {
			ret = set_str(c->pin_root, sizeof(c->pin_root), k, v, err);
			if (!ret && v[0] != '/')
				ret = gerr_set(err, -EINVAL, "pinRoot: must be an absolute path");
		} else if (!strcmp(k, "metricsAddress")) {
			/* empty string disables the HTTP endpoint */
			if (v && !*v) {
				c->metrics_addr[0] = 0;
			} else {
				ret = set_str(c->metrics_addr, sizeof(c->metrics_addr), k, v, err);
				if (!ret && !strrchr(v, ':'))
					ret = gerr_set(err, -EINVAL, "metricsAddress: must be ip:port");
			}
		} else if (!strcmp(k, "underlayMode")) {
			if (v && !strcmp(v, "auto"))
				c->underlay_mode = DP_UNDERLAY_AUTO;
			else if (v && !strcmp(v, "xdp"))
				c->underlay_mode = DP_UNDERLAY_XDP;
			else if (v && !strcmp(v, "tc"))
				c->underlay_mode = DP_UNDERLAY_TC;
			else
				ret = gerr_set(err, -EINVAL, "underlayMode: must be auto, xdp or tc");
		} else if (!strcmp(k, "kubeconfig")) {
			ret = set_str(c->kubeconfig, sizeof(c->kubeconfig), k, v, err);
		} else if (!strcmp(k, "leaseSeconds") || !strcmp(k, "syncMilliseconds")) {
			long n;

			if (!int_in(v, 1, 3600000, &n))
				ret = gerr_set(err, -EINVAL, "%s: must be a positive integer", k);
			else if (k[0] == 'l')
				c->lease_sec = (unsigned)n;
			else
				c->sync_ms = (unsigned)n;
		} else if (!strcmp(k, "podNetnsPrefix")) {
			ret = set_str(c->netns_prefix, sizeof(c->netns_prefix), k, v, err);
		} else if (!strcmp(k, "kubeletPort")) {
			long n;

			if (!int_in(v, 1, 65535, &n))
				ret = gerr_set(err, -EINVAL, "kubeletPort: must be 1..65535");
			else
				c->kubelet_port = (unsigned)n;
		} else if (!strcmp(k, "agentEndpoint")) {
			ret = set_str(c->agent_endpoint, sizeof(c->agent_endpoint), k, v, err);
			if (!ret && strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
				ret = gerr_set(err, -EINVAL, "agentEndpoint: must be an http(s):// URL");
		} else if (!strcmp(k, "policyAllowEvents")) {
			if (v && (!strcmp(v, "true") || !strcmp(v, "false")))
				c->policy_allow_events = !strcmp(v, "true");
			else
				ret = gerr_set(err, -EINVAL, "policyAllowEvents: must be true or false");
		} else if (!strcmp(k, "cgroupParent")) {
			ret = set_str(c->cgroup_parent, sizeof(c->cgroup_parent), k, v, err);
		} else if (!strcmp(k, "cniBin")) {
			ret = set_str(c->cni_bin, sizeof(c->cni_bin), k, v, err);
		} else if (!strcmp(k, "peers")) {
			if (vn->type == YAML_SCALAR_NODE && (!*v || !strcmp(v, "null") || !strcmp(v, "~")))
				continue;
			if (vn->type != YAML_SEQUENCE_NODE)
				return gerr_set(err, -EINVAL, "peers: must be a list");
			for (yaml_node_item_t *it = vn->data.sequence.items.start;
			     it < vn->data.sequence.items.top && !ret; it++) {
				if (c->n_peers >= AGENTCFG_MAX_PEERS)
					return gerr_set(err, -EINVAL, "peers: more than %d", AGENTCFG_MAX_PEERS);
				ret = parse_peer(doc, yaml_document_get_node(doc, *it), c->n_peers,
						 &c->peers[c->n_peers], err);
				c->n_peers++;
			}
		} else {
			ret = gerr_set(err, -EINVAL, "%s: unknown field", k);
		}
	}
	if (ret)
		return ret;
	if (!have_name)
		return gerr_set(err, -EINVAL, "nodeName: required");
	if (!have_ip)
		return gerr_set(err, -EINVAL, "nodeIP: required");
	if (!have_if)
		return gerr_set(err, -EINVAL, "underlayInterface: required");
	/* in API mode the Node's spec.podCIDR (node IPAM controller) is
	 * waited for at start when the file has none */
	if (!have_pod && !c->kubeconfig[0])
		return gerr_set(err, -EINVAL, "podCIDR: required");
	if (have_pod &&
	    !cidr_contains(c->cluster_cidr, c->cluster_prefix, c->pod_cidr, c->pod_prefix))
		return gerr_set(err, -EINVAL, "podCIDR: not inside clusterCIDR");
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct agentcfg_peer *p = &c->peers[i];

		if (cidr_overlap(p->pod_cidr, p->pod_prefix, c->pod_cidr, c->pod_prefix))
			return gerr_set(err, -EINVAL, "peers[%zu].podCIDR: overlaps this node's podCIDR", i);
		if (p->node_ip == c->node_ip)
			return gerr_set(err, -EINVAL, "peers[%zu].nodeIP: is this node's nodeIP", i);
		for (size_t j = 0; j < i; j++)
			if (cidr_overlap(p->pod_cidr, p->pod_prefix, c->peers[j].pod_cidr,
					 c->peers[j].pod_prefix))
				return gerr_set(err, -EINVAL, "peers[%zu].podCIDR: overlaps peers[%zu]", i, j);
	}
	if (!c->state_dir[0])
		snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/gannet/%s", c->node_name);
	if (!c->socket_path[0])
		snprintf(c->socket_path, sizeof(c->socket_path), "/run/gannet/%s/agent.sock",
			 c->node_name);
	if (!c->lease_sec)
		c->lease_sec = 10;
	if (!c->kubelet_port)
		c->kubelet_port = 10250;
	if (!c->sync_ms)
		c->sync_ms = 1000;
	if (!c->cgroup_parent[0])
		snprintf(c->cgroup_parent, sizeof(c->cgroup_parent), "gannet/%.64s", c->node_name);
	if (!c->netns_prefix[0])
		snprintf(c->netns_prefix, sizeof(c->netns_prefix), "gannet-%.32s-", c->node_name);
	return 0;
}

int agentcfg_parse(const char *text, size_t len, struct agentcfg *c, struct gerr *err)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int ret;

	memset(c, 0, sizeof(*c));
	agentcfg_parse_cidr("10.244.0.0/16", &c->cluster_cidr, &c->cluster_prefix);
	snprintf(c->pin_root, sizeof(c->pin_root), "%s", DP_PIN_ROOT_DEFAULT);
	snprintf(c->metrics_addr, sizeof(c->metrics_addr), "0.0.0.0:9962");
	c->underlay_mode = DP_UNDERLAY_AUTO;

	if (!yaml_parser_initialize(&parser))
		return gerr_set(err, -ENOMEM, "yaml parser init");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		ret = gerr_set(err, -EINVAL, "config: YAML error at line %zu: %s",
			       parser.problem_mark.line + 1,
			       parser.problem ? parser.problem : "unknown");
		yaml_parser_delete(&parser);
		return ret;
	}
	ret = parse_root(&doc, yaml_document_get_root_node(&doc), c, err);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return ret;
}

int agentcfg_load(const char *path, struct agentcfg *c, struct gerr *err)
{
	char *buf;
	size_t len;
	int ret = fu_read_file_max(path, 1 << 20, &buf, &len);

	if (ret == -EFBIG)
		return gerr_set(err, ret, "%s: larger than 1 MiB", path);
	if (ret)
		return gerr_set(err, ret, "%s: %s", path, strerror(-ret));
	ret = agentcfg_parse(buf, len, c, err);
	if (ret)
		gerr_wrap(err, "%s", path);
	free(buf);
	return ret;
}
