/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl config (view, current-context, get-contexts, use-context) and
 * gannetctl version: kubeconfig inspection without a server, and the
 * client/server versions. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "common/yamljson.h"
#include "ctl/ctl.h"
#include "ctl/table.h"

#define GANNETCTL_VERSION "v0.1.0"
/* A kubeconfig is a few KB; the common loader's bound. */
#define CTL_KUBECONFIG_MAX (4 << 20)

/* Secrets shown by "config view" unless --raw, as kubectl does. */
static void redact(json_t *doc)
{
	static const char *const omit[] = {
		"certificate-authority-data", "client-certificate-data", "client-key-data",
	};
	json_t *users = json_object_get(doc, "users"), *clusters = json_object_get(doc, "clusters");
	json_t *it;
	size_t i;

	json_array_foreach(clusters, i, it) {
		json_t *c = json_object_get(it, "cluster");

		if (json_object_get(c, omit[0]))
			json_object_set_new(c, omit[0], json_string("DATA+OMITTED"));
	}
	json_array_foreach(users, i, it) {
		json_t *u = json_object_get(it, "user");

		for (size_t k = 1; k < 3; k++)
			if (json_object_get(u, omit[k]))
				json_object_set_new(u, omit[k], json_string("DATA+OMITTED"));
		if (json_object_get(u, "token"))
			json_object_set_new(u, "token", json_string("REDACTED"));
		if (json_object_get(u, "password"))
			json_object_set_new(u, "password", json_string("REDACTED"));
	}
}

static int load(struct ctl *c, char **paths, json_t **doc)
{
	struct gerr err = { 0 };

	*paths = kubeconfig_locate(c->o.kubeconfig, &err);
	if (!*paths) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	if (kubeconfig_load_json(*paths, doc, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		free(*paths);
		*paths = NULL;
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

/* Rewrite a single kubeconfig file atomically and durably, keeping its
 * mode (0600 for a new one: it holds keys). */
static int write_atomic(const char *path, const json_t *doc)
{
	struct gerr err = { 0 };
	struct stat st;
	char *yaml = NULL;
	size_t len = 0;
	int rc;

	if (yj_emit(doc, &yaml, &len, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	rc = fu_write_atomic(path, yaml, len, stat(path, &st) ? 0600 : st.st_mode & 07777,
			     FU_FSYNC);
	if (rc)
		fprintf(stderr, "error: writing %s: %s\n", path, strerror(-rc));
	free(yaml);
	return rc ? CTL_EXIT_ERR : CTL_EXIT_OK;
}

int cmd_config(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc ? argv[0] : NULL;
	char *paths = NULL;
	json_t *doc = NULL;
	int ret;

	if (!sub || (strcmp(sub, "view") && strcmp(sub, "current-context") &&
		     strcmp(sub, "get-contexts") && strcmp(sub, "use-context"))) {
		fprintf(stderr, "error: config needs one of: view, current-context, get-contexts, use-context NAME\n");
		return CTL_EXIT_USAGE;
	}
	if ((!strcmp(sub, "use-context") && argc != 2) ||
	    (strcmp(sub, "use-context") && argc != 1)) {
		fprintf(stderr, "error: wrong number of arguments for config %s\n", sub);
		return CTL_EXIT_USAGE;
	}
	ret = load(c, &paths, &doc);
	if (ret)
		return ret;
	if (!strcmp(sub, "view")) {
		struct gerr err = { 0 };
		char *yaml = NULL;

		if (!c->o.raw)
			redact(doc);
		if (yj_emit(doc, &yaml, NULL, &err)) {
			fprintf(stderr, "error: %s\n", err.msg);
			ret = CTL_EXIT_ERR;
		} else {
			fputs(yaml, stdout);
		}
		free(yaml);
	} else if (!strcmp(sub, "current-context")) {
		const char *cur = json_string_value(json_object_get(doc, "current-context"));

		if (cur && *cur) {
			printf("%s\n", cur);
		} else {
			fprintf(stderr, "error: current-context is not set\n");
			ret = CTL_EXIT_ERR;
		}
	} else if (!strcmp(sub, "get-contexts")) {
		static const char *const hdr[] = { "CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE" };
		const char *cur = json_string_value(json_object_get(doc, "current-context"));
		struct table t;
		json_t *it;
		size_t i;

		if (table_init(&t, 5, hdr)) {
			ret = CTL_EXIT_ERR;
			goto out;
		}
		json_array_foreach(json_object_get(doc, "contexts"), i, it) {
			const char *name = ctl_jpath_str(it, "name");
			const char *cells[5] = {
				cur && name && !strcmp(cur, name) ? "*" : "", name,
				ctl_jpath_str(it, "context.cluster"), ctl_jpath_str(it, "context.user"),
				ctl_jpath_str(it, "context.namespace"),
			};

			table_add_row(&t, cells);
		}
		table_print(&t, stdout, !c->o.no_headers);
		table_free(&t);
	} else {
		const char *want = argv[1];
		json_t *it;
		size_t i;
		bool found = false;

		json_array_foreach(json_object_get(doc, "contexts"), i, it)
			if (ctl_jpath_str(it, "name") && !strcmp(ctl_jpath_str(it, "name"), want))
				found = true;
		if (!found) {
			fprintf(stderr, "error: no context exists with the name: \"%s\"\n", want);
			ret = CTL_EXIT_ERR;
			goto out;
		}
		if (strchr(paths, ':')) {
			fprintf(stderr, "error: use-context edits one file; pass --kubeconfig FILE\n");
			ret = CTL_EXIT_USAGE;
			goto out;
		}
		/* Re-read the single file so that the rewrite does not
		 * absolutize its relative paths. */
		json_decref(doc);
		doc = NULL;
		{
			char *buf = NULL;
			size_t len = 0;
			struct gerr err = { 0 };
			int rc = fu_read_file_max(paths, CTL_KUBECONFIG_MAX, &buf, &len);

			if (rc || yj_parse_one(buf, len, NULL, &doc, &err)) {
				fprintf(stderr, "error: reading %s: %s\n", paths,
					rc ? strerror(-rc) : err.msg);
				free(buf);
				ret = CTL_EXIT_ERR;
				goto out;
			}
			free(buf);
		}
		json_object_set_new(doc, "current-context", json_string(want));
		ret = write_atomic(paths, doc);
		if (!ret)
			printf("Switched to context \"%s\".\n", want);
	}
out:
	json_decref(doc);
	free(paths);
	return ret;
}

int cmd_version(struct ctl *c, int argc, char **argv)
{
	struct api_resp r = { 0 };
	int ret;

	if (argc) {
		fprintf(stderr, "error: unexpected argument \"%s\"\n", argv[0]);
		return CTL_EXIT_USAGE;
	}
	printf("Client Version: %s\n", GANNETCTL_VERSION);
	if (c->o.client_only)
		return CTL_EXIT_OK;
	ret = ctl_connect(c);
	if (ret)
		return ret;
	if (ctl_call(c, "GET", "/version", NULL, &r))
		return CTL_EXIT_ERR;
	printf("Server Version: %s\n", ctl_jpath_str(r.body, "gitVersion") ?: "unknown");
	api_resp_free(&r);
	return CTL_EXIT_OK;
}
