/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl scale: set spec.replicas through the scale subresource, as
 * kubectl does, so it works for every kind that has one (Deployment,
 * ReplicaSet here; StatefulSet and ReplicationController elsewhere) and
 * needs only the "<plural>/scale" permission. Without a precondition it
 * sends a merge patch {"spec":{"replicas":N}}; with --current-replicas or
 * --resource-version it reads the Scale, checks it, and PUTs it back with
 * its resourceVersion so that a concurrent change fails with a conflict
 * instead of being overwritten. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"

static void print_done(struct ctl *c, const struct ctl_named *t, const char *what)
{
	char disp[160];

	apires_display(t->res, disp, sizeof(disp));
	if (c->o.output && !strcmp(c->o.output, "name"))
		printf("%s/%s\n", disp, t->name);
	else
		printf("%s/%s %s%s\n", disp, t->name, what, c->o.dry_run ? " (dry run)" : "");
	fflush(stdout);
}

static int scale_one(struct ctl *c, const struct ctl_named *t)
{
	json_t *scale = NULL, *body = NULL;
	int ret;

	if (c->o.current_replicas < 0 && !c->o.resource_version) {
		if (c->o.dry_run) {
			/* Still check that the object and its subresource exist. */
			ret = ctl_get_object(c, t, "scale", &scale);
		} else {
			body = json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)c->o.replicas);
			ret = ctl_send(c, "PATCH", t, "scale", "merge", body, NULL);
		}
		goto out;
	}
	ret = ctl_get_object(c, t, "scale", &scale);
	if (ret)
		goto out;
	if (c->o.current_replicas >= 0) {
		const json_t *cur = ctl_jpath(scale, "spec.replicas");
		long long have = json_is_integer(cur) ? json_integer_value(cur) : 0;

		if (have != c->o.current_replicas) {
			fprintf(stderr, "error: Expected replicas to be %lld, was %lld\n",
				c->o.current_replicas, have);
			ret = CTL_EXIT_ERR;
			goto out;
		}
	}
	if (c->o.resource_version) {
		const char *rv = ctl_jpath_str(scale, "metadata.resourceVersion");

		if (!rv || strcmp(rv, c->o.resource_version)) {
			fprintf(stderr, "error: Expected resource version to be %s, was %s\n",
				c->o.resource_version, rv ? rv : "");
			ret = CTL_EXIT_ERR;
			goto out;
		}
	}
	if (c->o.dry_run)
		goto out;
	json_object_set_new(json_object_get(scale, "spec"), "replicas",
			    json_integer(c->o.replicas));
	ret = ctl_send(c, "PUT", t, "scale", NULL, scale, NULL);
out:
	if (!ret)
		print_done(c, t, "scaled");
	json_decref(scale);
	json_decref(body);
	return ret;
}

/* "scale TYPE -l SEL" / "scale TYPE --all": every matching object of the
 * namespace, listed first. */
static int selected_targets(struct ctl *c, const char *type, struct ctl_named **out)
{
	const struct api_resource *res;
	struct api_resp r = { 0 };
	char path[1024], esc[600];
	const json_t *items, *it;
	struct ctl_named *t;
	size_t i;
	int n = 0, ret;

	ret = ctl_connect(c);
	if (ret)
		return -ret;
	res = ctl_resource(c, type);
	if (!res || apires_path(res, c->ns, NULL, path, sizeof(path) - 620))
		return -CTL_EXIT_ERR;
	if (c->o.selector) {
		strcat(path, "?labelSelector=");
		strcat(path, apiclient_escape(c->o.selector, esc, sizeof(esc)));
	}
	if (ctl_call(c, "GET", path, NULL, &r))
		return -CTL_EXIT_ERR;
	items = json_object_get(r.body, "items");
	t = calloc(json_array_size(items) + 1, sizeof(*t));
	if (!t) {
		api_resp_free(&r);
		return -CTL_EXIT_ERR;
	}
	json_array_foreach(items, i, it) {
		const char *name = ctl_jpath_str(it, "metadata.name");

		if (!name)
			continue;
		t[n].res = res;
		t[n].name = strdup(name);
		t[n++].ns = res->namespaced ? strdup(c->ns) : NULL;
	}
	api_resp_free(&r);
	if (!n)
		fprintf(stderr, "No resources found in %s namespace.\n", c->ns);
	*out = t;
	return n;
}

int cmd_scale(struct ctl *c, int argc, char **argv)
{
	struct ctl_named *t = NULL;
	int n, ret = CTL_EXIT_OK;

	if (c->o.replicas < 0) {
		fprintf(stderr, "error: required flag(s) \"replicas\" not set\n");
		return CTL_EXIT_USAGE;
	}
	if (c->o.selector || c->o.all) {
		if (argc != 1 || strchr(argv[0], '/') || c->o.n_files) {
			fprintf(stderr, "error: with -l or --all give exactly one resource type and no names\n");
			return CTL_EXIT_USAGE;
		}
		n = selected_targets(c, argv[0], &t);
	} else {
		n = ctl_named_targets(c, argc, argv, &t);
	}
	if (n < 0)
		return -n;
	for (int i = 0; i < n; i++)
		if (scale_one(c, &t[i]))
			ret = CTL_EXIT_ERR;
	ctl_named_free(t, n);
	return ret;
}
