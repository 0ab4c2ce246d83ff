/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl delete: by name (TYPE NAME..., TYPE/NAME...), by manifest (-f)
 * or by label selector / --all (list, then delete each object, so that it
 * works without deletecollection and prints what it removed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

/* Returns 0 deleted, 1 not found (message printed unless ignored), -1 error. */
static int delete_one(struct ctl *c, const struct api_resource *res,
		      const char *ns, const char *name)
{
	struct api_resp r = { 0 };
	struct gerr err = { 0 };
	char path[1024], disp[160];
	int ret = -1;

	apires_display(res, disp, sizeof(disp));
	if (apires_path(res, ns, name, path, sizeof(path))) {
		fprintf(stderr, "error: name too long: %s\n", name);
		return -1;
	}
	if (c->o.dry_run) {
		printf("%s \"%s\" deleted (dry run)\n", disp, name);
		return 0;
	}
	if (apiclient_delete(c->api, path, &r, &err)) {
		fprintf(stderr, "error: %s\n", err.msg);
		return -1;
	}
	if (api_ok(&r)) {
		if (c->o.output && !strcmp(c->o.output, "name"))
			printf("%s/%s\n", disp, name);
		else
			printf("%s \"%s\" deleted\n", disp, name);
		ret = 0;
	} else if (r.status == 404) {
		if (!c->o.ignore_not_found)
			ctl_print_api_error(&r, NULL);
		ret = 1;
	} else {
		ctl_print_api_error(&r, NULL);
	}
	fflush(stdout);
	api_resp_free(&r);
	return ret;
}

static int delete_selected(struct ctl *c, const struct api_resource *res)
{
	struct api_resp r = { 0 };
	char path[1024], esc[1024];
	const char *ns = c->o.all_namespaces ? NULL : c->ns;
	json_t *it;
	size_t i, n = 0;
	int ret = CTL_EXIT_OK;

	if (apires_path(res, ns, NULL, path, sizeof(path)))
		return CTL_EXIT_ERR;
	if (c->o.selector) {
		apiclient_escape(c->o.selector, esc, sizeof(esc));
		if (strlen(path) + strlen(esc) + 16 >= sizeof(path))
			return CTL_EXIT_USAGE;
		strcat(path, "?labelSelector=");
		strcat(path, esc);
	}
	if (ctl_call(c, "GET", path, NULL, &r))
		return CTL_EXIT_ERR;
	json_array_foreach(json_object_get(r.body, "items"), i, it) {
		const char *name = ctl_jpath_str(it, "metadata.name");
		const char *ons = ctl_jpath_str(it, "metadata.namespace");

		if (!name)
			continue;
		n++;
		/* Gone meanwhile counts as deleted. */
		if (delete_one(c, res, res->namespaced ? (ons ? ons : ns) : NULL, name) < 0)
			ret = CTL_EXIT_ERR;
	}
	if (!n) {
		if (res->namespaced && ns)
			fprintf(stderr, "No resources found in %s namespace.\n", ns);
		else
			fprintf(stderr, "No resources found\n");
	}
	api_resp_free(&r);
	return ret;
}

int cmd_delete(struct ctl *c, int argc, char **argv)
{
	struct ctl_target *targets = NULL;
	const struct api_resource **res = NULL;
	json_t *docs = NULL, *sources = NULL, *d;
	bool by_sel = c->o.selector || c->o.all;
	int n, ret = CTL_EXIT_OK;
	size_t i;

	if (c->o.n_files) {
		if (argc || by_sel) {
			fprintf(stderr, "error: -f cannot be combined with resource arguments, -l or --all\n");
			return CTL_EXIT_USAGE;
		}
		ret = ctl_read_manifests(c, &docs, &sources);
		if (ret)
			return ret;
		ret = ctl_connect(c);
		if (!ret)
			ret = ctl_resolve_manifests(c, docs, sources, &res);
		if (ret)
			goto out;
		json_array_foreach(docs, i, d) {
			const char *ns = res[i]->namespaced ?
				ctl_doc_namespace(c, d, json_string_value(json_array_get(sources, i))) : NULL;
			int r = delete_one(c, res[i], ns, ctl_jpath_str(d, "metadata.name"));

			if (r < 0 || (r == 1 && !c->o.ignore_not_found))
				ret = CTL_EXIT_ERR;
		}
		goto out;
	}
	if (argc == 0) {
		fprintf(stderr, "error: you must provide one or more resources by argument or filename\n");
		return CTL_EXIT_USAGE;
	}
	if (by_sel && (argc > 1 || strchr(argv[0], '/'))) {
		fprintf(stderr, "error: names cannot be provided when a selector or --all is specified\n");
		return CTL_EXIT_USAGE;
	}
	if (!by_sel && argc == 1 && !strchr(argv[0], '/')) {
		fprintf(stderr, "error: resource(s) were provided, but no name was specified (use NAME, -l or --all)\n");
		return CTL_EXIT_USAGE;
	}
	ret = ctl_connect(c);
	if (ret)
		return ret;
	n = ctl_parse_targets(c, argc, argv, &targets);
	if (n < 0)
		return CTL_EXIT_ERR;
	for (int k = 0; k < n; k++) {
		if (!targets[k].name) {
			if (delete_selected(c, targets[k].res) != CTL_EXIT_OK)
				ret = CTL_EXIT_ERR;
			continue;
		}
		int r = delete_one(c, targets[k].res,
				   targets[k].res->namespaced ? c->ns : NULL, targets[k].name);

		if (r < 0 || (r == 1 && !c->o.ignore_not_found))
			ret = CTL_EXIT_ERR;
	}
out:
	free(targets);
	free(res);
	json_decref(docs);
	json_decref(sources);
	return ret;
}
