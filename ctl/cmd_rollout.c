/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl rollout: status (wait for a Deployment or DaemonSet rollout to
 * finish: GET, then a watch of that one object, evaluated with kubectl's
 * status viewers; --timeout), history and undo (from the ReplicaSets the
 * Deployment controls, by their deployment.kubernetes.io/revision
 * annotation; undo is client-side like kubectl 1.32: a JSON Patch copies the
 * chosen ReplicaSet's pod template back into the Deployment), pause and
 * resume (spec.paused) and restart (a kubectl.kubernetes.io/restartedAt
 * template annotation, which changes the template and so rolls every pod). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "ctl/table.h"
#include "ctl/workload.h"

static void disp_name(const struct ctl_named *t, char *buf, size_t len)
{
	char disp[160];

	apires_display(t->res, disp, sizeof(disp));
	snprintf(buf, len, "%s/%s", disp, t->name);
}

static bool is_kind(const struct ctl_named *t, const char *kind)
{
	return !strcmp(t->res->kind, kind) && !strcmp(t->res->group, "apps");
}

static void print_result(struct ctl *c, const struct ctl_named *t, const char *what)
{
	char dn[512];

	disp_name(t, dn, sizeof(dn));
	if (c->o.output && !strcmp(c->o.output, "name"))
		printf("%s\n", dn);
	else
		printf("%s %s%s\n", dn, what, c->o.dry_run ? " (dry run)" : "");
	fflush(stdout);
}

/* ---- status ----------------------------------------------------------- */

struct status_watch {
	const char *kind, *name;
	char last[512];
	int state;                 /* 1 done, -EINVAL failed, 0 waiting */
	bool deleted;
};

static void status_eval(struct status_watch *w, const json_t *obj)
{
	char msg[512];

	w->state = wl_rollout_status(w->kind, obj, msg, sizeof(msg));
	if (w->state < 0)
		return;
	/* Print each distinct progress line once, as kubectl does. */
	if (strcmp(msg, w->last)) {
		fputs(msg, stdout);
		fflush(stdout);
		snprintf(w->last, sizeof(w->last), "%s", msg);
	}
}

static int status_event(const char *type, json_t *obj, void *arg)
{
	struct status_watch *w = arg;
	const char *name = ctl_jpath_str(obj, "metadata.name");

	if (!strcmp(type, "BOOKMARK") || (name && strcmp(name, w->name)))
		return 0;
	if (!strcmp(type, "ERROR"))
		return 1;              /* re-read and watch again */
	if (!strcmp(type, "DELETED")) {
		w->deleted = true;
		return 1;
	}
	status_eval(w, obj);
	return w->state != 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int rollout_status(struct ctl *c, const struct ctl_named *t)
{
	struct status_watch w = { .kind = t->res->kind, .name = t->name };
	long long deadline = c->o.timeout_ms ? now_ms() + c->o.timeout_ms : 0;
	char path[1400], esc[600], sel[400], dn[512];
	json_t *obj = NULL;
	char msg[512];
	int ret;

	disp_name(t, dn, sizeof(dn));
	if (!is_kind(t, "Deployment") && !is_kind(t, "DaemonSet")) {
		fprintf(stderr, "error: no status viewer has been implemented for %s\n", t->res->kind);
		return CTL_EXIT_ERR;
	}
	for (;;) {
		struct gerr err = { 0 };
		long long left = 0;

		ret = ctl_get_object(c, t, NULL, &obj);
		if (ret)
			return ret;
		status_eval(&w, obj);
		if (w.state < 0) {
			wl_rollout_status(w.kind, obj, msg, sizeof(msg));
			fprintf(stderr, "error: %s\n", msg);
			json_decref(obj);
			return CTL_EXIT_ERR;
		}
		if (w.state == 1) {
			json_decref(obj);
			return CTL_EXIT_OK;
		}
		if (deadline) {
			left = deadline - now_ms();
			if (left <= 0)
				break;
		}
		snprintf(sel, sizeof(sel), "metadata.name=%s", t->name);
		if (apires_path(t->res, t->ns, NULL, path, sizeof(path) - 1200)) {
			json_decref(obj);
			return CTL_EXIT_ERR;
		}
		snprintf(path + strlen(path), sizeof(path) - strlen(path),
			 "?watch=true&fieldSelector=%s&resourceVersion=%s",
			 apiclient_escape(sel, esc, sizeof(esc)),
			 ctl_jpath_str(obj, "metadata.resourceVersion") ?: "0");
		json_decref(obj);
		obj = NULL;
		ret = apiclient_watch(c->api, path, left, status_event, &w, NULL, &err);
		if (w.deleted) {
			fprintf(stderr, "error: %s was deleted while waiting for its rollout\n", dn);
			return CTL_EXIT_ERR;
		}
		if (w.state == 1)
			return CTL_EXIT_OK;
		if (w.state < 0)
			continue;          /* the GET above reports it */
		if (ret == -ETIMEDOUT)
			break;
		if (ret) {
			/* 410 Gone or a dropped stream: read again and re-watch,
			 * without spinning on a persistent failure. */
			pr_info("watch %s: %s; retrying", dn, err.msg);
			usleep(200 * 1000);
		}
	}
	fprintf(stderr, "error: timed out waiting for the condition\n");
	return CTL_EXIT_ERR;
}

/* ---- history / undo --------------------------------------------------- */

/* The Deployment and every ReplicaSet of its namespace (revs point into
 * *rs_list). */
static int load_history(struct ctl *c, const struct ctl_named *t, json_t **deploy,
			json_t **rs_list, struct wl_rev **revs, int *nrevs)
{
	const struct api_resource *rsres = apires_find(&c->rs, "replicasets.apps");
	char path[1024];
	int ret;

	*deploy = *rs_list = NULL;
	*revs = NULL;
	*nrevs = 0;
	if (!is_kind(t, "Deployment")) {
		fprintf(stderr, "error: rollout history and undo work on deployments only (%s history needs ControllerRevisions, which Gannet does not serve)\n",
			t->res->kind);
		return CTL_EXIT_ERR;
	}
	if (!rsres || apires_path(rsres, t->ns, NULL, path, sizeof(path)))
		return CTL_EXIT_ERR;
	ret = ctl_get_object(c, t, NULL, deploy);
	if (ret)
		return ret;
	if (ctl_list(c, path, rs_list))
		return CTL_EXIT_ERR;
	*nrevs = wl_revisions(*deploy, *rs_list, revs);
	if (*nrevs < 0) {
		fprintf(stderr, "error: out of memory\n");
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

static int rollout_history(struct ctl *c, const struct ctl_named *t)
{
	json_t *deploy, *rs_list;
	struct wl_rev *revs;
	char dn[512];
	int n, ret;

	ret = load_history(c, t, &deploy, &rs_list, &revs, &n);
	if (ret)
		goto out;
	disp_name(t, dn, sizeof(dn));
	if (c->o.revision > 0) {
		const struct wl_rev *pick = NULL;

		for (int i = 0; i < n; i++)
			if (revs[i].revision == c->o.revision)
				pick = &revs[i];
		if (!pick) {
			fprintf(stderr, "error: unable to find the specified revision\n");
			ret = CTL_EXIT_ERR;
			goto out;
		}
		printf("%s with revision #%lld\n", dn, c->o.revision);
		wl_template_print(stdout, ctl_jpath(pick->rs, "spec.template"));
		goto out;
	}
	printf("%s\n", dn);
	if (!n)
		printf("No rollout history found.\n");
	else
		wl_history_print(stdout, revs, n);
	printf("\n");
out:
	fflush(stdout);
	free(revs);
	json_decref(deploy);
	json_decref(rs_list);
	return ret;
}

static int rollout_undo(struct ctl *c, const struct ctl_named *t)
{
	json_t *deploy, *rs_list, *patch = NULL;
	struct wl_rev *revs;
	long long chosen;
	char msg[512];
	int n, ret, r;

	ret = load_history(c, t, &deploy, &rs_list, &revs, &n);
	if (ret)
		goto out;
	r = wl_undo_patch(deploy, revs, n, c->o.to_revision > 0 ? c->o.to_revision : 0,
			  &patch, &chosen, msg, sizeof(msg));
	if (r < 0) {
		fprintf(stderr, "error: %s\n", msg);
		ret = CTL_EXIT_ERR;
		goto out;
	}
	if (r == 1) {
		print_result(c, t, msg);
		goto out;
	}
	pr_info("rolling back to revision %lld", chosen);
	if (!c->o.dry_run)
		ret = ctl_send(c, "PATCH", t, NULL, "json", patch, NULL);
	if (!ret)
		print_result(c, t, "rolled back");
out:
	free(revs);
	json_decref(patch);
	json_decref(deploy);
	json_decref(rs_list);
	return ret;
}

/* ---- pause / resume / restart ----------------------------------------- */

static int rollout_pause(struct ctl *c, const struct ctl_named *t, bool pause)
{
	json_t *obj = NULL, *patch = NULL;
	char disp[160];
	int ret;

	if (!is_kind(t, "Deployment")) {
		fprintf(stderr, "error: %s/%s: %s is not supported (deployments only)\n",
			t->res->plural, t->name, pause ? "pausing" : "resuming");
		return CTL_EXIT_ERR;
	}
	ret = ctl_get_object(c, t, NULL, &obj);
	if (ret)
		return ret;
	if (json_is_true(ctl_jpath(obj, "spec.paused")) == pause) {
		apires_display(t->res, disp, sizeof(disp));
		/* kubectl's wording: the plural.group form here. */
		fprintf(stderr, "error: %s%s%s \"%s\" is %s\n", t->res->plural,
			*t->res->group ? "." : "", t->res->group, t->name,
			pause ? "already paused" : "not paused");
		ret = CTL_EXIT_ERR;
		goto out;
	}
	/* resume: null removes the field, as kubectl's omitempty patch does. */
	patch = pause ? json_pack("{s:{s:b}}", "spec", "paused", 1)
		      : json_pack("{s:{s:n}}", "spec", "paused");
	if (!c->o.dry_run)
		ret = ctl_send(c, "PATCH", t, NULL, "merge", patch, NULL);
	if (!ret)
		print_result(c, t, pause ? "paused" : "resumed");
out:
	json_decref(obj);
	json_decref(patch);
	return ret;
}

static int rollout_restart(struct ctl *c, const struct ctl_named *t)
{
	json_t *obj = NULL, *patch = NULL;
	char ts[64];
	time_t now = time(NULL);
	struct tm tm;
	int ret;

	if (!is_kind(t, "Deployment") && !is_kind(t, "DaemonSet")) {
		fprintf(stderr, "error: %s/%s: restarting is not supported (deployments and daemon sets)\n",
			t->res->plural, t->name);
		return CTL_EXIT_ERR;
	}
	ret = ctl_get_object(c, t, NULL, &obj);
	if (ret)
		return ret;
	if (json_is_true(ctl_jpath(obj, "spec.paused"))) {
		fprintf(stderr, "error: %s/%s: can't restart paused deployment (run rollout resume first)\n",
			t->res->plural, t->name);
		ret = CTL_EXIT_ERR;
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	patch = wl_restart_patch(ts);
	if (!c->o.dry_run)
		ret = ctl_send(c, "PATCH", t, NULL, "strategic", patch, NULL);
	if (!ret)
		print_result(c, t, "restarted");
out:
	json_decref(obj);
	json_decref(patch);
	return ret;
}

/* ---- command ---------------------------------------------------------- */

int cmd_rollout(struct ctl *c, int argc, char **argv)
{
	static const char *const subs[] = { "status", "history", "undo", "pause", "resume",
					    "restart", NULL };
	struct ctl_named *t = NULL;
	const char *sub;
	int n, ret = CTL_EXIT_OK, k;

	if (argc < 1) {
		fprintf(stderr, "error: missing subcommand: status, history, undo, pause, resume or restart\n");
		return CTL_EXIT_USAGE;
	}
	sub = argv[0];
	for (k = 0; subs[k]; k++)
		if (!strcmp(subs[k], sub))
			break;
	if (!subs[k]) {
		fprintf(stderr, "error: unknown rollout subcommand \"%s\" (status, history, undo, pause, resume, restart)\n", sub);
		return CTL_EXIT_USAGE;
	}
	if ((c->o.revision >= 0 && strcmp(sub, "history")) ||
	    (c->o.to_revision >= 0 && strcmp(sub, "undo")) ||
	    (c->o.timeout_ms && strcmp(sub, "status"))) {
		fprintf(stderr, "error: --revision is for history, --to-revision for undo, --timeout for status\n");
		return CTL_EXIT_USAGE;
	}
	n = ctl_named_targets(c, argc - 1, argv + 1, &t);
	if (n < 0)
		return -n;
	for (int i = 0; i < n; i++) {
		int r;

		if (!strcmp(sub, "status"))
			r = rollout_status(c, &t[i]);
		else if (!strcmp(sub, "history"))
			r = rollout_history(c, &t[i]);
		else if (!strcmp(sub, "undo"))
			r = rollout_undo(c, &t[i]);
		else if (!strcmp(sub, "pause") || !strcmp(sub, "resume"))
			r = rollout_pause(c, &t[i], !strcmp(sub, "pause"));
		else
			r = rollout_restart(c, &t[i]);
		if (r)
			ret = CTL_EXIT_ERR;
	}
	ctl_named_free(t, n);
	return ret;
}
