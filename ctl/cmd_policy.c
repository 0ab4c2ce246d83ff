/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl policy trace --from NS/POD --to NS/POD --port 80/TCP: which
 * NetworkPolicies allow or deny a connection. The namespaces, pods and
 * NetworkPolicies are read from the API and fed to the same engine the
 * agents compile policies with (policies/, pol_trace), which evaluates the
 * policies themselves, not compiled entries, so it can name the policy,
 * rule, peer and port deciding each direction: egress at the source,
 * ingress at the destination. What the agents actually enforce is the
 * same computation on the same objects (up to their sync delay). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"
#include "policies/policy.h"

/* The engine with every namespace, pod and policy of the cluster. A policy
 * the engine rejects (the API server validates with the same code, so only
 * objects stored before that) is skipped with a warning. */
static int load_engine(struct ctl *c, struct pol_engine *e)
{
	json_t *nss = NULL, *pods = NULL, *nps = NULL, *it;
	struct gerr err = { 0 };
	size_t i;
	int ret;

	ret = ctl_list(c, "/api/v1/namespaces", &nss);
	if (!ret)
		ret = ctl_list(c, "/api/v1/pods", &pods);
	if (!ret)
		ret = ctl_list(c, "/apis/networking.k8s.io/v1/networkpolicies", &nps);
	if (ret)
		goto out;
	pol_begin(e);
	json_array_foreach(nss, i, it) {
		const char *n = ctl_jpath_str(it, "metadata.name");

		if (n && pol_upsert_namespace(e, n, ctl_jpath(it, "metadata.labels"), &err))
			fprintf(stderr, "warning: namespace %s: %s\n", n, err.msg);
	}
	json_array_foreach(pods, i, it)
		if (pol_upsert_pod_json(e, it, &err))
			fprintf(stderr, "warning: pod %s/%s: %s\n",
				ctl_jpath_str(it, "metadata.namespace") ?: "",
				ctl_jpath_str(it, "metadata.name") ?: "", err.msg);
	json_array_foreach(nps, i, it)
		if (pol_upsert_policy(e, it, &err))
			fprintf(stderr, "warning: networkpolicy %s/%s ignored: %s\n",
				ctl_jpath_str(it, "metadata.namespace") ?: "",
				ctl_jpath_str(it, "metadata.name") ?: "", err.msg);
	pol_commit(e);
out:
	json_decref(nss);
	json_decref(pods);
	json_decref(nps);
	return ret;
}

/* "pod" -> "<ns>/pod"; ns/pod, IPv4 and host unchanged. */
static void qualify(struct ctl *c, const char *s, char *buf, size_t len)
{
	bool ip = strspn(s, "0123456789.") == strlen(s);

	if (strchr(s, '/') || ip || !strcmp(s, "host"))
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "%s/%s", c->ns, s);
}

static int parse_port(const char *s, uint16_t *port, uint8_t *proto)
{
	char *end;
	long p = strtol(s, &end, 10);
	int pr = POL_PROTO_TCP;

	if (end == s || p < 1 || p > 65535)
		return -1;
	if (*end == '/')
		pr = pol_proto_parse(end + 1);
	else if (*end)
		return -1;
	if (pr < 0)
		return -1;
	*port = (uint16_t)p;
	*proto = (uint8_t)pr;
	return 0;
}

/* One line per direction: who decides it. */
static void direction_line(const char *dir, const char *at, bool is_pod, bool enforced,
			   bool allowed, const char *explain, const char *dname, FILE *f)
{
	char needle[32];
	const char *p;

	fprintf(f, "  %-7s at %s: ", dir, at);
	if (!is_pod) {
		fprintf(f, "ALLOW (not a pod: no %s policy applies)\n", dname);
		return;
	}
	if (!enforced) {
		fprintf(f, "ALLOW (no policy selects the pod: unrestricted)\n");
		return;
	}
	if (!allowed) {
		/* name the policies isolating the pod in this direction */
		char pfx[32];
		int n = 0;

		snprintf(pfx, sizeof(pfx), "  %s: policy ", dname);
		fprintf(f, "DENY (selected by ");
		for (p = strstr(explain, pfx); p; p = strstr(p + 1, pfx)) {
			const char *name = p + strlen(pfx);

			fprintf(f, "%s%.*s", n++ ? ", " : "", (int)strcspn(name, " \n"), name);
		}
		fprintf(f, "%s; no rule allows it)\n", n ? "" : "a policy");
		return;
	}
	/* name the first allowing rule of this direction */
	snprintf(needle, sizeof(needle), "spec.%s[", dname);
	for (p = strstr(explain, "ALLOW by "); p; p = strstr(p + 1, "ALLOW by ")) {
		size_t l = strcspn(p, "\n");

		if (memmem(p, l, needle, strlen(needle))) {
			fprintf(f, "ALLOW (%.*s)\n", (int)l - 6, p + 6);
			return;
		}
	}
	fprintf(f, "ALLOW\n");
}

static int trace(struct ctl *c)
{
	struct pol_engine *e = NULL;
	struct pol_trace_result *res = calloc(1, sizeof(*res));
	struct gerr err = { 0 };
	char from[300], to[300];
	uint16_t port;
	uint8_t proto;
	bool json = c->o.output && !strcmp(c->o.output, "json");
	int ret;

	if (!res)
		return CTL_EXIT_ERR;
	if (!c->o.from || !c->o.to || !c->o.port) {
		fprintf(stderr, "error: policy trace needs --from, --to and --port\n");
		free(res);
		return CTL_EXIT_USAGE;
	}
	if (parse_port(c->o.port, &port, &proto)) {
		fprintf(stderr, "error: --port \"%s\": expected PORT[/TCP|UDP|SCTP], e.g. 80/TCP\n",
			c->o.port);
		free(res);
		return CTL_EXIT_USAGE;
	}
	if (c->o.output && !json) {
		fprintf(stderr, "error: policy trace prints text or -o json\n");
		free(res);
		return CTL_EXIT_USAGE;
	}
	ret = ctl_connect(c);
	if (ret) {
		free(res);
		return ret;
	}
	qualify(c, c->o.from, from, sizeof(from));
	qualify(c, c->o.to, to, sizeof(to));
	e = pol_engine_new();
	if (!e) {
		free(res);
		return CTL_EXIT_ERR;
	}
	ret = load_engine(c, e);
	if (!ret && pol_trace(e, from, to, proto, port, res, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		ret = CTL_EXIT_ERR;
	}
	if (!ret && json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:{s:I, s:b, s:b}, s:{s:I, s:b, s:b}, s:s}",
				      "from", from, "to", to, "port", (int)port,
				      "protocol", pol_proto_name(proto),
				      "verdict", res->allowed ? "ALLOW" : "DENY", "allowed", res->allowed,
				      "egress", "identity", (json_int_t)res->src_identity,
				      "enforced", res->egress_enforced, "allowed", res->egress_allowed,
				      "ingress", "identity", (json_int_t)res->dst_identity,
				      "enforced", res->ingress_enforced, "allowed", res->ingress_allowed,
				      "explain", res->explain);

		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	} else if (!ret) {
		const char *x = res->explain;
		bool src_pod = !strstr(x, "egress: the source is not a pod");
		bool dst_pod = !strstr(x, "ingress: the destination is not a pod");

		fputs(res->explain, stdout);
		printf("summary:\n");
		if (strstr(x, "(loopback): not subject to policy")) {
			printf("  a pod's traffic to itself is not subject to policy\n");
		} else {
			direction_line("egress", from, src_pod, res->egress_enforced,
				       res->egress_allowed, x, "egress", stdout);
			if (strstr(x, "(host) is always allowed"))
				printf("  ingress at %s: ALLOW (from the pod's own node: always allowed)\n", to);
			else
				direction_line("ingress", to, dst_pod, res->ingress_enforced,
					       res->ingress_allowed, x, "ingress", stdout);
		}
		printf("  verdict: %s\n", res->allowed ? "ALLOW" : "DENY");
	}
	pol_engine_free(e);
	free(res);
	return ret;
}

int cmd_policy(struct ctl *c, int argc, char **argv)
{
	if (argc != 1 || strcmp(argv[0], "trace")) {
		fprintf(stderr, "error: expected \"policy trace --from NS/POD --to NS/POD --port PORT[/PROTO]\"\n");
		return CTL_EXIT_USAGE;
	}
	return trace(c);
}
