/* SPDX-License-Identifier: Apache-2.0 */
/* Rollout status, revision history, rollback, set-image/restart patches and
 * resource quantities (see workload.h). The messages are kubectl's, word
 * for word, so scripts that grep them keep working. */
#include "ctl/workload.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/table.h"

static long long jint(const json_t *o, const char *path, long long def)
{
	const json_t *v = ctl_jpath(o, path);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

/* ---- rollout status --------------------------------------------------- */

static int deploy_status(const json_t *d, char *msg, size_t len)
{
	const char *name = ctl_jpath_str(d, "metadata.name") ?: "";
	long long gen = jint(d, "metadata.generation", 0);
	long long observed = jint(d, "status.observedGeneration", 0);
	long long want = jint(d, "spec.replicas", 1);
	long long replicas = jint(d, "status.replicas", 0);
	long long updated = jint(d, "status.updatedReplicas", 0);
	long long available = jint(d, "status.availableReplicas", 0);
	const json_t *c;
	size_t i;

	if (gen > observed) {
		snprintf(msg, len, "Waiting for deployment spec update to be observed...\n");
		return 0;
	}
	json_array_foreach(ctl_jpath(d, "status.conditions"), i, c) {
		const char *t = ctl_jpath_str(c, "type"), *r = ctl_jpath_str(c, "reason");

		if (t && r && !strcmp(t, "Progressing") && !strcmp(r, "ProgressDeadlineExceeded")) {
			snprintf(msg, len, "deployment \"%s\" exceeded its progress deadline", name);
			return -EINVAL;
		}
	}
	if (updated < want) {
		snprintf(msg, len, "Waiting for deployment \"%s\" rollout to finish: %lld out of %lld new replicas have been updated...\n",
			 name, updated, want);
		return 0;
	}
	if (replicas > updated) {
		snprintf(msg, len, "Waiting for deployment \"%s\" rollout to finish: %lld old replicas are pending termination...\n",
			 name, replicas - updated);
		return 0;
	}
	if (available < updated) {
		snprintf(msg, len, "Waiting for deployment \"%s\" rollout to finish: %lld of %lld updated replicas are available...\n",
			 name, available, updated);
		return 0;
	}
	snprintf(msg, len, "deployment \"%s\" successfully rolled out\n", name);
	return 1;
}

static int ds_status(const json_t *d, char *msg, size_t len)
{
	const char *name = ctl_jpath_str(d, "metadata.name") ?: "";
	const char *strategy = ctl_jpath_str(d, "spec.updateStrategy.type");
	long long desired = jint(d, "status.desiredNumberScheduled", 0);
	long long updated = jint(d, "status.updatedNumberScheduled", 0);
	long long available = jint(d, "status.numberAvailable", 0);

	if (strategy && strcmp(strategy, "RollingUpdate")) {
		snprintf(msg, len, "rollout status is only available for RollingUpdate strategy type");
		return -EINVAL;
	}
	if (jint(d, "metadata.generation", 0) > jint(d, "status.observedGeneration", 0)) {
		snprintf(msg, len, "Waiting for daemon set spec update to be observed...\n");
		return 0;
	}
	if (updated < desired) {
		snprintf(msg, len, "Waiting for daemon set \"%s\" rollout to finish: %lld out of %lld new pods have been updated...\n",
			 name, updated, desired);
		return 0;
	}
	if (available < desired) {
		snprintf(msg, len, "Waiting for daemon set \"%s\" rollout to finish: %lld of %lld updated pods are available...\n",
			 name, available, desired);
		return 0;
	}
	snprintf(msg, len, "daemon set \"%s\" successfully rolled out\n", name);
	return 1;
}

int wl_rollout_status(const char *kind, const json_t *obj, char *msg, size_t len)
{
	if (kind && !strcmp(kind, "Deployment"))
		return deploy_status(obj, msg, len);
	if (kind && !strcmp(kind, "DaemonSet"))
		return ds_status(obj, msg, len);
	snprintf(msg, len, "no status viewer has been implemented for %s", kind ? kind : "this kind");
	return -EINVAL;
}

/* ---- revision history ------------------------------------------------- */

static bool controlled_by(const json_t *obj, const char *uid)
{
	const json_t *ref;
	size_t i;

	json_array_foreach(ctl_jpath(obj, "metadata.ownerReferences"), i, ref) {
		const char *u = ctl_jpath_str(ref, "uid");

		if (json_is_true(json_object_get(ref, "controller")) && u && !strcmp(u, uid))
			return true;
	}
	return false;
}

/* The annotation is a decimal string; anything else has no revision
 * (kubectl skips such ReplicaSets too). */
static long long revision_of(const json_t *rs)
{
	const json_t *ann = ctl_jpath(rs, "metadata.annotations");
	const char *s = json_string_value(json_object_get(ann, WL_REVISION_ANNOTATION));
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || v < 0)
		return -1;
	return v;
}

static int rev_cmp(const void *a, const void *b)
{
	const struct wl_rev *x = a, *y = b;

	return x->revision < y->revision ? -1 : x->revision > y->revision;
}

int wl_revisions(const json_t *deploy, const json_t *rs_items, struct wl_rev **out)
{
	const char *uid = ctl_jpath_str(deploy, "metadata.uid");
	struct wl_rev *r;
	const json_t *rs;
	size_t i;
	int n = 0;

	*out = NULL;
	if (!uid || !json_array_size(rs_items))
		return 0;
	r = calloc(json_array_size(rs_items), sizeof(*r));
	if (!r)
		return -ENOMEM;
	json_array_foreach(rs_items, i, rs) {
		long long v = revision_of(rs);

		if (v < 0 || !controlled_by(rs, uid))
			continue;
		r[n].revision = v;
		r[n++].rs = rs;
	}
	qsort(r, (size_t)n, sizeof(*r), rev_cmp);
	if (!n) {
		free(r);
		r = NULL;
	}
	*out = r;
	return n;
}

void wl_history_print(FILE *f, const struct wl_rev *revs, int n)
{
	int w = (int)strlen("REVISION");

	/* kubectl's tabwriter: minimum padding 2. */
	fprintf(f, "%-*s  %s\n", w, "REVISION", "CHANGE-CAUSE");
	for (int i = 0; i < n; i++) {
		const json_t *ann = ctl_jpath(revs[i].rs, "metadata.annotations");
		const char *cause = json_string_value(json_object_get(ann, WL_CHANGE_CAUSE_ANNOTATION));

		fprintf(f, "%-*lld  %s\n", w, revs[i].revision, cause && *cause ? cause : "<none>");
	}
}

static void print_map(FILE *f, const char *title, const json_t *m, const char *sep)
{
	const char *k;
	json_t *v;
	bool first = true;

	fprintf(f, "  %s:", title);
	json_object_foreach((json_t *)m, k, v) {
		fprintf(f, "\t%s%s%s\n", k, sep, json_string_value(v) ?: "");
		first = false;
	}
	if (first)
		fprintf(f, "\t<none>\n");
}

void wl_template_print(FILE *f, const json_t *t)
{
	const json_t *c, *p, *e;
	size_t i, j;

	fprintf(f, "Pod Template:\n");
	print_map(f, "Labels", ctl_jpath(t, "metadata.labels"), "=");
	print_map(f, "Annotations", ctl_jpath(t, "metadata.annotations"), ": ");
	fprintf(f, "  Containers:\n");
	json_array_foreach(ctl_jpath(t, "spec.containers"), i, c) {
		fprintf(f, "   %s:\n", ctl_jpath_str(c, "name") ?: "");
		fprintf(f, "    Image:\t%s\n", ctl_jpath_str(c, "image") ?: "");
		if (!json_array_size(json_object_get(c, "ports")))
			fprintf(f, "    Port:\t<none>\n");
		json_array_foreach(json_object_get(c, "ports"), j, p)
			fprintf(f, "    Port:\t%lld/%s\n", jint(p, "containerPort", 0),
				ctl_jpath_str(p, "protocol") ?: "TCP");
		if (json_array_size(json_object_get(c, "command"))) {
			fprintf(f, "    Command:\n");
			json_array_foreach(json_object_get(c, "command"), j, e)
				fprintf(f, "      %s\n", json_string_value(e) ?: "");
		}
		fprintf(f, "    Environment:");
		if (!json_array_size(json_object_get(c, "env")))
			fprintf(f, "\t<none>\n");
		else
			fprintf(f, "\n");
		json_array_foreach(json_object_get(c, "env"), j, e)
			fprintf(f, "      %s:\t%s\n", ctl_jpath_str(e, "name") ?: "",
				ctl_jpath_str(e, "value") ?: "<set from a reference>");
	}
	fprintf(f, "  Volumes:\t%s\n", json_array_size(ctl_jpath(t, "spec.volumes")) ? "" : "<none>");
	json_array_foreach(ctl_jpath(t, "spec.volumes"), i, c)
		fprintf(f, "   %s\n", ctl_jpath_str(c, "name") ?: "");
}

/* Copy of a pod template without the pod-template-hash label (and without
 * an empty labels map left behind). */
static json_t *strip_hash(const json_t *t)
{
	json_t *c = json_deep_copy(t);
	json_t *labels = (json_t *)ctl_jpath(c, "metadata.labels");

	if (json_is_object(labels)) {
		json_object_del(labels, WL_HASH_LABEL);
		if (!json_object_size(labels))
			json_object_del(json_object_get(c, "metadata"), "labels");
	}
	return c;
}

bool wl_template_equal_ignore_hash(const json_t *a, const json_t *b)
{
	json_t *x = strip_hash(a), *y = strip_hash(b);
	bool eq;

	/* Absent and empty metadata mean the same thing. */
	if (json_is_object(json_object_get(x, "metadata")) &&
	    !json_object_size(json_object_get(x, "metadata")))
		json_object_del(x, "metadata");
	if (json_is_object(json_object_get(y, "metadata")) &&
	    !json_object_size(json_object_get(y, "metadata")))
		json_object_del(y, "metadata");
	eq = json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return eq;
}

/* Annotations kubectl never copies from a ReplicaSet back to its
 * Deployment: they describe the ReplicaSet itself or apply's history. */
static const char *const undo_skip[] = {
	"kubectl.kubernetes.io/last-applied-configuration",
	WL_REVISION_ANNOTATION,
	"deployment.kubernetes.io/revision-history",
	"deployment.kubernetes.io/desired-replicas",
	"deployment.kubernetes.io/max-replicas",
	"deprecated.deployment.rollback.to",
	NULL,
};

static bool skipped_annotation(const char *k)
{
	for (int i = 0; undo_skip[i]; i++)
		if (!strcmp(undo_skip[i], k))
			return true;
	return false;
}

int wl_undo_patch(const json_t *deploy, const struct wl_rev *revs, int n,
		  long long to_revision, json_t **patch, long long *chosen,
		  char *msg, size_t len)
{
	const char *name = ctl_jpath_str(deploy, "metadata.name") ?: "";
	const struct wl_rev *pick = NULL;
	json_t *tmpl, *ann;
	const char *k;
	json_t *v;

	*patch = NULL;
	*chosen = 0;
	if (json_is_true(ctl_jpath(deploy, "spec.paused"))) {
		snprintf(msg, len, "you cannot rollback a paused deployment; resume it first with 'gannetctl rollout resume' and try again");
		return -EPERM;
	}
	if (to_revision > 0) {
		for (int i = 0; i < n; i++)
			if (revs[i].revision == to_revision)
				pick = &revs[i];
		if (!pick) {
			snprintf(msg, len, "unable to find specified revision %lld in history", to_revision);
			return -ENOENT;
		}
	} else {
		/* revs is sorted: the previous revision is the second highest. */
		if (n < 2) {
			snprintf(msg, len, "no rollout history found for deployment \"%s\"", name);
			return -ENOENT;
		}
		pick = &revs[n - 2];
	}
	*chosen = pick->revision;
	if (wl_template_equal_ignore_hash(ctl_jpath(pick->rs, "spec.template"),
					  ctl_jpath(deploy, "spec.template"))) {
		snprintf(msg, len, "skipped rollback (current template already matches revision %lld)",
			 pick->revision);
		return 1;
	}
	tmpl = strip_hash(ctl_jpath(pick->rs, "spec.template"));
	ann = json_object();
	json_object_foreach((json_t *)ctl_jpath(deploy, "metadata.annotations"), k, v)
		if (skipped_annotation(k))
			json_object_set(ann, k, v);
	json_object_foreach((json_t *)ctl_jpath(pick->rs, "metadata.annotations"), k, v)
		if (!skipped_annotation(k))
			json_object_set(ann, k, v);
	*patch = json_pack("[{s:s,s:s,s:o},{s:s,s:s,s:o}]",
			   "op", "replace", "path", "/spec/template", "value", tmpl,
			   "op", "replace", "path", "/metadata/annotations", "value", ann);
	if (!*patch) {
		snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- patches ---------------------------------------------------------- */

json_t *wl_set_image_patch(const json_t *obj, const char *kind, char *const *specs,
			   int n, bool *changed, char *msg, size_t len)
{
	static const char *const lists[] = { "containers", "initContainers" };
	bool pod = kind && !strcmp(kind, "Pod");
	const json_t *spec = ctl_jpath(obj, pod ? "spec" : "spec.template.spec");
	json_t *out[2] = { json_array(), json_array() };
	json_t *patch = NULL, *pspec;

	*changed = false;
	if (!json_is_object(spec)) {
		snprintf(msg, len, "%s has no pod template", kind ? kind : "object");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(specs[i], '=');
		char cname[256];
		bool found = false;

		if (!eq || eq == specs[i] || !eq[1] || (size_t)(eq - specs[i]) >= sizeof(cname)) {
			snprintf(msg, len, "invalid image specification \"%s\": expected CONTAINER=IMAGE", specs[i]);
			goto out;
		}
		snprintf(cname, sizeof(cname), "%.*s", (int)(eq - specs[i]), specs[i]);
		for (int l = 0; l < 2; l++) {
			const json_t *c;
			size_t j;

			json_array_foreach(json_object_get(spec, lists[l]), j, c) {
				const char *nm = ctl_jpath_str(c, "name");
				const char *img = ctl_jpath_str(c, "image");
				const json_t *e;
				size_t k;
				bool dup = false;

				if (!nm || (strcmp(cname, "*") && strcmp(cname, nm)))
					continue;
				found = true;
				if (img && !strcmp(img, eq + 1))
					continue;
				/* A later spec for the same container wins. */
				json_array_foreach(out[l], k, e)
					if (!strcmp(ctl_jpath_str(e, "name"), nm)) {
						json_object_set_new((json_t *)e, "image", json_string(eq + 1));
						dup = true;
					}
				if (!dup)
					json_array_append_new(out[l], json_pack("{s:s,s:s}", "name", nm,
										"image", eq + 1));
			}
		}
		if (!found) {
			snprintf(msg, len, "unable to find container named \"%s\"", cname);
			goto out;
		}
	}
	pspec = json_object();
	for (int l = 0; l < 2; l++)
		if (json_array_size(out[l]))
			json_object_set(pspec, lists[l], out[l]);
	*changed = json_object_size(pspec) > 0;
	if (pod)
		patch = json_pack("{s:o}", "spec", pspec);
	else
		patch = json_pack("{s:{s:{s:o}}}", "spec", "template", "spec", pspec);
out:
	json_decref(out[0]);
	json_decref(out[1]);
	return patch;
}

json_t *wl_restart_patch(const char *ts)
{
	return json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template", "metadata",
			 "annotations", WL_RESTARTED_AT_ANNOTATION, ts);
}

/* ---- quantities ------------------------------------------------------- */

int wl_quantity(const char *s, bool cpu, long long *out)
{
	static const struct { const char *sfx; double mul; } sfx[] = {
		{ "Ki", 1024.0 }, { "Mi", 1048576.0 }, { "Gi", 1073741824.0 },
		{ "Ti", 1099511627776.0 }, { "Pi", 1125899906842624.0 },
		{ "Ei", 1152921504606846976.0 },
		{ "n", 1e-9 }, { "u", 1e-6 }, { "m", 1e-3 }, { "", 1.0 }, { "k", 1e3 },
		{ "M", 1e6 }, { "G", 1e9 }, { "T", 1e12 }, { "P", 1e15 }, { "E", 1e18 },
	};
	char *end;
	double v;

	if (!s || !*s || *s == ' ')
		return -EINVAL;
	/* strtod would take "0x..", "inf" and "nan": only plain decimals. */
	for (const char *p = s; *p; p++)
		if (!strchr("0123456789.+-eEkKMGTPnumi", *p))
			return -EINVAL;
	v = strtod(s, &end);
	if (end == s || v < 0 || !isfinite(v))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcmp(end, sfx[i].sfx))
			continue;
		v *= sfx[i].mul * (cpu ? 1000.0 : 1.0);
		if (v > 9e18)
			return -EINVAL;
		/* Quantities round up (resource.Quantity's Value/MilliValue). */
		*out = (long long)ceil(v - 1e-9);
		return 0;
	}
	return -EINVAL;
}

static void add_container_res(const json_t *c, struct wl_res *r)
{
	long long v;

	if (!wl_quantity(ctl_jpath_str(c, "resources.requests.cpu"), true, &v))
		r->cpu_req_m += v;
	if (!wl_quantity(ctl_jpath_str(c, "resources.limits.cpu"), true, &v))
		r->cpu_lim_m += v;
	if (!wl_quantity(ctl_jpath_str(c, "resources.requests.memory"), false, &v))
		r->mem_req += v;
	if (!wl_quantity(ctl_jpath_str(c, "resources.limits.memory"), false, &v))
		r->mem_lim += v;
}

static long long maxll(long long a, long long b)
{
	return a > b ? a : b;
}

void wl_pod_resources(const json_t *pod, struct wl_res *r)
{
	const json_t *c;
	size_t i;

	memset(r, 0, sizeof(*r));
	json_array_foreach(ctl_jpath(pod, "spec.containers"), i, c)
		add_container_res(c, r);
	/* Init containers run one at a time before the others. */
	json_array_foreach(ctl_jpath(pod, "spec.initContainers"), i, c) {
		struct wl_res one = { 0 };

		add_container_res(c, &one);
		r->cpu_req_m = maxll(r->cpu_req_m, one.cpu_req_m);
		r->cpu_lim_m = maxll(r->cpu_lim_m, one.cpu_lim_m);
		r->mem_req = maxll(r->mem_req, one.mem_req);
		r->mem_lim = maxll(r->mem_lim, one.mem_lim);
	}
}

void wl_fmt_cpu(long long milli, char *buf, size_t len)
{
	snprintf(buf, len, "%lldm", milli);
}

void wl_fmt_mem(long long bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%lldMi", (bytes + 1048575) / 1048576);
}
