/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl set image: change container images of a Pod or of a workload's
 * pod template with a strategic merge patch that names only the changed
 * containers (merged by name on the server, so the other containers and
 * every other field of the changed ones stay as they are). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/table.h"
#include "ctl/workload.h"

static int set_image_one(struct ctl *c, const struct ctl_named *t, char **specs, int nspecs)
{
	json_t *obj = NULL, *patch = NULL;
	char msg[512], disp[160];
	bool changed = false;
	int ret;

	ret = ctl_get_object(c, t, NULL, &obj);
	if (ret)
		return ret;
	patch = wl_set_image_patch(obj, t->res->kind, specs, nspecs, &changed, msg, sizeof(msg));
	if (!patch) {
		fprintf(stderr, "error: %s\n", msg);
		ret = CTL_EXIT_ERR;
		goto out;
	}
	/* Like kubectl: nothing to change prints nothing and sends nothing. */
	if (!changed)
		goto out;
	if (!c->o.dry_run)
		ret = ctl_send(c, "PATCH", t, NULL, "strategic", patch, NULL);
	if (!ret) {
		apires_display(t->res, disp, sizeof(disp));
		if (c->o.output && !strcmp(c->o.output, "name"))
			printf("%s/%s\n", disp, t->name);
		else
			printf("%s/%s image updated%s\n", disp, t->name,
			       c->o.dry_run ? " (dry run)" : "");
	}
out:
	json_decref(obj);
	json_decref(patch);
	return ret;
}

int cmd_set(struct ctl *c, int argc, char **argv)
{
	struct ctl_named *t = NULL;
	char **res_args, **specs;
	int nres = 0, nspecs = 0, n, ret = CTL_EXIT_OK;

	if (argc < 1 || strcmp(argv[0], "image")) {
		fprintf(stderr, "error: %s: gannetctl set supports \"image\" only\n",
			argc ? argv[0] : "missing subcommand");
		return CTL_EXIT_USAGE;
	}
	argc--;
	argv++;
	res_args = calloc((size_t)argc + 1, sizeof(*res_args));
	specs = calloc((size_t)argc + 1, sizeof(*specs));
	if (!res_args || !specs) {
		ret = CTL_EXIT_ERR;
		goto out;
	}
	/* Resource arguments first, then CONTAINER=IMAGE pairs. */
	for (int i = 0; i < argc; i++) {
		if (strchr(argv[i], '='))
			specs[nspecs++] = argv[i];
		else if (nspecs) {
			fprintf(stderr, "error: all resources must be specified before image changes: %s\n", argv[i]);
			ret = CTL_EXIT_USAGE;
			goto out;
		} else
			res_args[nres++] = argv[i];
	}
	if (!nspecs) {
		fprintf(stderr, "error: at least one image update is required (CONTAINER=IMAGE)\n");
		ret = CTL_EXIT_USAGE;
		goto out;
	}
	n = ctl_named_targets(c, nres, res_args, &t);
	if (n < 0) {
		ret = -n;
		goto out;
	}
	for (int i = 0; i < n; i++)
		if (set_image_one(c, &t[i], specs, nspecs))
			ret = CTL_EXIT_ERR;
	ctl_named_free(t, n);
out:
	free(res_args);
	free(specs);
	return ret;
}
