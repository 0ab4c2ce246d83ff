/* SPDX-License-Identifier: Apache-2.0 */
/* Tables, ages, per-kind columns and apply's JSON merge (see table.h). */
#include "ctl/table.h"

#include <errno.h>
#include <stdarg.h>

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/nodeaddr.h"

/* ---- aligned table ---------------------------------------------------- */

int table_init(struct table *t, size_t ncols, const char *const *header)
{
	memset(t, 0, sizeof(*t));
	if (ncols == 0 || ncols > TABLE_MAX_COLS)
		return -EINVAL;
	t->ncols = ncols;
	return table_add_row(t, header);
}

int table_add_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **np = realloc(t->cells, cap * t->ncols * sizeof(*np));

		if (!np)
			return -ENOMEM;
		t->cells = np;
		t->cap = cap;
	}
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = cells[c] ? cells[c] : "";
		size_t l = strlen(s);

		t->cells[t->nrows * t->ncols + c] = strdup(s);
		if (l > t->width[c])
			t->width[c] = l;
	}
	t->nrows++;
	return 0;
}

static void print_cells(const size_t *width, size_t ncols, FILE *f,
			char *const *cells)
{
	for (size_t c = 0; c < ncols; c++) {
		const char *s = cells[c] ? cells[c] : "";

		if (c + 1 == ncols)
			fprintf(f, "%s\n", s);
		else
			fprintf(f, "%-*s   ", (int)width[c], s);
	}
}

void table_print(const struct table *t, FILE *f, bool header)
{
	for (size_t r = header ? 0 : 1; r < t->nrows; r++)
		print_cells(t->width, t->ncols, f, t->cells + r * t->ncols);
}

void table_print_row(struct table *t, FILE *f, const char *const *cells)
{
	for (size_t c = 0; c < t->ncols; c++) {
		size_t l = cells[c] ? strlen(cells[c]) : 0;

		if (l > t->width[c])
			t->width[c] = l;
	}
	print_cells(t->width, t->ncols, f, (char *const *)cells);
	fflush(f);
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

/* ---- times ------------------------------------------------------------ */

void fmt_duration(long long s, char *buf, size_t len)
{
	long long m, h;

	if (s < -1) {
		snprintf(buf, len, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	if (s < 120) {
		snprintf(buf, len, "%llds", s);
		return;
	}
	m = s / 60;
	if (m < 10) {
		if (s % 60)
			snprintf(buf, len, "%lldm%llds", m, s % 60);
		else
			snprintf(buf, len, "%lldm", m);
		return;
	}
	if (m < 180) {
		snprintf(buf, len, "%lldm", m);
		return;
	}
	h = s / 3600;
	if (h < 8) {
		if (m % 60)
			snprintf(buf, len, "%lldh%lldm", h, m % 60);
		else
			snprintf(buf, len, "%lldh", h);
	} else if (h < 48) {
		snprintf(buf, len, "%lldh", h);
	} else if (h < 24 * 8) {
		if (h % 24)
			snprintf(buf, len, "%lldd%lldh", h / 24, h % 24);
		else
			snprintf(buf, len, "%lldd", h / 24);
	} else if (h < 24 * 365 * 2) {
		snprintf(buf, len, "%lldd", h / 24);
	} else if (h < 24 * 365 * 8) {
		long long dy = (h / 24) % 365;

		if (dy)
			snprintf(buf, len, "%lldy%lldd", h / 24 / 365, dy);
		else
			snprintf(buf, len, "%lldy", h / 24 / 365);
	} else {
		snprintf(buf, len, "%lldy", h / 24 / 365);
	}
}

time_t parse_rfc3339(const char *s)
{
	struct tm tm = { 0 };
	const char *p;
	time_t t;

	if (!s)
		return -1;
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	t = timegm(&tm);
	if (*p == 'Z' || *p == 'z') {
		return t;
	} else if ((*p == '+' || *p == '-') && strlen(p) >= 6) {
		int hh = (p[1] - '0') * 10 + (p[2] - '0');
		int mm = (p[4] - '0') * 10 + (p[5] - '0');
		long off = hh * 3600L + mm * 60L;

		return *p == '+' ? t - off : t + off;
	}
	return -1;
}

void fmt_age(const json_t *obj, time_t now, char *buf, size_t len)
{
	time_t t = parse_rfc3339(ctl_jpath_str(obj, "metadata.creationTimestamp"));

	if (t < 0)
		snprintf(buf, len, "<unknown>");
	else
		fmt_duration((long long)(now - t), buf, len);
}

/* ---- JSON helpers ----------------------------------------------------- */

const json_t *ctl_jpath(const json_t *o, const char *path)
{
	char key[128];

	while (o && *path) {
		size_t n = strcspn(path, ".");

		snprintf(key, sizeof(key), "%.*s", (int)n, path);
		o = json_object_get(o, key);
		path += n;
		if (*path == '.')
			path++;
	}
	return o;
}

const char *ctl_jpath_str(const json_t *o, const char *path)
{
	return json_string_value(ctl_jpath(o, path));
}

static long long ctl_jpath_int(const json_t *o, const char *path)
{
	const json_t *v = ctl_jpath(o, path);

	return json_is_integer(v) ? json_integer_value(v) : 0;
}

bool ctl_json_subset(const json_t *a, const json_t *b)
{
	if (json_is_object(a)) {
		const char *k;
		json_t *v;

		if (!json_is_object(b))
			return false;
		json_object_foreach((json_t *)a, k, v)
			if (!ctl_json_subset(v, json_object_get(b, k)))
				return false;
		return true;
	}
	if (json_is_array(a)) {
		if (!json_is_array(b) || json_array_size(a) != json_array_size(b))
			return false;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!ctl_json_subset(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	return b && json_equal((json_t *)a, (json_t *)b);
}

json_t *ctl_merge3(const json_t *live, const json_t *old, const json_t *cur)
{
	if (json_is_object(cur)) {
		json_t *res = json_is_object(live) ? json_copy((json_t *)live) : json_object();
		const char *k;
		json_t *v;

		json_object_foreach((json_t *)cur, k, v)
			json_object_set_new(res, k, ctl_merge3(json_object_get(live, k),
							   json_object_get(old, k), v));
		if (json_is_object(old))
			json_object_foreach((json_t *)old, k, v)
				if (!json_object_get(cur, k))
					json_object_del(res, k);
		return res;
	}
	if (json_is_array(cur) && json_is_array(live) && old &&
	    json_equal((json_t *)old, (json_t *)cur) && ctl_json_subset(cur, live))
		return json_deep_copy(live);
	return json_deep_copy(cur);
}

void ctl_secret_fold_string_data(json_t *obj)
{
	json_t *sd = json_object_get(obj, "stringData"), *data, *v;
	const char *k, *kind = json_string_value(json_object_get(obj, "kind"));

	if (!kind || strcmp(kind, "Secret") || !json_is_object(sd))
		return;
	data = json_object_get(obj, "data");
	if (!json_is_object(data)) {
		data = json_object();
		json_object_set_new(obj, "data", data);
	}
	json_object_foreach(sd, k, v) {
		size_t n = json_string_length(v);
		char *b;

		if (!json_is_string(v))
			continue;
		b = malloc(4 * ((n + 2) / 3) + 1);
		if (!b)
			continue;
		EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)json_string_value(v), (int)n);
		json_object_set_new(data, k, json_string(b));
		free(b);
	}
	json_object_del(obj, "stringData");
}

/* ---- per-kind columns ------------------------------------------------- */

void fmt_labels(const json_t *map, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t o = 0;

	buf[0] = 0;
	json_object_foreach((json_t *)map, k, v) {
		const char *s = json_string_value(v);

		o += snprintf(buf + o, o < len ? len - o : 0, "%s%s=%s",
			      o ? "," : "", k, s ? s : "");
		if (o >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "<none>");
}

static void cell(struct row *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cell(struct row *r, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (r->n >= ROW_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	r->cells[r->n++] = s;
}

void row_free(struct row *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->cells[i]);
	r->n = 0;
}

static const char *or_none(const char *s)
{
	return s && *s ? s : "<none>";
}

/* "80/TCP,443:30443/TCP" */
static void svc_ports(const json_t *svc, char *buf, size_t len)
{
	const json_t *ports = ctl_jpath(svc, "spec.ports"), *p;
	size_t i, o = 0;

	buf[0] = 0;
	json_array_foreach(ports, i, p) {
		const char *proto = ctl_jpath_str(p, "protocol");
		long long np = ctl_jpath_int(p, "nodePort");

		if (np)
			o += snprintf(buf + o, o < len ? len - o : 0, "%s%lld:%lld/%s",
				      o ? "," : "", ctl_jpath_int(p, "port"), np,
				      proto ? proto : "TCP");
		else
			o += snprintf(buf + o, o < len ? len - o : 0, "%s%lld/%s",
				      o ? "," : "", ctl_jpath_int(p, "port"),
				      proto ? proto : "TCP");
		if (o >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "<none>");
}

static void join_strings(const json_t *arr, const char *field, char *buf, size_t len)
{
	const json_t *it;
	size_t i, o = 0;

	buf[0] = 0;
	json_array_foreach(arr, i, it) {
		const char *s = field ? ctl_jpath_str(it, field) : json_string_value(it);

		if (!s)
			continue;
		o += snprintf(buf + o, o < len ? len - o : 0, "%s%s", o ? "," : "", s);
		if (o >= len)
			break;
	}
}

static void pod_row(const json_t *o, struct row *r)
{
	const json_t *cs = ctl_jpath(o, "status.containerStatuses"), *c;
	size_t total = json_array_size(ctl_jpath(o, "spec.containers")), ready = 0, i;
	long long restarts = 0;
	const char *status = ctl_jpath_str(o, "status.reason");

	if (!status)
		status = ctl_jpath_str(o, "status.phase");
	json_array_foreach(cs, i, c) {
		const char *wr = ctl_jpath_str(c, "state.waiting.reason");
		const char *tr = ctl_jpath_str(c, "state.terminated.reason");

		if (json_is_true(json_object_get(c, "ready")))
			ready++;
		restarts += ctl_jpath_int(c, "restartCount");
		/* kubectl shows the most specific container reason. */
		if (wr && *wr)
			status = wr;
		else if (tr && *tr)
			status = tr;
	}
	if (ctl_jpath(o, "metadata.deletionTimestamp"))
		status = "Terminating";
	cell(r, "%zu/%zu", ready, total);
	cell(r, "%s", status ? status : "Pending");
	cell(r, "%lld", restarts);
}

/* kubectl: "<none>" without gates, else "ready/total" where a gate is
 * ready when the pod has a True condition of that type. */
static void readiness_gates(const json_t *o, char *buf, size_t len)
{
	const json_t *gates = ctl_jpath(o, "spec.readinessGates"), *g, *c;
	size_t i, j, ready = 0;

	if (!json_array_size(gates)) {
		snprintf(buf, len, "<none>");
		return;
	}
	json_array_foreach(gates, i, g) {
		const char *want = ctl_jpath_str(g, "conditionType");

		json_array_foreach(ctl_jpath(o, "status.conditions"), j, c) {
			const char *t = ctl_jpath_str(c, "type"), *s = ctl_jpath_str(c, "status");

			if (want && t && s && !strcmp(t, want) && !strcmp(s, "True")) {
				ready++;
				break;
			}
		}
	}
	snprintf(buf, len, "%zu/%zu", ready, json_array_size(gates));
}

static void deploy_row(const json_t *o, struct row *r)
{
	long long want = ctl_jpath(o, "spec.replicas") ? ctl_jpath_int(o, "spec.replicas") : 1;

	cell(r, "%lld/%lld", ctl_jpath_int(o, "status.readyReplicas"), want);
	cell(r, "%lld", ctl_jpath_int(o, "status.updatedReplicas"));
	cell(r, "%lld", ctl_jpath_int(o, "status.availableReplicas"));
}

static void node_status(const json_t *o, char *buf, size_t len)
{
	const json_t *conds = ctl_jpath(o, "status.conditions"), *c;
	const char *st = "Unknown";
	size_t i;

	json_array_foreach(conds, i, c) {
		const char *t = ctl_jpath_str(c, "type"), *s = ctl_jpath_str(c, "status");

		if (t && !strcmp(t, "Ready") && s)
			st = !strcmp(s, "True") ? "Ready" :
			     !strcmp(s, "False") ? "NotReady" : "Unknown";
	}
	snprintf(buf, len, "%s%s", st,
		 json_is_true(ctl_jpath(o, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
}

static void node_roles(const json_t *o, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0;
	static const char pfx[] = "node-role.kubernetes.io/";

	buf[0] = 0;
	json_object_foreach((json_t *)ctl_jpath(o, "metadata.labels"), k, v) {
		if (strncmp(k, pfx, sizeof(pfx) - 1) || !k[sizeof(pfx) - 1])
			continue;
		n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
			      k + sizeof(pfx) - 1);
		if (n >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "<none>");
}

static void svc_external(const json_t *o, char *buf, size_t len)
{
	const char *type = ctl_jpath_str(o, "spec.type");

	join_strings(ctl_jpath(o, "spec.externalIPs"), NULL, buf, len);
	if (!buf[0])
		join_strings(ctl_jpath(o, "status.loadBalancer.ingress"), "ip", buf, len);
	if (!buf[0])
		snprintf(buf, len, "%s", type && !strcmp(type, "LoadBalancer") ?
			 "<pending>" : "<none>");
}

static void endpoints_list(const json_t *o, char *buf, size_t len)
{
	const json_t *subsets = ctl_jpath(o, "subsets"), *ss, *a, *p;
	size_t i, j, k, n = 0, count = 0;

	buf[0] = 0;
	json_array_foreach(subsets, i, ss) {
		json_array_foreach(json_object_get(ss, "addresses"), j, a) {
			const json_t *ports = json_object_get(ss, "ports");

			if (!json_array_size(ports)) {
				if (count++ < 3)
					n += snprintf(buf + n, n < len ? len - n : 0, "%s%s",
						      n ? "," : "", ctl_jpath_str(a, "ip") ?: "?");
				continue;
			}
			json_array_foreach(ports, k, p) {
				if (count++ < 3)
					n += snprintf(buf + n, n < len ? len - n : 0, "%s%s:%lld",
						      n ? "," : "", ctl_jpath_str(a, "ip") ?: "?",
						      ctl_jpath_int(p, "port"));
			}
		}
	}
	if (count > 3 && n < len)
		snprintf(buf + n, len - n, " + %zu more...", count - 3);
	if (!buf[0])
		snprintf(buf, len, "<none>");
}

static const char *const H_POD[] = { "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
				     "NOMINATED NODE", "READINESS GATES" };
static const char *const H_DEPLOY[] = { "NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR" };
static const char *const H_RS[] = { "NAME", "DESIRED", "CURRENT", "READY", "AGE", "CONTAINERS", "IMAGES", "SELECTOR" };
static const char *const H_DS[] = { "NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE", "CONTAINERS", "IMAGES", "SELECTOR" };
static const char *const H_SVC[] = { "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "SELECTOR" };
static const char *const H_NODE[] = { "NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "POD-CIDR" };
static const char *const H_NS[] = { "NAME", "STATUS", "AGE" };
static const char *const H_CM[] = { "NAME", "DATA", "AGE" };
static const char *const H_SECRET[] = { "NAME", "TYPE", "DATA", "AGE" };
static const char *const H_EP[] = { "NAME", "ENDPOINTS", "AGE" };
static const char *const H_SA[] = { "NAME", "SECRETS", "AGE" };
static const char *const H_NETPOL[] = { "NAME", "POD-SELECTOR", "AGE" };
static const char *const H_ING[] = { "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE", "RULES" };
static const char *const H_INGCLASS[] = { "NAME", "CONTROLLER", "PARAMETERS", "AGE" };
static const char *const H_ROLEB[] = { "NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS" };
static const char *const H_LEASE[] = { "NAME", "HOLDER", "AGE" };
static const char *const H_GENERIC[] = { "NAME", "AGE" };

struct printer {
	const char *kind;
	const char *const *hdr;
	size_t n, nwide;          /* columns without / with -o wide */
};

#define P(k, h, n) { k, h, n, sizeof(h) / sizeof(h[0]) }
static const struct printer printers[] = {
	P("Pod", H_POD, 5),
	P("Deployment", H_DEPLOY, 5),
	P("ReplicaSet", H_RS, 5),
	P("DaemonSet", H_DS, 8),
	P("Service", H_SVC, 6),
	P("Node", H_NODE, 5),
	P("Namespace", H_NS, 3),
	P("ConfigMap", H_CM, 3),
	P("Secret", H_SECRET, 4),
	P("Endpoints", H_EP, 3),
	P("ServiceAccount", H_SA, 3),
	P("NetworkPolicy", H_NETPOL, 3),
	P("Ingress", H_ING, 6),
	P("IngressClass", H_INGCLASS, 4),
	P("RoleBinding", H_ROLEB, 3),
	P("ClusterRoleBinding", H_ROLEB, 3),
	P("Lease", H_LEASE, 3),
};

static const struct printer *printer_for(const char *kind)
{
	static const struct printer generic = P("", H_GENERIC, 2);

	for (size_t i = 0; kind && i < sizeof(printers) / sizeof(printers[0]); i++)
		if (!strcmp(printers[i].kind, kind))
			return &printers[i];
	return &generic;
}

size_t printer_header(const char *kind, bool wide, const char **hdr, size_t max)
{
	const struct printer *p = printer_for(kind);
	size_t n = wide ? p->nwide : p->n;

	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		hdr[i] = p->hdr[i];
	return n;
}

/* CONTAINERS IMAGES SELECTOR columns of workload kinds. */
static void workload_wide(const json_t *o, struct row *r)
{
	char names[512], images[1024], sel[512];

	join_strings(ctl_jpath(o, "spec.template.spec.containers"), "name", names, sizeof(names));
	join_strings(ctl_jpath(o, "spec.template.spec.containers"), "image", images, sizeof(images));
	fmt_labels(ctl_jpath(o, "spec.selector.matchLabels"), sel, sizeof(sel));
	cell(r, "%s", names);
	cell(r, "%s", images);
	cell(r, "%s", sel);
}

static void subjects(const json_t *o, const char *kind, char *buf, size_t len)
{
	const json_t *s;
	size_t i, n = 0;

	buf[0] = 0;
	json_array_foreach(ctl_jpath(o, "subjects"), i, s) {
		const char *k = ctl_jpath_str(s, "kind"), *name = ctl_jpath_str(s, "name");

		if (!k || strcmp(k, kind) || !name)
			continue;
		if (!strcmp(kind, "ServiceAccount"))
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s/%s", n ? ", " : "",
				      ctl_jpath_str(s, "namespace") ?: "", name);
		else
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? ", " : "", name);
		if (n >= len)
			break;
	}
}

int printer_row(const char *kind, const json_t *o, bool wide, time_t now,
		struct row *r)
{
	const struct printer *p = printer_for(kind);
	char age[32], a[1024], b[1024];

	memset(r, 0, sizeof(*r));
	fmt_age(o, now, age, sizeof(age));
	cell(r, "%s", ctl_jpath_str(o, "metadata.name") ?: "");
	if (!strcmp(p->kind, "Pod")) {
		pod_row(o, r);
		cell(r, "%s", age);
		if (wide) {
			cell(r, "%s", or_none(ctl_jpath_str(o, "status.podIP")));
			cell(r, "%s", or_none(ctl_jpath_str(o, "spec.nodeName")));
			cell(r, "%s", or_none(ctl_jpath_str(o, "status.nominatedNodeName")));
			readiness_gates(o, a, sizeof(a));
			cell(r, "%s", a);
		}
	} else if (!strcmp(p->kind, "Deployment")) {
		deploy_row(o, r);
		cell(r, "%s", age);
		if (wide)
			workload_wide(o, r);
	} else if (!strcmp(p->kind, "ReplicaSet")) {
		cell(r, "%lld", ctl_jpath(o, "spec.replicas") ? ctl_jpath_int(o, "spec.replicas") : 1);
		cell(r, "%lld", ctl_jpath_int(o, "status.replicas"));
		cell(r, "%lld", ctl_jpath_int(o, "status.readyReplicas"));
		cell(r, "%s", age);
		if (wide)
			workload_wide(o, r);
	} else if (!strcmp(p->kind, "DaemonSet")) {
		cell(r, "%lld", ctl_jpath_int(o, "status.desiredNumberScheduled"));
		cell(r, "%lld", ctl_jpath_int(o, "status.currentNumberScheduled"));
		cell(r, "%lld", ctl_jpath_int(o, "status.numberReady"));
		cell(r, "%lld", ctl_jpath_int(o, "status.updatedNumberScheduled"));
		cell(r, "%lld", ctl_jpath_int(o, "status.numberAvailable"));
		fmt_labels(ctl_jpath(o, "spec.template.spec.nodeSelector"), a, sizeof(a));
		cell(r, "%s", a);
		cell(r, "%s", age);
		if (wide)
			workload_wide(o, r);
	} else if (!strcmp(p->kind, "Service")) {
		cell(r, "%s", ctl_jpath_str(o, "spec.type") ?: "ClusterIP");
		cell(r, "%s", or_none(ctl_jpath_str(o, "spec.clusterIP")));
		svc_external(o, a, sizeof(a));
		cell(r, "%s", a);
		svc_ports(o, a, sizeof(a));
		cell(r, "%s", a);
		cell(r, "%s", age);
		if (wide) {
			fmt_labels(ctl_jpath(o, "spec.selector"), a, sizeof(a));
			cell(r, "%s", a);
		}
	} else if (!strcmp(p->kind, "Node")) {
		node_status(o, a, sizeof(a));
		cell(r, "%s", a);
		node_roles(o, a, sizeof(a));
		cell(r, "%s", a);
		cell(r, "%s", age);
		cell(r, "%s", ctl_jpath_str(o, "status.nodeInfo.kubeletVersion") ?: "");
		if (wide) {
			cell(r, "%s", node_internal_ip(o) ?: "<none>");
			cell(r, "%s", or_none(ctl_jpath_str(o, "spec.podCIDR")));
		}
	} else if (!strcmp(p->kind, "Namespace")) {
		cell(r, "%s", ctl_jpath_str(o, "status.phase") ?: "Active");
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "ConfigMap")) {
		cell(r, "%zu", json_object_size(ctl_jpath(o, "data")) +
			       json_object_size(ctl_jpath(o, "binaryData")));
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "Secret")) {
		cell(r, "%s", ctl_jpath_str(o, "type") ?: "Opaque");
		cell(r, "%zu", json_object_size(ctl_jpath(o, "data")) +
			       json_object_size(ctl_jpath(o, "stringData")));
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "Endpoints")) {
		endpoints_list(o, a, sizeof(a));
		cell(r, "%s", a);
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "ServiceAccount")) {
		cell(r, "%zu", json_array_size(ctl_jpath(o, "secrets")));
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "NetworkPolicy")) {
		fmt_labels(ctl_jpath(o, "spec.podSelector.matchLabels"), a, sizeof(a));
		cell(r, "%s", a);
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "Ingress")) {
		const json_t *rule;
		size_t i, n = 0;
		bool tls = json_array_size(ctl_jpath(o, "spec.tls")) > 0;

		cell(r, "%s", or_none(ctl_jpath_str(o, "spec.ingressClassName")));
		a[0] = 0;
		json_array_foreach(ctl_jpath(o, "spec.rules"), i, rule)
			n += snprintf(a + n, n < sizeof(a) ? sizeof(a) - n : 0, "%s%s",
				      n ? "," : "", ctl_jpath_str(rule, "host") ?: "*");
		cell(r, "%s", a[0] ? a : "*");
		join_strings(ctl_jpath(o, "status.loadBalancer.ingress"), "ip", b, sizeof(b));
		cell(r, "%s", b);
		cell(r, "%s", tls ? "80, 443" : "80");
		cell(r, "%s", age);
		if (wide) {
			/* host/path -> service:port for every path (-o wide) */
			const json_t *path;
			size_t j;

			n = 0;
			a[0] = 0;
			json_array_foreach(ctl_jpath(o, "spec.rules"), i, rule)
				json_array_foreach(ctl_jpath(rule, "http.paths"), j, path) {
					const char *pn = ctl_jpath_str(path, "backend.service.port.name");
					const json_t *pv = ctl_jpath(path, "backend.service.port.number");
					char port[32];

					if (pn)
						snprintf(port, sizeof(port), "%s", pn);
					else
						snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(pv));
					n += snprintf(a + n, n < sizeof(a) ? sizeof(a) - n : 0,
						      "%s%s%s->%s:%s", n ? "," : "",
						      ctl_jpath_str(rule, "host") ?: "*",
						      ctl_jpath_str(path, "path") ?: "/",
						      ctl_jpath_str(path, "backend.service.name") ?: "?", port);
				}
			if (ctl_jpath(o, "spec.defaultBackend"))
				n += snprintf(a + n, n < sizeof(a) ? sizeof(a) - n : 0,
					      "%sdefault->%s", n ? "," : "",
					      ctl_jpath_str(o, "spec.defaultBackend.service.name") ?: "?");
			cell(r, "%s", a[0] ? a : "<none>");
		}
	} else if (!strcmp(p->kind, "IngressClass")) {
		const char *pk = ctl_jpath_str(o, "spec.parameters.kind");

		cell(r, "%s", ctl_jpath_str(o, "spec.controller") ?: "");
		if (pk)
			cell(r, "%s/%s", pk, ctl_jpath_str(o, "spec.parameters.name") ?: "");
		else
			cell(r, "%s", "<none>");
		cell(r, "%s", age);
	} else if (!strcmp(p->kind, "RoleBinding") || !strcmp(p->kind, "ClusterRoleBinding")) {
		cell(r, "%s/%s", ctl_jpath_str(o, "roleRef.kind") ?: "",
		     ctl_jpath_str(o, "roleRef.name") ?: "");
		cell(r, "%s", age);
		if (wide) {
			subjects(o, "User", a, sizeof(a));
			cell(r, "%s", a);
			subjects(o, "Group", a, sizeof(a));
			cell(r, "%s", a);
			subjects(o, "ServiceAccount", a, sizeof(a));
			cell(r, "%s", a);
		}
	} else if (!strcmp(p->kind, "Lease")) {
		cell(r, "%s", ctl_jpath_str(o, "spec.holderIdentity") ?: "");
		cell(r, "%s", age);
	} else {
		cell(r, "%s", age);
	}
	for (size_t i = 0; i < r->n; i++)
		if (!r->cells[i])
			return -ENOMEM;
	return 0;
}
