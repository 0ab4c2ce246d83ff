/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl top nodes|pods: what the scheduler sees, since Gannet serves no
 * metrics.k8s.io API and the agent reports no usage yet: per node the sum
 * of the requests of the pods bound to it (not finished) against the
 * node's allocatable (else capacity), and per pod its effective requests
 * and limits. Columns say "requests"/"limits" so they are not mistaken for
 * kubectl top's measured usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"
#include "ctl/workload.h"

static json_t *list(struct ctl *c, const char *plural, const char *ns, const char *selector)
{
	const struct api_resource *res = apires_find(&c->rs, plural);
	char path[1024], esc[600];
	json_t *items = NULL;

	if (!res || apires_path(res, ns, NULL, path, sizeof(path) - 620))
		return NULL;
	if (selector) {
		strcat(path, "?labelSelector=");
		strcat(path, apiclient_escape(selector, esc, sizeof(esc)));
	}
	ctl_list(c, path, &items);
	return items;
}

static bool wanted(const json_t *obj, int argc, char **argv)
{
	const char *name = ctl_jpath_str(obj, "metadata.name");

	if (!argc)
		return true;
	for (int i = 0; i < argc; i++)
		if (name && !strcmp(name, argv[i]))
			return true;
	return false;
}

static bool finished(const json_t *pod)
{
	const char *ph = ctl_jpath_str(pod, "status.phase");

	return ph && (!strcmp(ph, "Succeeded") || !strcmp(ph, "Failed"));
}

static void pct(long long used, const char *alloc, bool cpu, char *buf, size_t len)
{
	long long a;

	if (wl_quantity(alloc, cpu, &a) || a <= 0)
		snprintf(buf, len, "<unknown>");
	else
		snprintf(buf, len, "%lld%%", used * 100 / a);
}

static int top_nodes(struct ctl *c, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "CPU(requests)", "CPU%", "MEMORY(requests)",
					   "MEMORY%", "PODS" };
	json_t *nodes = list(c, "nodes", NULL, c->o.selector), *pods = NULL, *node, *pod;
	struct table t;
	size_t i, j, shown = 0;
	int ret = CTL_EXIT_ERR;

	if (!nodes)
		return CTL_EXIT_ERR;
	pods = list(c, "pods", NULL, NULL);
	if (!pods || table_init(&t, 6, hdr))
		goto out;
	json_array_foreach(nodes, i, node) {
		const char *name = ctl_jpath_str(node, "metadata.name") ?: "";
		const char *acpu = ctl_jpath_str(node, "status.allocatable.cpu") ?:
				   ctl_jpath_str(node, "status.capacity.cpu");
		const char *amem = ctl_jpath_str(node, "status.allocatable.memory") ?:
				   ctl_jpath_str(node, "status.capacity.memory");
		struct wl_res sum = { 0 };
		char cpu[32], cpup[32], mem[32], memp[32], npods[32];
		const char *cells[6] = { name, cpu, cpup, mem, memp, npods };
		long long count = 0;

		if (!wanted(node, argc, argv))
			continue;
		json_array_foreach(pods, j, pod) {
			struct wl_res r;
			const char *nn = ctl_jpath_str(pod, "spec.nodeName");

			if (!nn || strcmp(nn, name) || finished(pod))
				continue;
			wl_pod_resources(pod, &r);
			sum.cpu_req_m += r.cpu_req_m;
			sum.mem_req += r.mem_req;
			count++;
		}
		wl_fmt_cpu(sum.cpu_req_m, cpu, sizeof(cpu));
		wl_fmt_mem(sum.mem_req, mem, sizeof(mem));
		pct(sum.cpu_req_m, acpu, true, cpup, sizeof(cpup));
		pct(sum.mem_req, amem, false, memp, sizeof(memp));
		snprintf(npods, sizeof(npods), "%lld", count);
		table_add_row(&t, cells);
		shown++;
	}
	if (shown)
		table_print(&t, stdout, !c->o.no_headers);
	else
		fprintf(stderr, argc ? "error: node not found\n" : "No resources found\n");
	table_free(&t);
	ret = shown || !argc ? CTL_EXIT_OK : CTL_EXIT_ERR;
out:
	json_decref(nodes);
	json_decref(pods);
	return ret;
}

static int top_pods(struct ctl *c, int argc, char **argv)
{
	static const char *const hdr[] = { "NAMESPACE", "NAME", "CPU(requests)", "CPU(limits)",
					   "MEMORY(requests)", "MEMORY(limits)", "NODE" };
	bool ns_col = c->o.all_namespaces;
	json_t *pods = list(c, "pods", ns_col ? NULL : c->ns, c->o.selector), *pod;
	struct table t;
	size_t i, shown = 0;

	if (!pods)
		return CTL_EXIT_ERR;
	if (table_init(&t, ns_col ? 7 : 6, ns_col ? hdr : hdr + 1)) {
		json_decref(pods);
		return CTL_EXIT_ERR;
	}
	json_array_foreach(pods, i, pod) {
		char a[32], b[32], d[32], e[32];
		const char *cells[7], **p = cells;
		struct wl_res r;

		if (!wanted(pod, argc, argv) || finished(pod))
			continue;
		wl_pod_resources(pod, &r);
		wl_fmt_cpu(r.cpu_req_m, a, sizeof(a));
		wl_fmt_cpu(r.cpu_lim_m, b, sizeof(b));
		wl_fmt_mem(r.mem_req, d, sizeof(d));
		wl_fmt_mem(r.mem_lim, e, sizeof(e));
		if (ns_col)
			*p++ = ctl_jpath_str(pod, "metadata.namespace") ?: "";
		*p++ = ctl_jpath_str(pod, "metadata.name") ?: "";
		*p++ = a;
		*p++ = r.cpu_lim_m ? b : "<none>";
		*p++ = d;
		*p++ = r.mem_lim ? e : "<none>";
		*p++ = ctl_jpath_str(pod, "spec.nodeName") ?: "<none>";
		table_add_row(&t, cells);
		shown++;
	}
	if (shown)
		table_print(&t, stdout, !c->o.no_headers);
	else if (argc)
		fprintf(stderr, "error: pods not found\n");
	else if (ns_col)
		fprintf(stderr, "No resources found\n");
	else
		fprintf(stderr, "No resources found in %s namespace.\n", c->ns);
	table_free(&t);
	json_decref(pods);
	return shown || !argc ? CTL_EXIT_OK : CTL_EXIT_ERR;
}

int cmd_top(struct ctl *c, int argc, char **argv)
{
	bool nodes;
	int ret;

	if (argc < 1) {
		fprintf(stderr, "error: missing resource: top nodes|pods\n");
		return CTL_EXIT_USAGE;
	}
	if (!strcmp(argv[0], "nodes") || !strcmp(argv[0], "node") || !strcmp(argv[0], "no"))
		nodes = true;
	else if (!strcmp(argv[0], "pods") || !strcmp(argv[0], "pod") || !strcmp(argv[0], "po"))
		nodes = false;
	else {
		fprintf(stderr, "error: top supports nodes and pods, not \"%s\"\n", argv[0]);
		return CTL_EXIT_USAGE;
	}
	ret = ctl_connect(c);
	if (ret)
		return ret;
	fflush(stdout);
	return nodes ? top_nodes(c, argc - 1, argv + 1) : top_pods(c, argc - 1, argv + 1);
}
