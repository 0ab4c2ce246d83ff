/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl get: list or show objects as a table (kubectl's columns per
 * kind, -o wide), YAML, JSON or names; -l/--field-selector, -n/-A, and -w
 * to keep printing changes from a watch started at the list's
 * resourceVersion (so no change between list and watch is lost). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/yamljson.h"
#include "ctl/ctl.h"
#include "ctl/table.h"

/* ---- output ----------------------------------------------------------- */

static void set_type_meta(json_t *obj, const struct api_resource *res)
{
	char av[160];

	apires_api_version(res, av, sizeof(av));
	if (!json_object_get(obj, "kind"))
		json_object_set_new(obj, "kind", json_string(res->kind));
	if (!json_object_get(obj, "apiVersion"))
		json_object_set_new(obj, "apiVersion", json_string(av));
}

static int print_structured(const json_t *v, const char *fmt)
{
	struct gerr err = { 0 };
	char *s = NULL;

	if (!strcmp(fmt, "json")) {
		s = json_dumps(v, JSON_INDENT(4) | JSON_PRESERVE_ORDER);
		if (!s)
			return -ENOMEM;
		printf("%s\n", s);
	} else {
		if (yj_emit(v, &s, NULL, &err)) {
			fprintf(stderr, "error: %s\n", err.msg);
			return -EINVAL;
		}
		fputs(s, stdout);
	}
	free(s);
	fflush(stdout);
	return 0;
}

/* Table shape for one resource type, shared by the initial list and the
 * rows printed by a watch. */
struct view {
	const struct api_resource *res;
	bool wide, ns_col, labels_col, event_col, prefix;
	size_t nhdr;
	const char *hdr[ROW_MAX];
	struct table t;
};

static int view_init(struct view *v, struct ctl *c, const struct api_resource *res,
		     bool prefix)
{
	const char *h[ROW_MAX], *all[ROW_MAX + 3];
	size_t n = 0, k;

	memset(v, 0, sizeof(*v));
	v->res = res;
	v->wide = c->o.output && !strcmp(c->o.output, "wide");
	v->ns_col = c->o.all_namespaces && res->namespaced;
	v->labels_col = c->o.show_labels;
	v->event_col = c->o.watch_events;
	v->prefix = prefix;
	v->nhdr = printer_header(res->kind, v->wide, h, ROW_MAX - 3);
	if (v->event_col)
		all[n++] = "EVENT";
	if (v->ns_col)
		all[n++] = "NAMESPACE";
	for (k = 0; k < v->nhdr; k++)
		all[n++] = h[k];
	if (v->labels_col)
		all[n++] = "LABELS";
	if (table_init(&v->t, n, all))
		return -ENOMEM;
	/* Room for MODIFIED so that watch rows stay aligned. */
	if (v->event_col)
		v->t.width[0] = strlen("MODIFIED");
	return 0;
}

/* Cells for obj in the view's column order; *r must be row_free'd. */
static int view_cells(struct view *v, const json_t *obj, const char *event,
		      const char **cells, struct row *r, char *lbl, size_t lbl_len,
		      char *pname, size_t pname_len)
{
	size_t n = 0, name_idx;
	int ret;

	ret = printer_row(v->res->kind, obj, v->wide, time(NULL), r);
	if (ret)
		return ret;
	if (v->event_col)
		cells[n++] = event ? event : "ADDED";
	if (v->ns_col)
		cells[n++] = ctl_jpath_str(obj, "metadata.namespace") ?: "";
	name_idx = n;
	for (size_t k = 0; k < v->nhdr; k++)
		cells[n++] = k < r->n ? r->cells[k] : "";
	if (v->prefix) {
		char disp[160];

		apires_display(v->res, disp, sizeof(disp));
		snprintf(pname, pname_len, "%s/%s", disp, r->cells[0]);
		cells[name_idx] = pname;
	}
	if (v->labels_col) {
		fmt_labels(ctl_jpath(obj, "metadata.labels"), lbl, lbl_len);
		cells[n++] = lbl;
	}
	return 0;
}

static int view_add(struct view *v, const json_t *obj)
{
	const char *cells[ROW_MAX + 3];
	char lbl[2048], pname[512];
	struct row r;
	int ret;

	ret = view_cells(v, obj, NULL, cells, &r, lbl, sizeof(lbl), pname, sizeof(pname));
	if (!ret)
		ret = table_add_row(&v->t, cells);
	row_free(&r);
	return ret;
}

static void view_print_event(struct view *v, const json_t *obj, const char *event)
{
	const char *cells[ROW_MAX + 3];
	char lbl[2048], pname[512];
	struct row r;

	if (!view_cells(v, obj, event, cells, &r, lbl, sizeof(lbl), pname, sizeof(pname)))
		table_print_row(&v->t, stdout, cells);
	row_free(&r);
}

/* ---- requests --------------------------------------------------------- */

static int build_query(struct ctl *c, const char *name, const char *rv, bool watch,
		       char *q, size_t len)
{
	char esc[1024];
	size_t n = 0;

	q[0] = 0;
	if (c->o.selector)
		n += snprintf(q + n, n < len ? len - n : 0, "%slabelSelector=%s", n ? "&" : "?",
			      apiclient_escape(c->o.selector, esc, sizeof(esc)));
	if (c->o.field_selector || name) {
		char fs[1024];

		if (c->o.field_selector && name)
			snprintf(fs, sizeof(fs), "%s,metadata.name=%s", c->o.field_selector, name);
		else if (name)
			snprintf(fs, sizeof(fs), "metadata.name=%s", name);
		else
			snprintf(fs, sizeof(fs), "%s", c->o.field_selector);
		n += snprintf(q + n, n < len ? len - n : 0, "%sfieldSelector=%s", n ? "&" : "?",
			      apiclient_escape(fs, esc, sizeof(esc)));
	}
	if (watch)
		n += snprintf(q + n, n < len ? len - n : 0, "%swatch=true", n ? "&" : "?");
	if (rv && *rv)
		n += snprintf(q + n, n < len ? len - n : 0, "%sresourceVersion=%s", n ? "&" : "?",
			      apiclient_escape(rv, esc, sizeof(esc)));
	return n < len ? 0 : -ENAMETOOLONG;
}

struct watch_state {
	struct ctl *c;
	struct view *v;
	const char *name;          /* watch of a single object */
	bool failed;               /* the server sent an ERROR event */
};

static int on_event(const char *type, json_t *obj, void *arg)
{
	struct watch_state *w = arg;

	if (!strcmp(type, "BOOKMARK"))
		return 0;
	if (!strcmp(type, "ERROR")) {
		fprintf(stderr, "error: watch: %s\n",
			ctl_jpath_str(obj, "message") ?: "error event");
		w->failed = true;
		return 1;
	}
	if (!json_is_object(obj))
		return 0;
	if (w->name && ctl_jpath_str(obj, "metadata.name") &&
	    strcmp(w->name, ctl_jpath_str(obj, "metadata.name")))
		return 0;
	set_type_meta(obj, w->v->res);
	if (w->c->o.output && (!strcmp(w->c->o.output, "json") || !strcmp(w->c->o.output, "yaml"))) {
		if (w->c->o.watch_events) {
			json_t *ev = json_pack("{s:s,s:O}", "type", type, "object", obj);

			print_structured(ev, w->c->o.output);
			json_decref(ev);
		} else {
			if (!strcmp(w->c->o.output, "yaml"))
				printf("---\n");
			print_structured(obj, w->c->o.output);
		}
	} else if (w->c->o.output && !strcmp(w->c->o.output, "name")) {
		char disp[160];

		apires_display(w->v->res, disp, sizeof(disp));
		printf("%s/%s\n", disp, ctl_jpath_str(obj, "metadata.name") ?: "");
		fflush(stdout);
	} else {
		view_print_event(w->v, obj, type);
	}
	return 0;
}

static int do_watch(struct ctl *c, struct view *v, const char *ns,
		    const char *name, const char *rv)
{
	struct watch_state ws = { .c = c, .v = v, .name = name };
	char path[1024], q[2048];
	struct gerr err = { 0 };
	long st = 0;
	int ret;

	if (apires_path(v->res, ns, NULL, path, sizeof(path)) ||
	    build_query(c, name, rv, true, q, sizeof(q)) ||
	    strlen(path) + strlen(q) + 1 > sizeof(path)) {
		fprintf(stderr, "error: request too long\n");
		return CTL_EXIT_USAGE;
	}
	strcat(path, q);
	ret = apiclient_watch(c->api, path, c->o.request_timeout_ms, on_event, &ws,
			      &st, &err);
	if (ret == -ETIMEDOUT)
		return CTL_EXIT_OK;     /* --request-timeout bounds a watch */
	if (ret) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	return ws.failed ? CTL_EXIT_ERR : CTL_EXIT_OK;
}

/* ---- command ---------------------------------------------------------- */

struct fetched {
	const struct api_resource *res;
	json_t *items;              /* array of objects (kind/apiVersion set) */
	char rv[64];                /* list resourceVersion for a watch */
	const char *name;
};

static int fetch(struct ctl *c, const struct ctl_target *t, const char *ns,
		 struct fetched *f, bool *not_found)
{
	char path[1024], q[2048];
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	int ret = CTL_EXIT_ERR;

	f->res = t->res;
	f->name = t->name;
	f->items = json_array();
	if (apires_path(t->res, ns, t->name, path, sizeof(path)) ||
	    build_query(c, NULL, NULL, false, q, sizeof(q)) ||
	    strlen(path) + strlen(q) + 1 > sizeof(path)) {
		fprintf(stderr, "error: request too long\n");
		return CTL_EXIT_USAGE;
	}
	if (!t->name)
		strcat(path, q);
	if (apiclient_get(c->api, path, &r, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		goto out;
	}
	if (r.status == 404 && t->name) {
		*not_found = true;
		if (!c->o.ignore_not_found)
			ctl_print_api_error(&r, NULL);
		ret = c->o.ignore_not_found ? CTL_EXIT_OK : CTL_EXIT_ERR;
		goto out;
	}
	if (!api_ok(&r) || !json_is_object(r.body)) {
		ctl_print_api_error(&r, NULL);
		goto out;
	}
	if (t->name) {
		set_type_meta(r.body, t->res);
		json_array_append(f->items, r.body);
		snprintf(f->rv, sizeof(f->rv), "%s",
			 ctl_jpath_str(r.body, "metadata.resourceVersion") ?: "");
	} else {
		json_t *it;
		size_t i;

		json_array_foreach(json_object_get(r.body, "items"), i, it) {
			set_type_meta(it, t->res);
			json_array_append(f->items, it);
		}
		snprintf(f->rv, sizeof(f->rv), "%s",
			 ctl_jpath_str(r.body, "metadata.resourceVersion") ?: "");
	}
	ret = CTL_EXIT_OK;
out:
	api_resp_free(&r);
	return ret;
}

/* Targets from -f manifests: each document's kind and name. */
static int targets_from_files(struct ctl *c, struct ctl_target **out,
			      const char ***nss, json_t **keep)
{
	json_t *docs = NULL, *sources = NULL, *d;
	const struct api_resource **res = NULL;
	size_t i, n;
	int ret;

	ret = ctl_read_manifests(c, &docs, &sources);
	if (ret)
		return -1;
	ret = ctl_connect(c);
	if (!ret)
		ret = ctl_resolve_manifests(c, docs, sources, &res);
	if (ret) {
		json_decref(docs);
		json_decref(sources);
		return -1;
	}
	n = json_array_size(docs);
	*out = calloc(n, sizeof(**out));
	*nss = calloc(n, sizeof(**nss));
	json_array_foreach(docs, i, d) {
		(*out)[i].res = res[i];
		(*out)[i].name = ctl_jpath_str(d, "metadata.name");
		(*nss)[i] = res[i]->namespaced ? ctl_doc_namespace(c, d, "") : NULL;
	}
	free(res);
	json_decref(sources);
	*keep = docs;        /* names point into it */
	return (int)n;
}

int cmd_get(struct ctl *c, int argc, char **argv)
{
	struct ctl_target *targets = NULL;
	const char **tns = NULL;
	json_t *keep = NULL, *all = NULL;
	struct fetched *f = NULL;
	int n, ret = CTL_EXIT_OK;
	size_t total = 0;
	const char *out = c->o.output;
	bool structured = out && (!strcmp(out, "json") || !strcmp(out, "yaml"));

	if (c->o.n_files) {
		if (argc) {
			fprintf(stderr, "error: give either -f or resource arguments, not both\n");
			return CTL_EXIT_USAGE;
		}
		n = targets_from_files(c, &targets, &tns, &keep);
		if (n < 0)
			return CTL_EXIT_ERR;
	} else {
		if (argc == 0) {
			fprintf(stderr, "error: you must specify the type of resource to get, e.g. 'gannetctl get pods'\n");
			return CTL_EXIT_USAGE;
		}
		ret = ctl_connect(c);
		if (ret)
			return ret;
		n = ctl_parse_targets(c, argc, argv, &targets);
		if (n < 0)
			return CTL_EXIT_ERR;
	}
	if (c->o.watch) {
		for (int i = 1; i < n; i++)
			if (targets[i].res != targets[0].res) {
				fprintf(stderr, "error: you may only specify a single resource type with --watch\n");
				ret = CTL_EXIT_USAGE;
				goto out;
			}
		if (n > 1) {
			fprintf(stderr, "error: --watch takes a single name at most\n");
			ret = CTL_EXIT_USAGE;
			goto out;
		}
	}
	f = calloc((size_t)n, sizeof(*f));
	if (!f) {
		ret = CTL_EXIT_ERR;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *ns = tns ? tns[i] : c->o.all_namespaces && !targets[i].name ? NULL : c->ns;
		bool nf = false;

		if (c->o.watch_only) {
			f[i].res = targets[i].res;
			f[i].name = targets[i].name;
			f[i].items = json_array();
			continue;
		}
		if (fetch(c, &targets[i], ns, &f[i], &nf) != CTL_EXIT_OK)
			ret = CTL_EXIT_ERR;
		total += json_array_size(f[i].items);
	}

	/* Print what was fetched. */
	if (structured) {
		bool single = n == 1 && targets[0].name && !c->o.watch;

		if (single) {
			if (json_array_size(f[0].items))
				print_structured(json_array_get(f[0].items, 0), out);
		} else if (!c->o.watch_only) {
			all = json_pack("{s:s,s:s,s:[],s:{s:s}}", "apiVersion", "v1", "kind", "List",
					"items", "metadata", "resourceVersion", "");
			for (int i = 0; i < n; i++)
				json_array_extend(json_object_get(all, "items"), f[i].items);
			if (!c->o.watch || json_array_size(json_object_get(all, "items")))
				print_structured(all, out);
		}
	} else if (out && !strcmp(out, "name")) {
		for (int i = 0; i < n; i++) {
			json_t *it;
			size_t k;
			char disp[160];

			apires_display(f[i].res, disp, sizeof(disp));
			json_array_foreach(f[i].items, k, it)
				printf("%s/%s\n", disp, ctl_jpath_str(it, "metadata.name") ?: "");
		}
	} else if (!c->o.watch_only) {
		/* One table per type, in the order given; several types get
		 * "type/name" names and a blank line between tables. */
		bool several_types = false;
		int printed = 0;

		for (int i = 1; i < n; i++)
			if (f[i].res != f[0].res)
				several_types = true;

		for (int i = 0; i < n; i++) {
			struct view v;
			json_t *it;
			size_t k;
			int j;

			if (!json_array_size(f[i].items))
				continue;
			/* Merge later targets of the same type into this table. */
			for (j = 0; j < i; j++)
				if (f[j].res == f[i].res)
					break;
			if (j < i)
				continue;
			if (view_init(&v, c, f[i].res, several_types)) {
				ret = CTL_EXIT_ERR;
				break;
			}
			for (j = i; j < n; j++) {
				if (f[j].res != f[i].res)
					continue;
				json_array_foreach(f[j].items, k, it)
					view_add(&v, it);
			}
			if (printed++)
				printf("\n");
			table_print(&v.t, stdout, !c->o.no_headers);
			table_free(&v.t);
		}
	}
	fflush(stdout);
	if (!total && ret == CTL_EXIT_OK && !c->o.watch && !structured &&
	    !(n && targets[0].name)) {
		if (c->o.all_namespaces || !targets[0].res->namespaced)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n", c->ns);
	}
	if (c->o.watch && ret == CTL_EXIT_OK) {
		struct view v;
		const char *ns = c->o.all_namespaces && !targets[0].name ? NULL :
				 tns ? tns[0] : c->ns;

		if (view_init(&v, c, f[0].res, false)) {
			ret = CTL_EXIT_ERR;
			goto out;
		}
		/* Widths from the rows already printed keep columns aligned. */
		for (int i = 0; i < n; i++) {
			json_t *it;
			size_t k;

			json_array_foreach(f[i].items, k, it)
				view_add(&v, it);
		}
		if (!structured && !(out && !strcmp(out, "name")) &&
		    (c->o.watch_only || total == 0) && !c->o.no_headers)
			table_print(&v.t, stdout, true);
		ret = do_watch(c, &v, ns, targets[0].name, f[0].rv);
		table_free(&v.t);
	}
out:
	for (int i = 0; f && i < n; i++)
		json_decref(f[i].items);
	free(f);
	free(targets);
	free(tns);
	json_decref(keep);
	json_decref(all);
	return ret;
}

/* gannetctl api-resources: what discovery (or the built-in table) knows. */
int cmd_api_resources(struct ctl *c, int argc, char **argv)
{
	static const char *const hdr[] = { "NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND" };
	struct table t;
	int ret;

	if (argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[0]);
		return CTL_EXIT_USAGE;
	}
	ret = ctl_connect(c);
	if (ret)
		return ret;
	if (table_init(&t, 5, hdr))
		return CTL_EXIT_ERR;
	for (size_t i = 0; i < c->rs.n; i++) {
		const struct api_resource *r = &c->rs.items[i];
		char shorts[64] = "", av[160];
		const char *cells[5];
		size_t o = 0;

		for (int s = 0; s < r->n_short; s++)
			o += snprintf(shorts + o, sizeof(shorts) - o, "%s%s", s ? "," : "",
				      r->short_names[s]);
		apires_api_version(r, av, sizeof(av));
		cells[0] = r->plural;
		cells[1] = shorts;
		cells[2] = av;
		cells[3] = r->namespaced ? "true" : "false";
		cells[4] = r->kind;
		table_add_row(&t, cells);
	}
	table_print(&t, stdout, true);
	table_free(&t);
	return CTL_EXIT_OK;
}
