/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl flows [-f] [--verdict dropped|allowed] [--pod ns/name]
 * [--node N] [--since WHEN] [-o json]: the policy verdict and drop events of the nodes'
 * datapaths. Each agent keeps a ring of recent flows and serves them as
 * JSON lines on GET /flows (docs/policy.md); we read them through the API
 * server's node proxy (nodes/N/proxy/flows, authorized as get
 * nodes/proxy), so no node port needs to be reachable from the client.
 * Without -f the flows of every node are merged by time into one table;
 * with -f one thread per node follows its stream and rows are printed as
 * they come. Filters are passed to the agents and applied here as well
 * (an older agent may ignore them). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

static const char *const flow_header[] = {
	"TIME", "NODE", "VERDICT", "REASON", "DIR", "PROTO", "SRC", "DST", "IDENTITIES",
};
#define FLOW_COLS (sizeof(flow_header) / sizeof(flow_header[0]))

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* RFC 3339 -> the time of day with milliseconds; numbers are taken as
 * nanoseconds (or seconds when small) since the epoch. */
static void fmt_flow_time(const json_t *t, char *buf, size_t len)
{
	const char *s = json_string_value(t), *tp;

	if (s && (tp = strchr(s, 'T'))) {
		snprintf(buf, len, "%.12s", tp + 1);
		buf[strcspn(buf, "Z+")] = 0;
		return;
	}
	if (json_is_number(t)) {
		double v = json_number_value(t);
		time_t sec = (time_t)(v > 1e15 ? v / 1e9 : v);
		long ms = (long)(v > 1e15 ? ((long long)v % 1000000000LL) / 1000000 : 0);
		struct tm tm;

		gmtime_r(&sec, &tm);
		snprintf(buf, len, "%02d:%02d:%02d.%03ld", tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
		return;
	}
	snprintf(buf, len, "%s", s ? s : "");
}

static void fmt_end(const json_t *e, char *buf, size_t len)
{
	const char *ns = jstr(e, "ns"), *pod = jstr(e, "pod"), *ip = jstr(e, "ip");
	json_int_t port = json_integer_value(json_object_get(e, "port"));
	char ap[64];

	if (port)
		snprintf(ap, sizeof(ap), "%s:%lld", ip ? ip : "?", (long long)port);
	else
		snprintf(ap, sizeof(ap), "%s", ip ? ip : "?");
	if (pod && *pod)
		snprintf(buf, len, "%s/%s %s", ns ? ns : "", pod, ap);
	else
		snprintf(buf, len, "%s", ap);
}

static void fmt_scalar(const json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, len, "-");
}

static bool verdict_is(const json_t *f, const char *want)
{
	const char *v = jstr(f, "verdict");

	if (!want)
		return true;
	if (!v)
		return false;
	/* "dropped" also matches DROP/DENIED/DENY spellings, "allowed" ALLOW/FORWARDED */
	if (!strcmp(want, "dropped"))
		return !strncasecmp(v, "drop", 4) || !strncasecmp(v, "den", 3);
	return !strncasecmp(v, "allow", 5) || !strncasecmp(v, "forward", 7);
}

static bool pod_is(const json_t *f, const char *want)
{
	const char *slash;
	const json_t *ends[2] = { json_object_get(f, "src"), json_object_get(f, "dst") };

	if (!want)
		return true;
	slash = strchr(want, '/');
	for (int i = 0; i < 2; i++) {
		const char *ns = jstr(ends[i], "ns"), *pod = jstr(ends[i], "pod");

		if (!pod)
			continue;
		if (slash ? (ns && !strncmp(ns, want, (size_t)(slash - want)) &&
			     !ns[slash - want] && !strcmp(pod, slash + 1))
			  : !strcmp(pod, want))
			return true;
	}
	return false;
}

static void flow_cells(const json_t *f, const char *node, char cells[FLOW_COLS][160])
{
	const json_t *src = json_object_get(f, "src"), *dst = json_object_get(f, "dst");
	char a[32], b[32];

	fmt_flow_time(json_object_get(f, "time"), cells[0], 160);
	snprintf(cells[1], 160, "%s", jstr(f, "node") ? jstr(f, "node") : node);
	fmt_scalar(json_object_get(f, "verdict"), cells[2], 160);
	fmt_scalar(json_object_get(f, "reason"), cells[3], 160);
	fmt_scalar(json_object_get(f, "direction"), cells[4], 160);
	fmt_scalar(json_object_get(f, "proto"), cells[5], 160);
	fmt_end(src, cells[6], 160);
	fmt_end(dst, cells[7], 160);
	fmt_scalar(json_object_get(src, "identity"), a, sizeof(a));
	fmt_scalar(json_object_get(dst, "identity"), b, sizeof(b));
	snprintf(cells[8], 160, "%s->%s", a, b);
}

/* Node names to read: --node, else every Node. */
static int node_names(struct ctl *c, json_t **out)
{
	*out = json_array();
	if (c->o.node) {
		json_array_append_new(*out, json_string(c->o.node));
		return CTL_EXIT_OK;
	}
	return ctl_node_names(c, *out);
}

/* nodes/N/proxy/flows with the filters as query arguments (escaped). */
static void flows_path(struct ctl *c, const char *node, bool follow, const char *since,
		       char *buf, size_t len)
{
	const char *keys[] = { "follow", "verdict", "pod", "since" };
	const char *vals[] = { follow ? "true" : NULL, c->o.verdict, c->o.pod, since };
	char en[300], ev[600];
	size_t o;

	o = (size_t)snprintf(buf, len, "/api/v1/nodes/%s/proxy/flows",
			     apiclient_escape(node, en, sizeof(en)));
	for (size_t i = 0, n = 0; i < 4 && o < len; i++) {
		if (!vals[i])
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%c%s=%s", n++ ? '&' : '?', keys[i],
				      apiclient_escape(vals[i], ev, sizeof(ev)));
	}
}

/* ---- follow: one thread per node ---------------------------------------- */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

struct follower {
	struct ctl *c;
	const char *node;
	struct table *t;
	bool json;
	pthread_t th;
	int ret;
};

static void print_flow(struct follower *f, json_t *flow)
{
	char cells[FLOW_COLS][160];
	const char *row[FLOW_COLS];

	if (!verdict_is(flow, f->c->o.verdict) || !pod_is(flow, f->c->o.pod))
		return;
	pthread_mutex_lock(&out_lock);
	if (f->json) {
		if (!json_object_get(flow, "node"))
			json_object_set_new(flow, "node", json_string(f->node));
		json_dumpf(flow, stdout, JSON_COMPACT);
		fputc('\n', stdout);
	} else {
		flow_cells(flow, f->node, cells);
		for (size_t i = 0; i < FLOW_COLS; i++)
			row[i] = cells[i];
		table_print_row(f->t, stdout, row);
	}
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static int follow_line(const char *line, size_t len, void *arg)
{
	struct follower *f = arg;
	json_t *flow = json_loadb(line, len, 0, NULL);

	if (json_is_object(flow))
		print_flow(f, flow);
	json_decref(flow);
	return 0;
}

/* Follows one node until interrupted. A stream that ends (agent restart)
 * or cannot be opened (agent down: 503) is retried every 2 s, without
 * --since once a request has streamed so nothing is printed twice; refusals that
 * retrying cannot fix (400, 401, 403, 404) end this node's thread. */
static void *follow_thread(void *arg)
{
	struct follower *f = arg;
	char path[1024], err[512];
	bool warned = false, streamed = false;
	long code;

	for (;;) {
		int rc;

		/* --since until a request has streamed: a first attempt that
		 * failed printed nothing, so the replay asked for is still due */
		flows_path(f->c, f->node, true, streamed ? NULL : f->c->o.since, path, sizeof(path));
		code = 0;
		rc = ctl_stream(f->c, path, true, follow_line, f, &code, err, sizeof(err));
		if (rc && (code == 400 || code == 401 || code == 403 || code == 404)) {
			pthread_mutex_lock(&out_lock);
			if (code == 404)
				fprintf(stderr, "warning: node %s: its agent does not serve flows (HTTP 404)\n",
					f->node);
			else
				fprintf(stderr, "warning: node %s: %s (HTTP %ld)\n", f->node, err, code);
			pthread_mutex_unlock(&out_lock);
			f->ret = CTL_EXIT_ERR;
			break;
		}
		if (code == 200) {
			warned = false;   /* it streamed: report the next problem again */
			streamed = true;
		}
		if (!warned) {
			pthread_mutex_lock(&out_lock);
			if (rc)
				fprintf(stderr, "warning: node %s: %s (HTTP %ld); retrying\n", f->node, err, code);
			else
				fprintf(stderr, "warning: node %s: the flow stream ended; reconnecting\n", f->node);
			pthread_mutex_unlock(&out_lock);
			warned = true;
		}
		sleep(2);
	}
	return NULL;
}

static int follow_all(struct ctl *c, json_t *nodes, bool json)
{
	size_t n = json_array_size(nodes), started = 0;
	struct follower *fs = calloc(n ? n : 1, sizeof(*fs));
	struct table t;
	int ret = CTL_EXIT_OK;

	if (!fs || table_init(&t, FLOW_COLS, flow_header)) {
		free(fs);
		return CTL_EXIT_ERR;
	}
	if (!json && !c->o.no_headers) {
		table_print_row(&t, stdout, flow_header);
		fflush(stdout);
	}
	for (size_t i = 0; i < n; i++) {
		fs[i] = (struct follower){ .c = c, .node = json_string_value(json_array_get(nodes, i)),
					   .t = &t, .json = json };
		if (pthread_create(&fs[i].th, NULL, follow_thread, &fs[i]))
			break;
		started++;
	}
	/* runs until interrupted, or until every stream ended */
	for (size_t i = 0; i < started; i++) {
		pthread_join(fs[i].th, NULL);
		if (fs[i].ret)
			ret = fs[i].ret;
	}
	/* all streams failing is an error; some nodes without flows is not */
	if (ret && started > 1) {
		size_t bad = 0;

		for (size_t i = 0; i < started; i++)
			bad += fs[i].ret != 0;
		if (bad < started)
			ret = CTL_EXIT_OK;
	}
	table_free(&t);
	free(fs);
	return ret;
}

/* ---- one-shot: merge every node's recent flows by time ------------------- */

static int cmp_time(const void *a, const void *b)
{
	const json_t *x = json_object_get(*(json_t *const *)a, "time");
	const json_t *y = json_object_get(*(json_t *const *)b, "time");

	if (json_is_number(x) && json_is_number(y))
		return json_number_value(x) < json_number_value(y) ? -1 :
		       json_number_value(x) > json_number_value(y);
	return strcmp(json_string_value(x) ? json_string_value(x) : "",
		      json_string_value(y) ? json_string_value(y) : "");
}

static int list_all(struct ctl *c, json_t *nodes, bool json)
{
	json_t *all = json_array();
	size_t i, n, failed = 0;
	json_t **v = NULL;
	struct table t;
	int ret = CTL_EXIT_OK;

	for (i = 0; i < json_array_size(nodes); i++) {
		const char *node = json_string_value(json_array_get(nodes, i));
		struct api_resp r = { 0 };
		struct gerr err = { 0 };
		char path[1024], *line, *save = NULL;

		flows_path(c, node, false, c->o.since, path, sizeof(path));
		if (apiclient_get(c->api, path, &r, &err)) {
			fprintf(stderr, "warning: node %s: %s\n", node, err.msg);
			failed++;
			continue;
		}
		if (!api_ok(&r)) {
			if (r.status == 404 && strstr(r.message, "agent of node"))
				fprintf(stderr, "warning: node %s: its agent does not serve flows (%s)\n",
					node, r.message);
			else
				ctl_print_api_error(&r, node);
			api_resp_free(&r);
			failed++;
			continue;
		}
		for (line = r.raw ? strtok_r(r.raw, "\n", &save) : NULL; line;
		     line = strtok_r(NULL, "\n", &save)) {
			json_t *f = json_loads(line, 0, NULL);

			if (!json_is_object(f) || !verdict_is(f, c->o.verdict) || !pod_is(f, c->o.pod)) {
				json_decref(f);
				continue;
			}
			if (!json_object_get(f, "node"))
				json_object_set_new(f, "node", json_string(node));
			json_array_append_new(all, f);
		}
		api_resp_free(&r);
	}
	if (failed && failed == json_array_size(nodes))
		ret = CTL_EXIT_ERR;
	n = json_array_size(all);
	v = calloc(n ? n : 1, sizeof(*v));
	if (!v || table_init(&t, FLOW_COLS, flow_header)) {
		free(v);
		json_decref(all);
		return CTL_EXIT_ERR;
	}
	for (i = 0; i < n; i++)
		v[i] = json_array_get(all, i);
	qsort(v, n, sizeof(*v), cmp_time);
	for (i = 0; i < n; i++) {
		char cells[FLOW_COLS][160];
		const char *row[FLOW_COLS];

		if (json) {
			json_dumpf(v[i], stdout, JSON_COMPACT);
			fputc('\n', stdout);
			continue;
		}
		flow_cells(v[i], "", cells);
		for (size_t k = 0; k < FLOW_COLS; k++)
			row[k] = cells[k];
		table_add_row(&t, row);
	}
	if (!json) {
		if (n)
			table_print(&t, stdout, !c->o.no_headers);
		else if (ret == CTL_EXIT_OK)
			fprintf(stderr, "No flows found.\n");
	}
	table_free(&t);
	free(v);
	json_decref(all);
	return ret;
}

int cmd_flows(struct ctl *c, int argc, char **argv)
{
	json_t *nodes = NULL;
	bool json;
	int ret;

	(void)argv;
	if (argc) {
		fprintf(stderr, "error: flows takes no arguments (filters: --verdict, --pod, --node)\n");
		return CTL_EXIT_USAGE;
	}
	if (c->o.output && strcmp(c->o.output, "json") && strcmp(c->o.output, "wide")) {
		fprintf(stderr, "error: flows prints a table or -o json (JSON lines)\n");
		return CTL_EXIT_USAGE;
	}
	json = c->o.output && !strcmp(c->o.output, "json");
	ret = ctl_connect(c);
	if (ret)
		return ret;
	ret = node_names(c, &nodes);
	if (!ret && !json_array_size(nodes)) {
		fprintf(stderr, "error: no nodes\n");
		ret = CTL_EXIT_ERR;
	}
	if (!ret)
		ret = c->o.follow ? follow_all(c, nodes, json) : list_all(c, nodes, json);
	json_decref(nodes);
	return ret;
}
