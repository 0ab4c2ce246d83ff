/* SPDX-License-Identifier: Apache-2.0 */
/* Reading manifests for apply/delete/get -f: files, directories (sorted,
 * optionally recursive), stdin; multi-document YAML or JSON; List kinds
 * expanded. Everything is parsed and checked before the first request so
 * that a malformed file means nothing is applied. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileutil.h"
#include "common/yamljson.h"
#include "ctl/ctl.h"
#include "ctl/table.h"

/* Manifests bigger than this are certainly a mistake (the API server
 * rejects bodies over 3 MB anyway). */
#define MANIFEST_MAX (16 << 20)

static bool has_manifest_ext(const char *n)
{
	size_t l = strlen(n);

	return (l > 5 && !strcmp(n + l - 5, ".yaml")) ||
	       (l > 4 && !strcmp(n + l - 4, ".yml")) ||
	       (l > 5 && !strcmp(n + l - 5, ".json"));
}

/* Structural checks that need no server. */
static int check_doc(const json_t *doc, const char *src, size_t idx)
{
	const char *what = NULL;

	if (!json_is_object(doc))
		what = "document is not a mapping";
	else if (!json_string_value(json_object_get(doc, "apiVersion")))
		what = "apiVersion not set";
	else if (!json_string_value(json_object_get(doc, "kind")))
		what = "kind not set";
	else if (!json_is_object(json_object_get(doc, "metadata")) ||
		 !json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")))
		what = "metadata.name not set";
	if (!what)
		return 0;
	fprintf(stderr, "error: error validating \"%s\" (document %zu): %s\n", src, idx + 1, what);
	return -EINVAL;
}

static int add_docs(json_t *parsed, const char *src, json_t *docs, json_t *sources)
{
	json_t *d;
	size_t i;

	json_array_foreach(parsed, i, d) {
		const char *kind;

		if (json_is_null(d))
			continue;
		kind = json_string_value(json_object_get(d, "kind"));
		/* v1 List (and FooList) wrappers: apply their items. */
		if (json_is_object(d) && kind && strlen(kind) > 4 &&
		    !strcmp(kind + strlen(kind) - 4, "List") &&
		    json_is_array(json_object_get(d, "items"))) {
			json_t *it;
			size_t j;

			json_array_foreach(json_object_get(d, "items"), j, it) {
				if (check_doc(it, src, i))
					return -EINVAL;
				json_array_append(docs, it);
				json_array_append_new(sources, json_string(src));
			}
			continue;
		}
		if (check_doc(d, src, i))
			return -EINVAL;
		json_array_append(docs, d);
		json_array_append_new(sources, json_string(src));
	}
	return 0;
}

static int read_one(const char *path, json_t *docs, json_t *sources)
{
	struct gerr err = { 0 };
	json_t *parsed = NULL;
	char *buf = NULL;
	size_t len = 0;
	int ret;

	ret = fu_read_file_max(strcmp(path, "-") ? path : "/dev/stdin", MANIFEST_MAX, &buf, &len);
	if (!strcmp(path, "-"))
		path = "STDIN";
	if (ret == -EFBIG || ret == -ENOMEM) {
		fprintf(stderr, "error: reading \"%s\": %s\n", path, strerror(-ret));
		return ret;
	}
	if (ret) {
		fprintf(stderr, "error: the path \"%s\" cannot be read: %s\n", path, strerror(-ret));
		return ret;
	}
	ret = yj_parse(buf, len, NULL, &parsed, &err);
	free(buf);
	if (ret) {
		fprintf(stderr, "error: error parsing %s: %s\n", path, err.msg);
		return ret;
	}
	ret = add_docs(parsed, path, docs, sources);
	json_decref(parsed);
	return ret;
}

static int read_path(const char *path, bool recursive, bool top,
		     json_t *docs, json_t *sources)
{
	struct dirent **ents = NULL;
	struct stat st;
	int n, ret = 0;

	if (!strcmp(path, "-"))
		return read_one(path, docs, sources);
	if (stat(path, &st)) {
		fprintf(stderr, "error: the path \"%s\" does not exist\n", path);
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode))
		return read_one(path, docs, sources);
	if (!top && !recursive)
		return 0;
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "error: cannot list \"%s\": %s\n", path, strerror(errno));
		return -errno;
	}
	for (int i = 0; i < n; i++) {
		char *child = NULL;
		struct stat cst;

		if (ret || ents[i]->d_name[0] == '.')
			goto next;
		if (asprintf(&child, "%s/%s", path, ents[i]->d_name) < 0) {
			ret = -ENOMEM;
			goto next;
		}
		if (stat(child, &cst))
			goto next;
		if (S_ISDIR(cst.st_mode))
			ret = read_path(child, recursive, false, docs, sources);
		else if (has_manifest_ext(ents[i]->d_name))
			ret = read_one(child, docs, sources);
next:
		free(child);
		free(ents[i]);
	}
	free(ents);
	return ret;
}

int ctl_read_manifests(struct ctl *c, json_t **docs_out, json_t **sources_out)
{
	json_t *docs = json_array(), *sources = json_array();
	int ret = 0;

	for (int i = 0; i < c->o.n_files && !ret; i++)
		ret = read_path(c->o.files[i], c->o.recursive, true, docs, sources);
	if (!ret && json_array_size(docs) == 0) {
		fprintf(stderr, "error: no objects passed to %s\n", c->cmd);
		ret = -ENOENT;
	}
	if (ret) {
		json_decref(docs);
		json_decref(sources);
		return CTL_EXIT_ERR;
	}
	*docs_out = docs;
	*sources_out = sources;
	return CTL_EXIT_OK;
}

const char *ctl_doc_namespace(struct ctl *c, const json_t *doc, const char *source)
{
	const char *ns = json_string_value(json_object_get(json_object_get(doc, "metadata"),
							   "namespace"));

	if (ns && *ns) {
		if (c->o.namespace && strcmp(c->o.namespace, ns)) {
			fprintf(stderr, "error: the namespace from the provided object \"%s\" does not match the namespace \"%s\". You must pass '--namespace=%s' to perform this operation (%s).\n",
				ns, c->o.namespace, ns, source);
			return NULL;
		}
		return ns;
	}
	return c->ns;
}

int ctl_resolve_manifests(struct ctl *c, const json_t *docs, const json_t *sources,
			  const struct api_resource ***out)
{
	const struct api_resource **res;
	size_t n = json_array_size(docs);
	const json_t *d;
	size_t i;
	int bad = 0;

	res = calloc(n ? n : 1, sizeof(*res));
	if (!res)
		return CTL_EXIT_ERR;
	json_array_foreach(docs, i, d) {
		const char *av = json_string_value(json_object_get(d, "apiVersion"));
		const char *kind = json_string_value(json_object_get(d, "kind"));

		res[i] = apires_find_gvk(&c->rs, av, kind);
		if (!res[i]) {
			fprintf(stderr, "error: resource mapping not found for name: \"%s\" namespace: \"\" from \"%s\": no matches for kind \"%s\" in version \"%s\"\n",
				ctl_jpath_str(d, "metadata.name"), json_string_value(json_array_get(sources, i)),
				kind, av);
			bad++;
		} else if (res[i]->namespaced && !ctl_doc_namespace(c, d,
				json_string_value(json_array_get(sources, i)))) {
			bad++;
		}
	}
	if (bad) {
		free(res);
		return CTL_EXIT_ERR;
	}
	*out = res;
	return CTL_EXIT_OK;
}
