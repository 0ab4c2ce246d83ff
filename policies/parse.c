/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkPolicy validation and parsing. Error messages follow the API
 * server's field-error style ("spec.ingress[0].ports[1].port: Invalid value:
 * 70000: must be between 1 and 65535, inclusive") so that gannet-apiserver
 * can return them unchanged. Selector matching itself is
 * common/selectors.c; here we only check what it does not (label key
 * and value syntax, operator/values consistency, unknown fields). */
#include "policies/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/names.h"

#define PATH_MAX_LEN 160

/* Field paths are built with snprintf into fixed buffers; a path that
 * does not fit (deeply nested, huge indexes) is truncated in the message,
 * which is harmless, so gcc's truncation warning is off for this file. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* ---- syntax helpers ---------------------------------------------------- */

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most max characters. */
static bool is_label_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* Qualified name: [prefix/]name, prefix a DNS subdomain, name <= 63. */
static bool is_label_key(const char *k)
{
	const char *slash = strchr(k, '/');

	if (!slash)
		return is_label_name(k, 63);
	if (strchr(slash + 1, '/'))
		return false;
	return name_k8s_subdomain_n(k, slash - k) && is_label_name(slash + 1, 63);
}

static bool is_label_value(const char *v)
{
	return !*v || is_label_name(v, 63);
}

/* IANA_SVC_NAME: 1-15 of [a-z0-9-], a letter somewhere, no leading,
 * trailing or double hyphen. */
static bool is_port_name(const char *s)
{
	size_t n = strlen(s);
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (islower((unsigned char)s[i]))
			letter = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
		if (s[i] == '-' && i && s[i - 1] == '-')
			return false;
	}
	return letter;
}

int pol_proto_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "TCP"))
		return POL_PROTO_TCP;
	if (!strcmp(s, "UDP"))
		return POL_PROTO_UDP;
	if (!strcmp(s, "SCTP"))
		return POL_PROTO_SCTP;
	return -1;
}

const char *pol_proto_name(uint8_t proto)
{
	switch (proto) {
	case POL_PROTO_ANY: return "any";
	case POL_PROTO_TCP: return "TCP";
	case POL_PROTO_UDP: return "UDP";
	case POL_PROTO_SCTP: return "SCTP";
	}
	return "?";
}

/* "a.b.c.d/len", strictly; host bits are cleared (Kubernetes parses CIDRs
 * sloppily and keeps the network). Returns 0, -EINVAL, or -EAFNOSUPPORT for
 * a valid IPv6 CIDR. */
int pol_parse_cidr(const char *s, struct pol_prefix *out)
{
	char buf[64], *slash, *end;
	struct in_addr a;
	unsigned char a6[16];
	long len;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (!slash || !slash[1])
		return -EINVAL;
	*slash = '\0';
	if (!isdigit((unsigned char)slash[1]))
		return -EINVAL;
	len = strtol(slash + 1, &end, 10);
	if (*end)
		return -EINVAL;
	if (inet_pton(AF_INET6, buf, a6) == 1)
		return len >= 0 && len <= 128 ? -EAFNOSUPPORT : -EINVAL;
	if (inet_pton(AF_INET, buf, &a) != 1 || len < 0 || len > 32)
		return -EINVAL;
	out->plen = (uint8_t)len;
	out->ip = ntohl(a.s_addr) & pol_mask(out->plen);
	return 0;
}

/* ---- field checks -------------------------------------------------------- */

static int bad(struct gerr *err, const char *path, const char *kind, const json_t *v,
	       const char *detail)
{
	char *val = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	int ret;

	if (v)
		ret = gerr_set(err, -EINVAL, "%s: %s: %.128s: %s", path, kind,
			       val ? val : "?", detail);
	else
		ret = gerr_set(err, -EINVAL, "%s: %s: %s", path, kind, detail);
	free(val);
	return ret;
}

static int check_fields(const json_t *obj, const char *path, const char *const *known,
			struct gerr *err)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v) {
		bool ok = false;

		for (const char *const *p = known; *p; p++)
			if (!strcmp(*p, k))
				ok = true;
		if (!ok) {
			char f[PATH_MAX_LEN + 64];

			snprintf(f, sizeof(f), "%s.%s", path, k);
			return bad(err, f, "Unsupported value", NULL,
				   "field is not supported by Gannet's NetworkPolicy engine");
		}
	}
	return 0;
}

static int check_selector(const json_t *ls, const char *path, struct selector *out,
			  struct gerr *err)
{
	static const char *const sel_fields[] = { "matchLabels", "matchExpressions", NULL };
	static const char *const expr_fields[] = { "key", "operator", "values", NULL };
	char f[PATH_MAX_LEN + 96];
	const json_t *ml, *me, *v;
	struct gerr serr = { 0 };
	const char *k;
	size_t i, j;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!ls || json_is_null(ls))
		return 0;
	if (!json_is_object(ls))
		return bad(err, path, "Invalid value", ls, "must be an object");
	ret = check_fields(ls, path, sel_fields, err);
	if (ret)
		return ret;
	ml = json_object_get(ls, "matchLabels");
	if (ml && !json_is_null(ml)) {
		if (!json_is_object(ml)) {
			snprintf(f, sizeof(f), "%s.matchLabels", path);
			return bad(err, f, "Invalid value", ml, "must be an object");
		}
		json_object_foreach((json_t *)ml, k, v) {
			snprintf(f, sizeof(f), "%s.matchLabels", path);
			if (!is_label_key(k)) {
				json_t *kj = json_string(k);

				ret = bad(err, f, "Invalid value", kj,
					  "a valid label key must be an optional DNS subdomain prefix and '/' followed by a name of at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character");
				json_decref(kj);
				return ret;
			}
			if (!json_is_string(v) || !is_label_value(json_string_value(v))) {
				snprintf(f, sizeof(f), "%s.matchLabels[%s]", path, k);
				return bad(err, f, "Invalid value", v,
					   "a valid label value must be a string of at most 63 characters, empty or alphanumeric with '-', '_' or '.' inside");
			}
		}
	}
	me = json_object_get(ls, "matchExpressions");
	if (me && !json_is_null(me) && !json_is_array(me)) {
		snprintf(f, sizeof(f), "%s.matchExpressions", path);
		return bad(err, f, "Invalid value", me, "must be a list");
	}
	json_array_foreach(me, i, v) {
		const json_t *key = json_object_get(v, "key"), *op = json_object_get(v, "operator");
		const json_t *vals = json_object_get(v, "values"), *x;
		const char *ops;

		snprintf(f, sizeof(f), "%s.matchExpressions[%zu]", path, i);
		if (!json_is_object(v))
			return bad(err, f, "Invalid value", v, "must be an object");
		ret = check_fields(v, f, expr_fields, err);
		if (ret)
			return ret;
		snprintf(f, sizeof(f), "%s.matchExpressions[%zu].key", path, i);
		if (!json_is_string(key) || !is_label_key(json_string_value(key)))
			return bad(err, f, "Invalid value", key, "must be a valid label key");
		snprintf(f, sizeof(f), "%s.matchExpressions[%zu].operator", path, i);
		ops = json_string_value(op);
		if (!ops || (strcmp(ops, "In") && strcmp(ops, "NotIn") && strcmp(ops, "Exists") &&
			     strcmp(ops, "DoesNotExist")))
			return bad(err, f, "Unsupported value", op,
				   "supported values: \"In\", \"NotIn\", \"Exists\", \"DoesNotExist\"");
		snprintf(f, sizeof(f), "%s.matchExpressions[%zu].values", path, i);
		if (vals && !json_is_null(vals) && !json_is_array(vals))
			return bad(err, f, "Invalid value", vals, "must be a list");
		if ((!strcmp(ops, "In") || !strcmp(ops, "NotIn")) && json_array_size(vals) == 0)
			return bad(err, f, "Required value", NULL,
				   "must be specified when `operator` is 'In' or 'NotIn'");
		if ((!strcmp(ops, "Exists") || !strcmp(ops, "DoesNotExist")) && json_array_size(vals))
			return bad(err, f, "Forbidden", NULL,
				   "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
		json_array_foreach(vals, j, x) {
			if (!json_is_string(x) || !is_label_value(json_string_value(x))) {
				snprintf(f, sizeof(f), "%s.matchExpressions[%zu].values[%zu]", path, i, j);
				return bad(err, f, "Invalid value", x, "must be a valid label value");
			}
		}
	}
	ret = sel_from_label_selector(ls, out, &serr);
	if (ret)
		return gerr_set(err, ret, "%s: Invalid value: %s", path, serr.msg);
	return 0;
}

static int parse_cidr_field(const json_t *v, const char *path, struct pol_prefix *out,
			    struct gerr *err)
{
	int ret;

	if (!json_is_string(v))
		return bad(err, path, v ? "Invalid value" : "Required value", v,
			   "must be a CIDR string such as 10.0.0.0/8");
	ret = pol_parse_cidr(json_string_value(v), out);
	if (ret == -EAFNOSUPPORT)
		return bad(err, path, "Unsupported value", v, "IPv6 ipBlocks are not supported yet");
	if (ret)
		return bad(err, path, "Invalid value", v, "must be a valid CIDR such as 10.0.0.0/8");
	return 0;
}

static int parse_peer(const json_t *pj, const char *path, struct pol_peer *peer,
		      struct gerr *err)
{
	static const char *const peer_fields[] = { "podSelector", "namespaceSelector", "ipBlock", NULL };
	static const char *const block_fields[] = { "cidr", "except", NULL };
	char f[PATH_MAX_LEN + 64];
	const json_t *ps, *ns, *ib, *ex, *x;
	size_t i;
	int ret;

	memset(peer, 0, sizeof(*peer));
	if (!json_is_object(pj))
		return bad(err, path, "Invalid value", pj, "must be an object");
	ret = check_fields(pj, path, peer_fields, err);
	if (ret)
		return ret;
	ps = json_object_get(pj, "podSelector");
	ns = json_object_get(pj, "namespaceSelector");
	ib = json_object_get(pj, "ipBlock");
	if (json_is_null(ps))
		ps = NULL;
	if (json_is_null(ns))
		ns = NULL;
	if (json_is_null(ib))
		ib = NULL;
	if (!ps && !ns && !ib)
		return bad(err, path, "Required value", NULL,
			   "must specify a peer (podSelector, namespaceSelector or ipBlock)");
	if (ib && (ps || ns))
		return bad(err, path, "Forbidden", NULL,
			   "may not specify both ipBlock and another peer");
	if (ps) {
		snprintf(f, sizeof(f), "%s.podSelector", path);
		ret = check_selector(ps, f, &peer->pod_sel, err);
		if (ret)
			return ret;
		peer->kind |= PEER_POD;
	}
	if (ns) {
		snprintf(f, sizeof(f), "%s.namespaceSelector", path);
		ret = check_selector(ns, f, &peer->ns_sel, err);
		if (ret)
			return ret;
		peer->kind |= PEER_NS;
	}
	if (!ib)
		return 0;
	peer->kind = PEER_BLOCK;
	snprintf(f, sizeof(f), "%s.ipBlock", path);
	if (!json_is_object(ib))
		return bad(err, f, "Invalid value", ib, "must be an object");
	ret = check_fields(ib, f, block_fields, err);
	if (ret)
		return ret;
	snprintf(f, sizeof(f), "%s.ipBlock.cidr", path);
	ret = parse_cidr_field(json_object_get(ib, "cidr"), f, &peer->block, err);
	if (ret)
		return ret;
	ex = json_object_get(ib, "except");
	if (ex && !json_is_null(ex) && !json_is_array(ex)) {
		snprintf(f, sizeof(f), "%s.ipBlock.except", path);
		return bad(err, f, "Invalid value", ex, "must be a list");
	}
	if (json_array_size(ex)) {
		peer->except = calloc(json_array_size(ex), sizeof(*peer->except));
		if (!peer->except)
			return gerr_set(err, -ENOMEM, "out of memory");
	}
	json_array_foreach(ex, i, x) {
		struct pol_prefix *p = &peer->except[peer->n_except];

		snprintf(f, sizeof(f), "%s.ipBlock.except[%zu]", path, i);
		ret = parse_cidr_field(x, f, p, err);
		if (ret)
			return ret;
		if (!pol_prefix_within(p, &peer->block) || p->plen == peer->block.plen)
			return bad(err, f, "Invalid value", x, "must be a strict subset of `cidr`");
		peer->n_except++;
	}
	return 0;
}

static int parse_port(const json_t *pj, const char *path, struct pol_port *port,
		      struct gerr *err)
{
	static const char *const port_fields[] = { "protocol", "port", "endPort", NULL };
	char f[PATH_MAX_LEN + 64];
	const json_t *pr, *p, *end;
	int ret, proto;

	memset(port, 0, sizeof(*port));
	if (!json_is_object(pj))
		return bad(err, path, "Invalid value", pj, "must be an object");
	ret = check_fields(pj, path, port_fields, err);
	if (ret)
		return ret;
	pr = json_object_get(pj, "protocol");
	p = json_object_get(pj, "port");
	end = json_object_get(pj, "endPort");
	if (json_is_null(p))
		p = NULL;
	if (json_is_null(end))
		end = NULL;
	proto = POL_PROTO_TCP;
	if (pr && !json_is_null(pr)) {
		snprintf(f, sizeof(f), "%s.protocol", path);
		proto = pol_proto_parse(json_string_value(pr));
		if (proto < 0)
			return bad(err, f, "Unsupported value", pr,
				   "supported values: \"SCTP\", \"TCP\", \"UDP\"");
	}
	port->proto = (uint8_t)proto;
	snprintf(f, sizeof(f), "%s.port", path);
	if (json_is_integer(p)) {
		json_int_t n = json_integer_value(p);

		if (n < 1 || n > 65535)
			return bad(err, f, "Invalid value", p, "must be between 1 and 65535, inclusive");
		port->port = port->end = (uint16_t)n;
	} else if (json_is_string(p)) {
		if (!is_port_name(json_string_value(p)))
			return bad(err, f, "Invalid value", p,
				   "must be a port number or an IANA_SVC_NAME (at most 15 characters, lowercase letters, digits and '-', at least one letter)");
		port->name = strdup(json_string_value(p));
		if (!port->name)
			return gerr_set(err, -ENOMEM, "out of memory");
	} else if (p) {
		return bad(err, f, "Invalid value", p, "must be an integer or a string");
	}
	if (end) {
		json_int_t n = json_integer_value(end);

		snprintf(f, sizeof(f), "%s.endPort", path);
		if (!json_is_integer(end))
			return bad(err, f, "Invalid value", end, "must be an integer");
		if (!p || port->name)
			return bad(err, f, "Invalid value", end,
				   "may not be specified when `port` is not a number");
		if (n < port->port || n > 65535)
			return bad(err, f, "Invalid value", end,
				   "must be greater than or equal to `port` and at most 65535");
		port->end = (uint16_t)n;
	}
	return 0;
}

static int parse_rules(const json_t *arr, const char *path, enum pol_dir dir,
		       struct pol_policy *pol, struct gerr *err)
{
	static const char *const in_fields[] = { "from", "ports", NULL };
	static const char *const eg_fields[] = { "to", "ports", NULL };
	const char *peers_key = dir == POL_INGRESS ? "from" : "to";
	char f[PATH_MAX_LEN], g[PATH_MAX_LEN + 32];
	const json_t *r, *x;
	size_t i, j;
	int ret;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return bad(err, path, "Invalid value", arr, "must be a list");
	pol->rules[dir] = calloc(json_array_size(arr) + 1, sizeof(struct pol_rule));
	if (!pol->rules[dir])
		return gerr_set(err, -ENOMEM, "out of memory");
	json_array_foreach(arr, i, r) {
		struct pol_rule *rule = &pol->rules[dir][pol->n_rules[dir]++];
		const json_t *peers, *ports;

		snprintf(f, sizeof(f), "%s[%zu]", path, i);
		if (!json_is_object(r))
			return bad(err, f, "Invalid value", r, "must be an object");
		ret = check_fields(r, f, dir == POL_INGRESS ? in_fields : eg_fields, err);
		if (ret)
			return ret;
		peers = json_object_get(r, peers_key);
		ports = json_object_get(r, "ports");
		snprintf(g, sizeof(g), "%s.%s", f, peers_key);
		if (peers && !json_is_null(peers) && !json_is_array(peers))
			return bad(err, g, "Invalid value", peers, "must be a list");
		if (json_array_size(peers)) {
			rule->peers = calloc(json_array_size(peers), sizeof(*rule->peers));
			if (!rule->peers)
				return gerr_set(err, -ENOMEM, "out of memory");
		}
		json_array_foreach(peers, j, x) {
			snprintf(g, sizeof(g), "%s.%s[%zu]", f, peers_key, j);
			rule->n_peers++;
			ret = parse_peer(x, g, &rule->peers[j], err);
			if (ret)
				return ret;
			if (rule->peers[j].kind == PEER_BLOCK)
				pol->has_blocks = true;
		}
		snprintf(g, sizeof(g), "%s.ports", f);
		if (ports && !json_is_null(ports) && !json_is_array(ports))
			return bad(err, g, "Invalid value", ports, "must be a list");
		if (json_array_size(ports)) {
			rule->ports = calloc(json_array_size(ports), sizeof(*rule->ports));
			if (!rule->ports)
				return gerr_set(err, -ENOMEM, "out of memory");
		}
		json_array_foreach(ports, j, x) {
			snprintf(g, sizeof(g), "%s.ports[%zu]", f, j);
			rule->n_ports++;
			ret = parse_port(x, g, &rule->ports[j], err);
			if (ret)
				return ret;
			if (rule->ports[j].name && dir == POL_EGRESS)
				pol->named_egress = true;
		}
	}
	return 0;
}

int pol_parse(const json_t *np, struct pol_policy *out, struct gerr *err)
{
	static const char *const spec_fields[] = { "podSelector", "policyTypes", "ingress",
						   "egress", NULL };
	const json_t *md, *spec, *types, *eg, *x, *av, *kind;
	const char *name, *ns;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(np))
		return gerr_set(err, -EINVAL, "NetworkPolicy must be a JSON object");
	av = json_object_get(np, "apiVersion");
	if (av && (!json_is_string(av) || strcmp(json_string_value(av), "networking.k8s.io/v1"))) {
		ret = bad(err, "apiVersion", "Unsupported value", av,
			  "supported values: \"networking.k8s.io/v1\"");
		goto fail;
	}
	kind = json_object_get(np, "kind");
	if (kind && (!json_is_string(kind) || strcmp(json_string_value(kind), "NetworkPolicy"))) {
		ret = bad(err, "kind", "Unsupported value", kind,
			  "supported values: \"NetworkPolicy\"");
		goto fail;
	}
	md = json_object_get(np, "metadata");
	if (!json_is_object(md)) {
		ret = bad(err, "metadata", md ? "Invalid value" : "Required value", md,
			  "must be an object with a name");
		goto fail;
	}
	if (json_object_get(md, "namespace") && !json_is_null(json_object_get(md, "namespace")) &&
	    !json_is_string(json_object_get(md, "namespace"))) {
		ret = bad(err, "metadata.namespace", "Invalid value", json_object_get(md, "namespace"),
			  "must be a string");
		goto fail;
	}
	name = json_string_value(json_object_get(md, "name"));
	ns = json_string_value(json_object_get(md, "namespace"));
	if (!name) {
		ret = bad(err, "metadata.name", "Required value", NULL, "name is required");
		goto fail;
	}
	if (!name_k8s_subdomain(name)) {
		ret = bad(err, "metadata.name", "Invalid value", json_object_get(md, "name"),
			  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
		goto fail;
	}
	if (ns && !name_dns1123_label(ns)) {
		ret = bad(err, "metadata.namespace", "Invalid value",
			  json_object_get(md, "namespace"), "must be a valid RFC 1123 label");
		goto fail;
	}
	out->name = strdup(name);
	out->ns = strdup(ns && *ns ? ns : "default");
	if (!out->name || !out->ns) {
		ret = gerr_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	spec = json_object_get(np, "spec");
	if (spec && !json_is_object(spec)) {
		ret = bad(err, "spec", "Invalid value", spec, "must be an object");
		goto fail;
	}
	if (spec) {
		ret = check_fields(spec, "spec", spec_fields, err);
		if (ret)
			goto fail;
	}
	/* podSelector is required by the API but its zero value ({}) selects
	 * every pod of the namespace; a missing one is read as {}. */
	ret = check_selector(json_object_get(spec, "podSelector"), "spec.podSelector",
			     &out->pod_sel, err);
	if (ret)
		goto fail;
	ret = parse_rules(json_object_get(spec, "ingress"), "spec.ingress", POL_INGRESS, out, err);
	if (ret)
		goto fail;
	eg = json_object_get(spec, "egress");
	ret = parse_rules(eg, "spec.egress", POL_EGRESS, out, err);
	if (ret)
		goto fail;
	types = json_object_get(spec, "policyTypes");
	if (types && !json_is_null(types) && !json_is_array(types)) {
		ret = bad(err, "spec.policyTypes", "Invalid value", types, "must be a list");
		goto fail;
	}
	if (json_array_size(types) > 2) {
		ret = bad(err, "spec.policyTypes", "Too many", NULL, "must have at most 2 items");
		goto fail;
	}
	json_array_foreach(types, i, x) {
		const char *t = json_string_value(x);
		char f[64];
		int d;

		snprintf(f, sizeof(f), "spec.policyTypes[%zu]", i);
		if (t && !strcmp(t, "Ingress"))
			d = POL_INGRESS;
		else if (t && !strcmp(t, "Egress"))
			d = POL_EGRESS;
		else {
			ret = bad(err, f, "Unsupported value", x,
				  "supported values: \"Egress\", \"Ingress\"");
			goto fail;
		}
		if (out->types[d]) {
			ret = bad(err, f, "Duplicate value", x, "policy types must be unique");
			goto fail;
		}
		out->types[d] = true;
	}
	if (!json_array_size(types)) {
		/* Kubernetes defaulting: Ingress always; Egress only when the
		 * policy has egress rules. */
		out->types[POL_INGRESS] = true;
		out->types[POL_EGRESS] = json_array_size(eg) > 0;
	}
	return 0;
fail:
	pol_policy_free(out);
	return ret;
}

static void free_rules(struct pol_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < rules[i].n_peers; j++) {
			sel_free(&rules[i].peers[j].pod_sel);
			sel_free(&rules[i].peers[j].ns_sel);
			free(rules[i].peers[j].except);
		}
		free(rules[i].peers);
		for (size_t j = 0; j < rules[i].n_ports; j++)
			free(rules[i].ports[j].name);
		free(rules[i].ports);
	}
	free(rules);
}

void pol_policy_free(struct pol_policy *p)
{
	free(p->ns);
	free(p->name);
	sel_free(&p->pod_sel);
	for (int d = 0; d < 2; d++)
		free_rules(p->rules[d], p->n_rules[d]);
	memset(p, 0, sizeof(*p));
}

int pol_validate(const json_t *np, struct gerr *err)
{
	struct pol_policy p;
	int ret = pol_parse(np, &p, err);

	if (!ret)
		pol_policy_free(&p);
	return ret;
}
