/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl apply: create or update every object of the given manifests.
 * For each document: GET; 404 -> POST; otherwise a three-way merge of the
 * live object, the previously applied manifest (kept, as kubectl does, in
 * the last-applied-configuration annotation) and the new manifest, sent
 * with PUT and the live resourceVersion (optimistic concurrency; retried on
 * 409). Nothing is sent when the merge changes nothing ("unchanged"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

#define APPLY_CONFLICT_RETRIES 3

/* Set the annotation to the manifest's own JSON, byte for byte what
 * kubectl writes (Go's encoding/json: sorted keys, compact, <>& escaped as
 * \u003c etc., a trailing newline, "annotations":{} kept), so that either
 * tool sees the other's apply of the same manifest as unchanged. */
static int set_last_applied(json_t *doc)
{
	json_t *meta = json_object_get(doc, "metadata"), *ann, *copy;
	char *s, *esc;
	size_t n = 0, o = 0;

	copy = json_deep_copy(doc);
	if (!copy)
		return -ENOMEM;
	ann = json_object_get(json_object_get(copy, "metadata"), "annotations");
	if (ann)
		json_object_del(ann, LAST_APPLIED_ANNOTATION);
	else
		json_object_set_new(json_object_get(copy, "metadata"), "annotations",
				    json_object());
	s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	if (!s)
		return -ENOMEM;
	for (const char *p = s; *p; p++)
		n += strchr("<>&", *p) ? 6 : 1;
	esc = malloc(n + 2);
	if (!esc) {
		free(s);
		return -ENOMEM;
	}
	/* These characters only occur inside JSON strings, where the escape
	 * means the same. */
	for (const char *p = s; *p; p++) {
		if (strchr("<>&", *p))
			o += (size_t)sprintf(esc + o, "\\u%04x", (unsigned char)*p);
		else
			esc[o++] = *p;
	}
	esc[o++] = '\n';
	esc[o] = 0;
	free(s);
	ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(meta, "annotations", ann);
	}
	json_object_set_new(ann, LAST_APPLIED_ANNOTATION, json_string(esc));
	free(esc);
	return 0;
}

static json_t *last_applied_of(const json_t *live)
{
	const char *s = json_string_value(json_object_get(ctl_jpath(live, "metadata.annotations"),
					      LAST_APPLIED_ANNOTATION));
	return s ? json_loads(s, 0, NULL) : NULL;
}

/* A copy of a manifest without the last-applied annotation and without an
 * empty annotations map (kubectl records "annotations":{}). */
static json_t *normalized(const json_t *doc)
{
	json_t *c = json_deep_copy(doc), *meta, *ann;

	meta = json_object_get(c, "metadata");
	ann = json_object_get(meta, "annotations");
	if (ann)
		json_object_del(ann, LAST_APPLIED_ANNOTATION);
	if (ann && !json_object_size(ann))
		json_object_del(meta, "annotations");
	return c;
}

/* When the live object's last-applied configuration says the same as ours
 * (written by kubectl, say, with different key order), keep its string so
 * that an identical manifest is "unchanged" whoever applied it before. */
static void keep_equivalent_annotation(json_t *doc, const json_t *live, const json_t *old)
{
	json_t *a = normalized(old), *b = normalized(doc);
	json_t *live_ann = json_object_get(ctl_jpath(live, "metadata.annotations"),
					   LAST_APPLIED_ANNOTATION);

	if (a && b && live_ann && json_equal(a, b))
		json_object_set(json_object_get(json_object_get(doc, "metadata"), "annotations"),
				LAST_APPLIED_ANNOTATION, live_ann);
	json_decref(a);
	json_decref(b);
}

enum apply_result { APPLY_CREATED, APPLY_CONFIGURED, APPLY_UNCHANGED, APPLY_FAILED };

static enum apply_result apply_one(struct ctl *c, const struct api_resource *res,
				   json_t *doc, const char *ns, const char *source)
{
	const char *name = ctl_jpath_str(doc, "metadata.name");
	char path[1024], coll[1024], ctx[1200];
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	enum apply_result result = APPLY_FAILED;

	if (apires_path(res, ns, name, path, sizeof(path)) ||
	    apires_path(res, ns, NULL, coll, sizeof(coll))) {
		fprintf(stderr, "error: name too long: %s\n", name);
		return APPLY_FAILED;
	}
	for (int attempt = 0; attempt <= APPLY_CONFLICT_RETRIES; attempt++) {
		json_t *old = NULL, *merged = NULL;

		api_resp_free(&r);
		if (apiclient_get(c->api, path, &r, &err))
			goto transport;
		if (r.status == 404) {
			snprintf(ctx, sizeof(ctx), "error when creating \"%s\"", source);
			if (c->o.dry_run) {
				result = APPLY_CREATED;
				goto out;
			}
			api_resp_free(&r);
			if (apiclient_post(c->api, coll, doc, &r, &err))
				goto transport;
			if (api_ok(&r)) {
				result = APPLY_CREATED;
				goto out;
			}
			if (r.status == 409 && attempt < APPLY_CONFLICT_RETRIES)
				continue;   /* created meanwhile: update it instead */
			ctl_print_api_error(&r, ctx);
			goto out;
		}
		if (!api_ok(&r) || !json_is_object(r.body)) {
			snprintf(ctx, sizeof(ctx), "error when retrieving current configuration of \"%s\"", source);
			ctl_print_api_error(&r, ctx);
			goto out;
		}
		old = last_applied_of(r.body);
		if (old)
			keep_equivalent_annotation(doc, r.body, old);
		merged = ctl_merge3(r.body, old, doc);
		json_decref(old);
		if (!merged) {
			fprintf(stderr, "error: out of memory\n");
			goto out;
		}
		/* The server turns stringData into data and never stores it:
		 * compare what it would store (the PUT still sends stringData). */
		json_t *cmp = json_deep_copy(merged);

		ctl_secret_fold_string_data(cmp);
		if (cmp && json_equal(cmp, r.body)) {
			json_decref(cmp);
			json_decref(merged);
			result = APPLY_UNCHANGED;
			goto out;
		}
		json_decref(cmp);
		if (c->o.dry_run) {
			json_decref(merged);
			result = APPLY_CONFIGURED;
			goto out;
		}
		api_resp_free(&r);
		err.code = 0;
		if (apiclient_put(c->api, path, merged, &r, &err)) {
			json_decref(merged);
			goto transport;
		}
		json_decref(merged);
		if (api_ok(&r)) {
			result = APPLY_CONFIGURED;
			goto out;
		}
		if (r.status == 409 && attempt < APPLY_CONFLICT_RETRIES) {
			pr_info("conflict updating %s, retrying", name);
			continue;
		}
		snprintf(ctx, sizeof(ctx), "error when applying patch to \"%s\"", source);
		ctl_print_api_error(&r, ctx);
		goto out;
	}
	goto out;
transport:
	fprintf(stderr, "error: %s\n", err.msg);
out:
	api_resp_free(&r);
	return result;
}

int cmd_apply(struct ctl *c, int argc, char **argv)
{
	static const char *const words[] = { "created", "configured", "unchanged" };
	const struct api_resource **res = NULL;
	json_t *docs = NULL, *sources = NULL, *doc;
	int ret, failed = 0;
	size_t i;

	if (argc > 0) {
		fprintf(stderr, "error: unexpected argument \"%s\"; apply takes -f\n", argv[0]);
		return CTL_EXIT_USAGE;
	}
	if (c->o.n_files == 0) {
		fprintf(stderr, "error: must specify one of -f\nSee 'gannetctl apply --help' for usage.\n");
		return CTL_EXIT_USAGE;
	}
	if (c->o.output && strcmp(c->o.output, "name")) {
		fprintf(stderr, "error: apply supports only -o name\n");
		return CTL_EXIT_USAGE;
	}
	/* Parse everything before connecting: a bad file applies nothing. */
	ret = ctl_read_manifests(c, &docs, &sources);
	if (ret)
		return ret;
	ret = ctl_connect(c);
	if (ret)
		goto out;
	ret = ctl_resolve_manifests(c, docs, sources, &res);
	if (ret)
		goto out;
	json_array_foreach(docs, i, doc) {
		const char *src = json_string_value(json_array_get(sources, i));
		const char *ns = NULL;
		json_t *d = json_deep_copy(doc);
		enum apply_result ar;
		char disp[192];

		if (!d) {
			failed++;
			continue;
		}
		if (res[i]->namespaced) {
			/* Resolve against the original document: setting the
			 * field on d would free a string ns points into. */
			ns = ctl_doc_namespace(c, doc, src);
			json_object_set_new(json_object_get(d, "metadata"), "namespace",
					    json_string(ns));
		} else {
			json_object_del(json_object_get(d, "metadata"), "namespace");
		}
		if (set_last_applied(d)) {
			json_decref(d);
			failed++;
			continue;
		}
		ar = apply_one(c, res[i], d, ns, src);
		json_decref(d);
		if (ar == APPLY_FAILED) {
			failed++;
			continue;
		}
		apires_display(res[i], disp, sizeof(disp));
		if (c->o.output)
			printf("%s/%s\n", disp, ctl_jpath_str(doc, "metadata.name"));
		else
			printf("%s/%s %s%s\n", disp, ctl_jpath_str(doc, "metadata.name"),
			       words[ar], c->o.dry_run ? " (dry run)" : "");
		fflush(stdout);
	}
	ret = failed ? CTL_EXIT_ERR : CTL_EXIT_OK;
out:
	free(res);
	json_decref(docs);
	json_decref(sources);
	return ret;
}
