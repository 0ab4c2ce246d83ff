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

int cmd_scale(struct ctl *c, int argc, char **argv)
{
	struct ctl_named *t = NULL;
	int n, ret = CTL_EXIT_OK;

	if (c->o.replicas < 0) {
		fprintf(stderr, "error: required flag(s) \"replicas\" not set\n");
		return CTL_EXIT_USAGE;
	}
	n = ctl_named_targets(c, argc, argv, &t);
	if (n < 0)
		return -n;
	for (int i = 0; i < n; i++)
		if (scale_one(c, &t[i]))
			ret = CTL_EXIT_ERR;
	ctl_named_free(t, n);
	return ret;
}
