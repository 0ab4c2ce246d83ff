/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the controllers' pure decisions (no server): ReplicaSet
 * scale up/down with Kubernetes' deletion order, adoption and release;
 * Deployment template hash, rolling updates simulated step by step against
 * maxSurge/maxUnavailable, Recreate, revisions, rollback, history limit and
 * pause; DaemonSet placement; node IPAM; node lifecycle timing; garbage
 * collector verdicts; the work queue and the informer cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apiserver/controllers/ctrl.h"
#include "tests/unit/test.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);

	if (!o)
		fprintf(stderr, "bad test JSON: %s: %s\n", e.text, s);
	return o;
}

/* ---- helpers ------------------------------------------------------------ */

static json_t *mkpod(const char *name, const char *owner_uid, const char *node,
		     const char *phase, bool ready, const char *created)
{
	json_t *p = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{}, s:{s:s, s:[{s:s, s:s, s:s}]}}",
			      "apiVersion", "v1", "kind", "Pod",
			      "metadata", "name", name, "namespace", "default",
			      "creationTimestamp", created, "labels", "app", "web",
			      "spec", "status", "phase", phase,
			      "conditions", "type", "Ready", "status", ready ? "True" : "False",
			      "lastTransitionTime", created);
	if (node)
		json_object_set_new(json_object_get(p, "spec"), "nodeName", json_string(node));
	if (owner_uid)
		json_object_set_new(json_object_get(p, "metadata"), "ownerReferences",
				    json_pack("[{s:s, s:s, s:s, s:s, s:b}]", "apiVersion", "apps/v1",
					      "kind", "ReplicaSet", "name", "rs", "uid", owner_uid,
					      "controller", 1));
	return p;
}

static json_t *mkrs(int replicas)
{
	json_t *rs = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\","
		       "\"metadata\":{\"name\":\"rs\",\"namespace\":\"default\",\"uid\":\"u-rs\",\"generation\":3},"
		       "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
		       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}");

	json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(replicas));
	return rs;
}

static bool in_names(const json_t *arr, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (!strcmp(cj_str(v, "metadata.name") ?: "", name))
			return true;
	return false;
}

/* ---- generic helpers ------------------------------------------------------ */

static void test_int_or_percent(void)
{
	int v;
	json_t *p25 = json_string("25%"), *i3 = json_integer(3), *bad = json_string("x%");

	CHECK(ctrl_int_or_percent(p25, 6, true, &v) == 0);
	CHECK_EQ(v, 2);   /* 1.5 up */
	ctrl_int_or_percent(p25, 6, false, &v);
	CHECK_EQ(v, 1);   /* 1.5 down */
	ctrl_int_or_percent(p25, 10, true, &v);
	CHECK_EQ(v, 3);
	ctrl_int_or_percent(p25, 10, false, &v);
	CHECK_EQ(v, 2);
	ctrl_int_or_percent(i3, 10, false, &v);
	CHECK_EQ(v, 3);
	CHECK(ctrl_int_or_percent(bad, 10, false, &v) < 0);
	json_decref(p25);
	json_decref(i3);
	json_decref(bad);

	int s, u;
	json_t *d = J("{\"spec\":{\"replicas\":3,\"strategy\":{\"type\":\"RollingUpdate\","
		      "\"rollingUpdate\":{\"maxSurge\":\"10%\",\"maxUnavailable\":\"10%\"}}}}");

	CHECK(dep_fenceposts(d, &s, &u) == 0);
	CHECK_EQ(s, 1);  /* 0.3 rounds up */
	CHECK_EQ(u, 0);
	json_decref(d);
	d = J("{\"spec\":{\"replicas\":3,\"strategy\":{\"rollingUpdate\":{\"maxSurge\":0,\"maxUnavailable\":0}}}}");
	dep_fenceposts(d, &s, &u);
	CHECK_EQ(s, 0);
	CHECK_EQ(u, 1);  /* both zero: one may be unavailable */
	json_decref(d);
}

/* ---- ReplicaSet ------------------------------------------------------------ */

static void test_rs_scale_up(void)
{
	json_t *rs = mkrs(5), *pods = json_array();
	struct rs_plan p;

	json_array_append_new(pods, mkpod("a", "u-rs", "n1", "Running", true, "2026-01-01T00:00:01Z"));
	json_array_append_new(pods, mkpod("b", "u-rs", "n1", "Running", true, "2026-01-01T00:00:02Z"));
	/* Terminating and finished pods do not count. */
	json_t *t = mkpod("c", "u-rs", "n1", "Running", true, "2026-01-01T00:00:03Z");
	json_object_set_new(json_object_get(t, "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:01:00Z"));
	json_array_append_new(pods, t);
	json_array_append_new(pods, mkpod("d", "u-rs", "n1", "Failed", false, "2026-01-01T00:00:04Z"));
	/* Controlled by another owner: never touched. */
	json_array_append_new(pods, mkpod("e", "u-other", "n1", "Running", true, "2026-01-01T00:00:05Z"));
	rs_compute(rs, pods, 0, &p);
	CHECK_EQ(p.create, 3);
	CHECK_EQ(json_array_size(p.del), 0);
	CHECK_EQ(json_array_size(p.adopt), 0);
	CHECK_EQ(cj_int(p.status, "replicas", -1), 2);
	CHECK_EQ(cj_int(p.status, "readyReplicas", -1), 2);
	CHECK_EQ(cj_int(p.status, "availableReplicas", -1), 2);
	CHECK_EQ(cj_int(p.status, "observedGeneration", -1), 3);
	rs_plan_free(&p);

	json_t *np = rs_new_pod(rs);
	CHECK_STR(cj_str(np, "metadata.generateName"), "rs-");
	CHECK_STR(cj_str(np, "metadata.labels.app"), "web");
	CHECK(ctrl_is_controlled_by(np, rs));
	CHECK_STR(cj_str(json_array_get(sel_lookup_path(np, "metadata.ownerReferences"), 0), "kind"),
		  "ReplicaSet");
	CHECK_STR(cj_str(np, "spec.containers.0.image") ?: "i", "i");
	json_decref(np);
	json_decref(pods);
	json_decref(rs);
}

static void test_rs_scale_down_order(void)
{
	json_t *rs = mkrs(2), *pods = json_array();
	struct rs_plan p;

	json_array_append_new(pods, mkpod("old-ready", "u-rs", "n1", "Running", true, "2026-01-01T00:00:01Z"));
	json_array_append_new(pods, mkpod("new-ready", "u-rs", "n1", "Running", true, "2026-01-01T00:00:09Z"));
	json_array_append_new(pods, mkpod("unready", "u-rs", "n1", "Running", false, "2026-01-01T00:00:02Z"));
	json_array_append_new(pods, mkpod("pending", "u-rs", "n1", "Pending", false, "2026-01-01T00:00:03Z"));
	json_array_append_new(pods, mkpod("unsched", "u-rs", NULL, "Pending", false, "2026-01-01T00:00:04Z"));
	rs_compute(rs, pods, 0, &p);
	CHECK_EQ(p.create, 0);
	CHECK_EQ(json_array_size(p.del), 3);
	CHECK_STR(cj_str(json_array_get(p.del, 0), "metadata.name"), "unsched");
	CHECK_STR(cj_str(json_array_get(p.del, 1), "metadata.name"), "pending");
	CHECK_STR(cj_str(json_array_get(p.del, 2), "metadata.name"), "unready");
	rs_plan_free(&p);

	/* Among ready pods, the most recently ready goes first. */
	json_decref(rs);
	rs = mkrs(1);
	json_array_clear(pods);
	json_array_append_new(pods, mkpod("old-ready", "u-rs", "n1", "Running", true, "2026-01-01T00:00:01Z"));
	json_array_append_new(pods, mkpod("new-ready", "u-rs", "n1", "Running", true, "2026-01-01T00:00:09Z"));
	rs_compute(rs, pods, 0, &p);
	CHECK_EQ(json_array_size(p.del), 1);
	CHECK_STR(cj_str(json_array_get(p.del, 0), "metadata.name"), "new-ready");
	rs_plan_free(&p);
	json_decref(pods);
	json_decref(rs);
}

static void test_rs_adopt_release(void)
{
	json_t *rs = mkrs(2), *pods = json_array();
	struct rs_plan p;

	json_array_append_new(pods, mkpod("orphan", NULL, "n1", "Running", true, "2026-01-01T00:00:01Z"));
	json_t *moved = mkpod("moved", "u-rs", "n1", "Running", true, "2026-01-01T00:00:02Z");
	json_object_set_new(sel_lookup_path(moved, "metadata.labels") ? json_object_get(json_object_get(moved, "metadata"), "labels") : NULL,
			    "app", json_string("other"));
	json_array_append_new(pods, moved);
	json_t *stranger = mkpod("stranger", NULL, "n1", "Running", true, "2026-01-01T00:00:03Z");
	json_object_set_new(json_object_get(json_object_get(stranger, "metadata"), "labels"),
			    "app", json_string("db"));
	json_array_append_new(pods, stranger);
	rs_compute(rs, pods, 0, &p);
	CHECK_EQ(json_array_size(p.adopt), 1);
	CHECK(in_names(p.adopt, "orphan"));
	CHECK_EQ(json_array_size(p.release), 1);
	CHECK(in_names(p.release, "moved"));
	CHECK_EQ(p.create, 1);  /* the adopted orphan counts */
	rs_plan_free(&p);

	/* An owner being deleted adopts nothing and creates nothing. */
	json_object_set_new(json_object_get(rs, "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:00:00Z"));
	rs_compute(rs, pods, 0, &p);
	CHECK_EQ(json_array_size(p.adopt), 0);
	CHECK_EQ(p.create, 0);
	rs_plan_free(&p);

	/* An empty selector owns nothing and must create nothing. */
	json_object_set_new(json_object_get(rs, "spec"), "selector", json_object());
	json_object_del(json_object_get(rs, "metadata"), "deletionTimestamp");
	rs_compute(rs, pods, 0, &p);
	CHECK_EQ(p.create, 0);
	CHECK_EQ(json_array_size(p.adopt), 0);
	rs_plan_free(&p);
	json_decref(pods);
	json_decref(rs);
}

static void test_min_ready(void)
{
	json_t *pod = mkpod("a", "u-rs", "n1", "Running", true, "2026-01-01T00:00:00Z");
	time_t t0 = ctrl_parse_time("2026-01-01T00:00:00Z");

	CHECK(t0 > 0);
	CHECK(ctrl_pod_available(pod, 0, t0));
	CHECK(!ctrl_pod_available(pod, 10, t0 + 5));
	CHECK(ctrl_pod_available(pod, 10, t0 + 10));
	json_decref(pod);
}

/* ---- Deployment ---------------------------------------------------------------- */

static void test_template_hash(void)
{
	json_t *a = J("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}");
	json_t *b = J("{\"metadata\":{\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"zzz\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}");
	json_t *c = J("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x:2\"}]}}");
	char ha[16], hb[16], hc[16], hcol[16];

	dep_template_hash(a, 0, ha, sizeof(ha));
	dep_template_hash(b, 0, hb, sizeof(hb));
	dep_template_hash(c, 0, hc, sizeof(hc));
	dep_template_hash(a, 1, hcol, sizeof(hcol));
	CHECK_STR(ha, hb);
	CHECK(strcmp(ha, hc) != 0);
	CHECK(strcmp(ha, hcol) != 0);
	CHECK(strlen(ha) >= 6);
	CHECK(strspn(ha, "bcdfghjklmnpqrstvwxz2456789") == strlen(ha));
	CHECK(dep_templates_equal(a, b));
	CHECK(!dep_templates_equal(a, c));
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* A tiny cluster: the Deployment, its ReplicaSets and a simulated
 * ReplicaSet controller whose pods become available one per step. */
struct sim {
	json_t *d;
	json_t *rss;
	int next_uid;
	int max_total, min_avail;   /* observed extremes during the rollout */
	int creates;
};

static void sim_init(struct sim *s, int replicas, const char *strategy, int surge, int unavail)
{
	memset(s, 0, sizeof(*s));
	s->d = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
		 "\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"u-d\",\"generation\":1},"
		 "\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"revisionHistoryLimit\":10,"
		 "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
		 "\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x:1\"}]}}}}");
	json_object_set_new(json_object_get(s->d, "spec"), "replicas", json_integer(replicas));
	json_object_set_new(json_object_get(s->d, "spec"), "strategy",
			    !strcmp(strategy, "Recreate") ? json_pack("{s:s}", "type", "Recreate") :
			    json_pack("{s:s, s:{s:i, s:i}}", "type", "RollingUpdate", "rollingUpdate",
				      "maxSurge", surge, "maxUnavailable", unavail));
	s->rss = json_array();
	s->min_avail = 1 << 30;
}

static json_t *sim_find(struct sim *s, const char *name)
{
	size_t i;
	json_t *rs;

	json_array_foreach(s->rss, i, rs)
		if (!strcmp(cj_str(rs, "metadata.name"), name))
			return rs;
	return NULL;
}

/* Pods of the old ReplicaSets still around (for Recreate). */
static json_t *sim_pods(struct sim *s)
{
	json_t *pods = json_array(), *rs;
	size_t i;
	char name[64];

	json_array_foreach(s->rss, i, rs)
		for (int k = 0; k < cj_int(rs, "status.replicas", 0); k++) {
			snprintf(name, sizeof(name), "%s-%d", cj_str(rs, "metadata.name"), k);
			json_array_append_new(pods, mkpod(name, cj_str(rs, "metadata.uid"), "n1",
							  "Running", true, "2026-01-01T00:00:00Z"));
		}
	return pods;
}

/* Applies one dep_plan; returns the number of actions other than status. */
static int sim_deploy_step(struct sim *s)
{
	json_t *pods = sim_pods(s), *acts = dep_plan(s->d, s->rss, pods), *a;
	size_t i;
	int n = 0;

	json_array_foreach(acts, i, a) {
		const char *op = cj_str(a, "op");
		json_t *rs = cj_str(a, "name") ? sim_find(s, cj_str(a, "name")) : NULL;

		if (strcmp(op, "status"))
			n++;
		if (!strcmp(op, "create")) {
			json_t *o = json_deep_copy(json_object_get(a, "object"));
			char uid[32], ts[64];

			snprintf(uid, sizeof(uid), "u-rs-%d", ++s->next_uid);
			snprintf(ts, sizeof(ts), "2026-01-01T00:00:%02dZ", s->next_uid);
			json_object_set_new(json_object_get(o, "metadata"), "uid", json_string(uid));
			json_object_set_new(json_object_get(o, "metadata"), "creationTimestamp", json_string(ts));
			json_object_set_new(o, "status", json_pack("{s:i, s:i, s:i}", "replicas", 0,
								   "readyReplicas", 0, "availableReplicas", 0));
			json_array_append_new(s->rss, o);
			s->creates++;
		} else if (!strcmp(op, "scale") && rs) {
			json_object_set(json_object_get(rs, "spec"), "replicas", json_object_get(a, "replicas"));
			json_object_update(json_object_get(json_object_get(rs, "metadata"), "annotations"),
					   json_object_get(a, "annotations"));
		} else if (!strcmp(op, "delete") && rs) {
			for (size_t j = 0; j < json_array_size(s->rss); j++)
				if (json_array_get(s->rss, j) == rs) {
					json_array_remove(s->rss, j);
					break;
				}
		} else if (!strcmp(op, "annotate")) {
			json_t *md = json_object_get(s->d, "metadata");

			if (!json_object_get(md, "annotations"))
				json_object_set_new(md, "annotations", json_object());
			json_object_update(json_object_get(md, "annotations"), json_object_get(a, "annotations"));
		} else if (!strcmp(op, "status")) {
			json_object_set(s->d, "status", json_object_get(a, "status"));
		}
	}
	json_decref(acts);
	json_decref(pods);
	return n;
}

/* The ReplicaSet controller and kubelets: extra pods go at once, missing
 * ones are created at once and become available one per RS per step. */
static bool sim_lag;  /* statuses report the previous step's truth */

static void sim_rs_step(struct sim *s)
{
	size_t i;
	json_t *rs;
	int total = 0, avail = 0;

	json_array_foreach(s->rss, i, rs) {
		int spec = (int)cj_int(rs, "spec.replicas", 0);
		int av = (int)cj_int(rs, "x-true.avail", cj_int(rs, "status.availableReplicas", 0));
		int prev_av = av, prev_n = (int)cj_int(rs, "x-true.n", spec);

		if (av > spec)
			av = spec;
		else if (av < spec)
			av++;
		json_object_set_new(rs, "x-true", json_pack("{s:i, s:i}", "avail", av, "n", spec));
		if (sim_lag) {
			/* The ReplicaSet controller has not reported yet. */
			json_object_set_new(rs, "status", json_pack("{s:i, s:i, s:i}", "replicas", prev_n,
								     "readyReplicas", prev_av,
								     "availableReplicas", prev_av));
		} else {
			json_object_set_new(rs, "status", json_pack("{s:i, s:i, s:i}", "replicas", spec,
								     "readyReplicas", av, "availableReplicas", av));
		}
		total += spec;
		avail += av;
	}
	if (total > s->max_total)
		s->max_total = total;
	if (avail < s->min_avail)
		s->min_avail = avail;
}

static bool sim_settled(struct sim *s)
{
	size_t i;
	json_t *rs;

	json_array_foreach(s->rss, i, rs)
		if (cj_int(rs, "status.availableReplicas", 0) != cj_int(rs, "spec.replicas", 0) ||
		    cj_int(rs, "x-true.avail", 0) != cj_int(rs, "spec.replicas", 0))
			return false;
	return true;
}

/* Until the Deployment has nothing left to do and every pod is available
 * (the final step refreshes the Deployment's status). */
static void sim_converge(struct sim *s, int max_steps)
{
	for (int i = 0; i < max_steps; i++) {
		int n = sim_deploy_step(s);

		sim_rs_step(s);
		if (!n && sim_settled(s) && !sim_deploy_step(s))
			return;
	}
	fprintf(stderr, "  simulation did not converge in %d steps\n", max_steps);
}

static const char *ann(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(sel_lookup_path(o, "metadata.annotations"), k));
}

static json_t *sim_rs_with_image(struct sim *s, const char *image)
{
	size_t i;
	json_t *rs;

	json_array_foreach(s->rss, i, rs)
		if (!strcmp(cj_str(json_array_get(sel_lookup_path(rs, "spec.template.spec.containers"), 0),
				   "image") ?: "", image))
			return rs;
	return NULL;
}

static void set_image(struct sim *s, const char *image)
{
	json_object_set_new(json_array_get(sel_lookup_path(s->d, "spec.template.spec.containers"), 0),
			    "image", json_string(image));
}

static void test_deploy_create_and_scale(void)
{
	struct sim s;

	sim_init(&s, 6, "RollingUpdate", 2, 1);
	sim_converge(&s, 50);
	CHECK_EQ(json_array_size(s.rss), 1);
	json_t *rs = json_array_get(s.rss, 0);
	CHECK_EQ(cj_int(rs, "spec.replicas", 0), 6);
	CHECK_STR(ann(rs, DEP_REVISION_ANN), "1");
	CHECK_STR(ann(rs, DEP_DESIRED_ANN), "6");
	CHECK_STR(ann(rs, DEP_MAX_ANN), "8");
	CHECK_STR(ann(s.d, DEP_REVISION_ANN), "1");
	char want[64];
	snprintf(want, sizeof(want), "web-%s", cj_str(rs, "spec.template.metadata.labels.pod-template-hash"));
	CHECK_STR(cj_str(rs, "metadata.name"), want);
	CHECK_STR(cj_str(rs, "spec.selector.matchLabels.pod-template-hash"),
		  cj_str(rs, "spec.template.metadata.labels.pod-template-hash"));
	CHECK_EQ(cj_int(s.d, "status.availableReplicas", -1), 6);
	CHECK_EQ(cj_int(s.d, "status.updatedReplicas", -1), 6);
	CHECK_EQ(cj_int(s.d, "status.readyReplicas", -1), 6);

	/* Scale to 2 then 10: the only ReplicaSet follows, annotations too. */
	json_object_set_new(json_object_get(s.d, "spec"), "replicas", json_integer(2));
	sim_converge(&s, 50);
	CHECK_EQ(cj_int(rs, "spec.replicas", 0), 2);
	CHECK_STR(ann(rs, DEP_DESIRED_ANN), "2");
	json_object_set_new(json_object_get(s.d, "spec"), "replicas", json_integer(10));
	sim_converge(&s, 50);
	CHECK_EQ(cj_int(rs, "spec.replicas", 0), 10);
	CHECK_EQ(json_array_size(s.rss), 1);
	CHECK_EQ(s.creates, 1);
	json_decref(s.d);
	json_decref(s.rss);
}

static void check_rollout(int replicas, int surge, int unavail)
{
	struct sim s;

	sim_init(&s, replicas, "RollingUpdate", surge, unavail);
	sim_converge(&s, 100);
	s.max_total = 0;
	s.min_avail = 1 << 30;
	set_image(&s, "x:2");
	sim_converge(&s, 200);
	json_t *n = sim_rs_with_image(&s, "x:2"), *o = sim_rs_with_image(&s, "x:1");
	CHECK(n && o);
	if (!n || !o)
		goto out;
	CHECK_EQ(cj_int(n, "spec.replicas", -1), replicas);
	CHECK_EQ(cj_int(n, "status.availableReplicas", -1), replicas);
	CHECK_EQ(cj_int(o, "spec.replicas", -1), 0);
	CHECK(s.max_total <= replicas + surge);
	CHECK(s.min_avail >= replicas - (unavail ? unavail : (surge ? 0 : 1)));
	if (s.max_total > replicas + surge || s.min_avail < replicas - unavail)
		fprintf(stderr, "  rollout %d/%d/%d: max total %d, min available %d\n",
			replicas, surge, unavail, s.max_total, s.min_avail);
	CHECK_STR(ann(n, DEP_REVISION_ANN), "2");
	CHECK_STR(ann(s.d, DEP_REVISION_ANN), "2");
	CHECK_EQ(cj_int(s.d, "status.updatedReplicas", -1), replicas);
out:
	json_decref(s.d);
	json_decref(s.rss);
}

static void test_deploy_rolling_update(void)
{
	check_rollout(6, 2, 1);
	check_rollout(6, 0, 1);   /* no surge: strictly one down, one up */
	check_rollout(6, 1, 0);   /* never below 6 available */
	check_rollout(10, 3, 2);  /* 25% of 10, rounded as Kubernetes */
	check_rollout(1, 1, 0);
	/* Statuses one step late (the ReplicaSet controller has not
	 * reported yet): the bounds must hold on the real pod counts. */
	sim_lag = true;
	check_rollout(6, 2, 1);
	check_rollout(10, 3, 2);
	check_rollout(6, 0, 1);
	sim_lag = false;
}

static void test_deploy_scale_mid_rollout(void)
{
	struct sim s;

	sim_init(&s, 10, "RollingUpdate", 3, 2);
	sim_converge(&s, 100);
	set_image(&s, "x:2");
	for (int i = 0; i < 2; i++) {
		sim_deploy_step(&s);
		sim_rs_step(&s);
	}
	json_t *o = sim_rs_with_image(&s, "x:1"), *nw = sim_rs_with_image(&s, "x:2");
	CHECK(o && nw);
	if (!o || !nw)
		goto out;
	int o0 = (int)cj_int(o, "spec.replicas", 0), n0 = (int)cj_int(nw, "spec.replicas", 0);

	CHECK(o0 > 0 && o0 < 10 && n0 > 0);
	CHECK(o0 + n0 <= 13);
	/* Scale 10 -> 20 in the middle: both ReplicaSets grow in proportion
	 * (Kubernetes' proportional scaling), within 20 + maxSurge. */
	json_object_set_new(json_object_get(s.d, "spec"), "replicas", json_integer(20));
	sim_deploy_step(&s);
	int o1 = (int)cj_int(o, "spec.replicas", 0), n1 = (int)cj_int(nw, "spec.replicas", 0);

	CHECK(o1 > o0);
	CHECK(n1 > n0);
	CHECK_EQ(o1 + n1, 23);
	CHECK_STR(ann(o, DEP_DESIRED_ANN), "20");
	CHECK_STR(ann(nw, DEP_MAX_ANN), "23");
	sim_rs_step(&s);
	sim_converge(&s, 200);
	CHECK_EQ(cj_int(nw, "spec.replicas", -1), 20);
	CHECK_EQ(cj_int(o, "spec.replicas", -1), 0);
	/* And back down to 4. */
	json_object_set_new(json_object_get(s.d, "spec"), "replicas", json_integer(4));
	sim_converge(&s, 200);
	CHECK_EQ(cj_int(nw, "spec.replicas", -1), 4);
out:
	json_decref(s.d);
	json_decref(s.rss);
}

static void test_deploy_rollback_and_history(void)
{
	struct sim s;

	sim_init(&s, 3, "RollingUpdate", 1, 1);
	sim_converge(&s, 100);
	set_image(&s, "x:2");
	sim_converge(&s, 100);
	/* kubectl rollout undo: the template of revision 1 comes back. */
	set_image(&s, "x:1");
	sim_converge(&s, 100);
	CHECK_EQ(json_array_size(s.rss), 2);
	CHECK_EQ(s.creates, 2);  /* revision 1's ReplicaSet is reused */
	json_t *r1 = sim_rs_with_image(&s, "x:1"), *r2 = sim_rs_with_image(&s, "x:2");
	CHECK(r1 && r2);
	if (r1 && r2) {
		CHECK_STR(ann(r1, DEP_REVISION_ANN), "3");
		CHECK_STR(ann(r2, DEP_REVISION_ANN), "2");
		CHECK_EQ(cj_int(r1, "spec.replicas", -1), 3);
		CHECK_EQ(cj_int(r2, "spec.replicas", -1), 0);
	}
	CHECK_STR(ann(s.d, DEP_REVISION_ANN), "3");

	/* revisionHistoryLimit 1: only the newest old ReplicaSet stays. */
	json_object_set_new(json_object_get(s.d, "spec"), "revisionHistoryLimit", json_integer(1));
	set_image(&s, "x:4");
	sim_converge(&s, 100);
	set_image(&s, "x:5");
	sim_converge(&s, 100);
	CHECK_EQ(json_array_size(s.rss), 2);
	CHECK(sim_rs_with_image(&s, "x:5") != NULL);
	CHECK(sim_rs_with_image(&s, "x:4") != NULL);
	CHECK(sim_rs_with_image(&s, "x:1") == NULL);
	json_decref(s.d);
	json_decref(s.rss);
}

static void test_deploy_recreate(void)
{
	struct sim s;
	json_t *acts, *pods, *a;
	size_t i;
	bool created = false, scaled_old = false;

	sim_init(&s, 3, "Recreate", 0, 0);
	sim_converge(&s, 50);
	set_image(&s, "x:2");
	/* Step 1: old ReplicaSet to 0, no new one while old pods run. */
	pods = sim_pods(&s);
	acts = dep_plan(s.d, s.rss, pods);
	json_array_foreach(acts, i, a) {
		if (!strcmp(cj_str(a, "op"), "create"))
			created = cj_int(a, "object.spec.replicas", -1) == 0;
		if (!strcmp(cj_str(a, "op"), "scale") && cj_int(a, "replicas", -1) == 0)
			scaled_old = true;
	}
	/* The new ReplicaSet may be created first, at 0 replicas. */
	CHECK(created || scaled_old);
	json_decref(acts);
	json_decref(pods);
	int max_new_while_old = 0;

	for (int step = 0; step < 50; step++) {
		sim_deploy_step(&s);
		json_t *o = sim_rs_with_image(&s, "x:1"), *n = sim_rs_with_image(&s, "x:2");

		if (o && n && cj_int(o, "status.replicas", 0) > 0 &&
		    cj_int(n, "spec.replicas", 0) > max_new_while_old)
			max_new_while_old = (int)cj_int(n, "spec.replicas", 0);
		sim_rs_step(&s);
	}
	CHECK_EQ(max_new_while_old, 0);
	CHECK_EQ(cj_int(sim_rs_with_image(&s, "x:2"), "spec.replicas", -1), 3);
	CHECK_EQ(cj_int(sim_rs_with_image(&s, "x:1"), "spec.replicas", -1), 0);
	json_decref(s.d);
	json_decref(s.rss);
}

static void test_deploy_pause(void)
{
	struct sim s;

	sim_init(&s, 3, "RollingUpdate", 1, 1);
	sim_converge(&s, 50);
	json_object_set_new(json_object_get(s.d, "spec"), "paused", json_true());
	set_image(&s, "x:2");
	sim_converge(&s, 50);
	CHECK_EQ(json_array_size(s.rss), 1);
	CHECK(sim_rs_with_image(&s, "x:2") == NULL);
	/* Scaling still applies while paused. */
	json_object_set_new(json_object_get(s.d, "spec"), "replicas", json_integer(5));
	sim_converge(&s, 50);
	CHECK_EQ(cj_int(json_array_get(s.rss, 0), "spec.replicas", -1), 5);
	/* Resume: the rollout happens. */
	json_object_set_new(json_object_get(s.d, "spec"), "paused", json_false());
	sim_converge(&s, 100);
	CHECK(sim_rs_with_image(&s, "x:2") != NULL);
	CHECK_EQ(cj_int(sim_rs_with_image(&s, "x:2"), "spec.replicas", -1), 5);
	json_decref(s.d);
	json_decref(s.rss);
}

static void test_deploy_adopts_orphan_rs(void)
{
	struct sim s;
	json_t *acts, *pods, *a;
	size_t i;
	int adopt = 0;

	sim_init(&s, 2, "RollingUpdate", 1, 1);
	json_array_append_new(s.rss, J("{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{"
				       "\"name\":\"orphan\",\"uid\":\"u-o\",\"labels\":{\"app\":\"web\"}},"
				       "\"spec\":{\"replicas\":2}}"));
	pods = json_array();
	acts = dep_plan(s.d, s.rss, pods);
	json_array_foreach(acts, i, a)
		if (!strcmp(cj_str(a, "op"), "adopt") && !strcmp(cj_str(a, "name"), "orphan"))
			adopt++;
	CHECK_EQ(adopt, 1);
	json_decref(acts);
	json_decref(pods);
	json_decref(s.d);
	json_decref(s.rss);
}

/* ---- DaemonSet ------------------------------------------------------------------ */

static void test_daemonset(void)
{
	json_t *ds = J("{\"apiVersion\":\"apps/v1\",\"kind\":\"DaemonSet\",\"metadata\":{\"name\":\"agent\","
		       "\"namespace\":\"default\",\"uid\":\"u-ds\"},\"spec\":{\"selector\":{\"matchLabels\":{\"app\":\"agent\"}},"
		       "\"template\":{\"metadata\":{\"labels\":{\"app\":\"agent\"}},\"spec\":{"
		       "\"nodeSelector\":{\"role\":\"worker\"},\"containers\":[{\"name\":\"a\",\"image\":\"i\"}]}}}}");
	json_t *nodes = J("[{\"metadata\":{\"name\":\"n1\",\"labels\":{\"role\":\"worker\"}}},"
			  "{\"metadata\":{\"name\":\"n2\",\"labels\":{\"role\":\"worker\"}},"
			  " \"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/unreachable\",\"effect\":\"NoExecute\"}]}},"
			  "{\"metadata\":{\"name\":\"n3\",\"labels\":{\"role\":\"db\"}}},"
			  "{\"metadata\":{\"name\":\"n4\",\"labels\":{\"role\":\"worker\"}},"
			  " \"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"x\",\"effect\":\"NoSchedule\"}]}}]");
	json_t *pods = json_array(), *acts, *a;
	size_t i;
	int creates = 0;
	bool on[5] = { 0 };

	acts = ds_plan(ds, nodes, pods, 0);
	json_array_foreach(acts, i, a)
		if (!strcmp(cj_str(a, "op"), "create")) {
			creates++;
			on[cj_str(a, "node")[1] - '0'] = true;
			CHECK_STR(cj_str(a, "object.spec.nodeName"), cj_str(a, "node"));
			CHECK(ds_node_eligible(sel_lookup_path(a, "object.spec"),
					       json_array_get(nodes, 1), false));
		}
	/* n1 and n2 (unreachable is tolerated by every DaemonSet pod), not
	 * n3 (selector) nor n4 (untolerated NoSchedule taint). */
	CHECK_EQ(creates, 2);
	CHECK(on[1] && on[2] && !on[3] && !on[4]);
	json_decref(acts);

	/* A running pod on a node that gets a NoSchedule taint stays; a pod
	 * on a node that no longer matches the selector goes. */
	json_t *n4 = json_array_get(nodes, 3), *n3 = json_array_get(nodes, 2);
	json_t *p4 = J("{\"metadata\":{\"name\":\"p4\",\"labels\":{\"app\":\"agent\"},"
		       "\"ownerReferences\":[{\"kind\":\"DaemonSet\",\"name\":\"agent\",\"uid\":\"u-ds\",\"controller\":true}]},"
		       "\"spec\":{\"nodeName\":\"n4\"},\"status\":{\"phase\":\"Running\"}}");
	json_t *p3 = json_deep_copy(p4);

	/* OnDelete: no rolling replacement of these hash-less pods. */
	json_object_set_new(json_object_get(ds, "spec"), "updateStrategy",
			    json_pack("{s:s}", "type", "OnDelete"));
	json_object_set_new(json_object_get(p3, "metadata"), "name", json_string("p3"));
	json_object_set_new(json_object_get(p3, "spec"), "nodeName", json_string("n3"));
	json_array_append_new(pods, p4);
	json_array_append_new(pods, p3);
	CHECK(ds_node_eligible(sel_lookup_path(ds, "spec.template.spec"), n4, true));
	CHECK(!ds_node_eligible(sel_lookup_path(ds, "spec.template.spec"), n4, false));
	CHECK(!ds_node_eligible(sel_lookup_path(ds, "spec.template.spec"), n3, true));
	acts = ds_plan(ds, nodes, pods, 0);
	bool del3 = false, del4 = false;
	json_array_foreach(acts, i, a)
		if (!strcmp(cj_str(a, "op"), "delete")) {
			del3 |= !strcmp(cj_str(a, "name"), "p3");
			del4 |= !strcmp(cj_str(a, "name"), "p4");
		}
	CHECK(del3);
	CHECK(!del4);
	json_decref(acts);
	json_decref(pods);
	json_decref(nodes);
	json_decref(ds);
}

/* ---- node IPAM ---------------------------------------------------------------------- */

static void test_ipam(void)
{
	json_t *nodes = J("[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"podCIDR\":\"10.244.0.0/24\"}},"
			  "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"podCIDRs\":[\"10.244.2.0/24\"]}},"
			  "{\"metadata\":{\"name\":\"c\"},\"spec\":{}}]");
	char out[64];
	struct gerr e = { 0 };

	CHECK(ipam_next_cidr("10.244.0.0/16", 24, nodes, out, sizeof(out), &e) == 0);
	CHECK_STR(out, "10.244.1.0/24");
	json_array_append_new(nodes, J("{\"spec\":{\"podCIDR\":\"10.244.1.0/24\"}}"));
	CHECK(ipam_next_cidr("10.244.0.0/16", 24, nodes, out, sizeof(out), &e) == 0);
	CHECK_STR(out, "10.244.3.0/24");
	/* A CIDR outside the cluster range is ignored; a wider one blocks
	 * every subnet it covers. */
	json_array_append_new(nodes, J("{\"spec\":{\"podCIDR\":\"10.99.3.0/24\"}}"));
	json_array_append_new(nodes, J("{\"spec\":{\"podCIDR\":\"10.244.4.0/23\"}}"));
	CHECK(ipam_next_cidr("10.244.0.0/16", 24, nodes, out, sizeof(out), &e) == 0);
	CHECK_STR(out, "10.244.3.0/24");
	json_array_append_new(nodes, J("{\"spec\":{\"podCIDR\":\"10.244.3.0/24\"}}"));
	CHECK(ipam_next_cidr("10.244.0.0/16", 24, nodes, out, sizeof(out), &e) == 0);
	CHECK_STR(out, "10.244.6.0/24");
	/* Full. */
	CHECK(ipam_next_cidr("10.244.0.0/23", 24, nodes, out, sizeof(out), &e) == -ENOSPC);
	memset(&e, 0, sizeof(e));
	CHECK(ipam_next_cidr("bogus", 24, nodes, out, sizeof(out), &e) == -EINVAL);
	memset(&e, 0, sizeof(e));
	CHECK(ipam_next_cidr("10.244.0.0/16", 8, nodes, out, sizeof(out), &e) == -EINVAL);
	json_decref(nodes);
}

/* ---- node lifecycle ------------------------------------------------------------------ */

static void test_node_lifecycle(void)
{
	json_t *plain = J("{\"spec\":{}}");
	json_t *tol30 = J("{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\","
			  "\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":30}]}}");
	json_t *forever = J("{\"spec\":{\"tolerations\":[{\"key\":\"node.kubernetes.io/unreachable\","
			    "\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]}}");
	json_t *all = J("{\"spec\":{\"tolerations\":[{\"operator\":\"Exists\"}]}}");
	json_t *other = J("{\"spec\":{\"tolerations\":[{\"key\":\"x\",\"operator\":\"Exists\"}]}}");

	CHECK(!nl_lease_expired(1000, 41000, 40000));
	CHECK(nl_lease_expired(1000, 41001, 40000));
	CHECK_EQ(nl_evict_in_ms(plain, 10000, 10000, 15000), 15000);
	CHECK_EQ(nl_evict_in_ms(plain, 10000, 26000, 15000), -1000);
	CHECK_EQ(nl_evict_in_ms(tol30, 10000, 20000, 15000), 20000);
	CHECK(nl_evict_in_ms(forever, 10000, 99999999, 15000) == INT64_MAX);
	CHECK(nl_evict_in_ms(all, 10000, 99999999, 15000) == INT64_MAX);
	CHECK_EQ(nl_evict_in_ms(other, 10000, 10000, 15000), 15000);
	/* Defaults: detection + eviction (+ the 1 s re-check) leave at least
	 * 8 s of the 60 s budget for the replacement pods to start. */
	CHECK(CTRL_DEFAULT_NODE_GRACE_MS + CTRL_DEFAULT_EVICTION_MS + 1000 <= 60000 - 8000);
	json_decref(plain);
	json_decref(tol30);
	json_decref(forever);
	json_decref(all);
	json_decref(other);
}

/* ---- garbage collector ---------------------------------------------------------------- */

static void test_gc(void)
{
	bool none[2] = { false, false }, one[2] = { true, false }, both[2] = { true, true };

	CHECK(gc_decide(NULL, none, 2) == GC_DELETE);
	CHECK(gc_decide(NULL, one, 2) == GC_DROP_REFS);
	CHECK(gc_decide(NULL, both, 2) == GC_KEEP);
	CHECK(gc_decide(NULL, none, 0) == GC_KEEP);
}

/* ---- work queue and informer cache ------------------------------------------------------ */

static void test_workqueue(void)
{
	struct workqueue *q = wq_new();
	volatile int stop = 0;
	char *k1, *k2, *k3;

	wq_add(q, "a");
	wq_add(q, "b");
	wq_add(q, "a");  /* deduplicated */
	CHECK_EQ(wq_len(q), 2);
	k1 = wq_get(q, &stop);
	CHECK_STR(k1, "a");
	wq_add(q, "a");  /* while processing: deferred until done */
	k2 = wq_get(q, &stop);
	CHECK_STR(k2, "b");
	CHECK_EQ(wq_len(q), 0);
	wq_done(q, k1);
	CHECK_EQ(wq_len(q), 1);
	k3 = wq_get(q, &stop);
	CHECK_STR(k3, "a");
	wq_done(q, k2);
	wq_done(q, k3);
	free(k1);
	free(k2);
	free(k3);

	int64_t t0 = ctrl_now_ms();
	wq_add_after(q, "later", 150);
	k1 = wq_get(q, &stop);
	CHECK_STR(k1, "later");
	CHECK(ctrl_now_ms() - t0 >= 140);
	wq_done(q, k1);
	free(k1);
	wq_shutdown(q);
	CHECK(wq_get(q, &stop) == NULL);
	wq_free(q);
}

static int n_events;
static void count_ev(void *arg, const char *type, const json_t *old, const json_t *obj)
{
	n_events++;
	if (!strcmp(type, "MODIFIED"))
		CHECK(old != NULL);
}

static void test_informer_cache(void)
{
	struct informer *inf = informer_new(&ctrl_kinds[CK_POD]);
	json_t *p1 = J("{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\",\"resourceVersion\":\"5\"}}");
	json_t *p2 = J("{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\",\"resourceVersion\":\"7\"}}");
	json_t *p3 = J("{\"metadata\":{\"name\":\"b\",\"namespace\":\"y\",\"resourceVersion\":\"8\"}}");
	json_t *l, *g;

	informer_add_handler(inf, count_ev, NULL);
	informer_apply(inf, "ADDED", p1);
	informer_apply(inf, "MODIFIED", p2);
	informer_apply(inf, "ADDED", p3);
	CHECK_EQ(n_events, 3);
	g = informer_get(inf, "x", "a");
	CHECK_STR(cj_str(g, "metadata.resourceVersion"), "7");
	CHECK_STR(cj_str(g, "kind"), "Pod");  /* type meta filled in */
	json_decref(g);
	l = informer_list(inf, "x");
	CHECK_EQ(json_array_size(l), 1);
	json_decref(l);
	CHECK(informer_wait_rv(inf, 8, 10));
	CHECK(!informer_wait_rv(inf, 9, 10));
	informer_apply(inf, "DELETED", p3);
	l = informer_list(inf, NULL);
	CHECK_EQ(json_array_size(l), 1);
	json_decref(l);
	CHECK(ctrl_kind_find("apps/v1", "ReplicaSet") == CK_REPLICASET);
	CHECK(ctrl_kind_find("v1", "Pod") == CK_POD);
	CHECK(ctrl_kind_find("v1", "Widget") < 0);
	char path[256];
	ctrl_kind_path(&ctrl_kinds[CK_DEPLOYMENT], "ns", "web", "status", path, sizeof(path));
	CHECK_STR(path, "/apis/apps/v1/namespaces/ns/deployments/web/status");
	ctrl_kind_path(&ctrl_kinds[CK_NODE], "ignored", NULL, NULL, path, sizeof(path));
	CHECK_STR(path, "/api/v1/nodes");
	json_decref(p1);
	json_decref(p2);
	json_decref(p3);
	informer_free(inf);
}

static void test_informer_meta_only(void)
{
	struct informers f = { 0 };
	struct informer *inf = informers_get_meta(&f, CK_SECRET);
	json_t *sec = J("{\"metadata\":{\"name\":\"s\",\"namespace\":\"x\",\"resourceVersion\":\"3\"},"
			"\"data\":{\"k\":\"c2VjcmV0\"}}"), *g;

	informer_apply(inf, "ADDED", sec);
	g = informer_get(inf, "x", "s");
	CHECK(g && !json_object_get(g, "data"));
	CHECK_STR(cj_str(g, "metadata.name"), "s");
	CHECK_STR(cj_str(g, "kind"), "Secret");
	json_decref(g);
	/* A user of full objects wins. */
	CHECK(informers_get(&f, CK_SECRET) == inf);
	informer_apply(inf, "MODIFIED", sec);
	g = informer_get(inf, "x", "s");
	CHECK(g && json_object_get(g, "data"));
	json_decref(g);
	json_decref(sec);
	informers_join_free(&f);
}

/* ---- Endpoints ------------------------------------------------------------------ */

static json_t *ep_pod(const char *name, const char *ip, bool ready, int http_port,
		      const char *extra_meta)
{
	char buf[1200];

	snprintf(buf, sizeof(buf),
		 "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\","
		 "\"labels\":{\"app\":\"web\"}%s},"
		 "\"spec\":{\"nodeName\":\"n1\",\"hostname\":\"%s\",\"subdomain\":\"web\","
		 "\"containers\":[{\"name\":\"c\",\"ports\":[{\"name\":\"http\",\"containerPort\":%d}]}]},"
		 "\"status\":{\"phase\":\"Running\",\"podIP\":\"%s\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
		 name, name, extra_meta ? extra_meta : "", name, http_port, ip, ready ? "True" : "False");
	return J(buf);
}

static void test_endpoints(void)
{
	json_t *svc = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"labels\":{\"t\":\"x\"}},"
			"\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":["
			"{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\",\"protocol\":\"TCP\"},"
			"{\"name\":\"raw\",\"port\":81,\"targetPort\":9000,\"protocol\":\"TCP\"}]}}");
	json_t *pods = json_array(), *subs, *want, *want2, *other;
	char *dump;

	json_array_append_new(pods, ep_pod("b", "10.244.0.12", true, 8080, NULL));
	json_array_append_new(pods, ep_pod("a", "10.244.0.11", true, 8080, NULL));
	json_array_append_new(pods, ep_pod("c", "10.244.0.13", false, 8080, NULL));
	json_array_append_new(pods, ep_pod("d", "10.244.0.14", true, 8081, NULL));
	/* terminating: not ready whatever its condition says */
	json_array_append_new(pods, ep_pod("e", "10.244.0.15", true, 8080,
					   ",\"deletionTimestamp\":\"2026-01-01T00:00:00Z\""));
	/* no IP yet, other labels, other namespace, finished: not listed */
	other = ep_pod("f", "", true, 8080, NULL);
	json_array_append_new(pods, other);
	other = ep_pod("g", "10.244.0.17", true, 8080, NULL);
	json_object_set_new(json_object_get(json_object_get(other, "metadata"), "labels"), "app", json_string("db"));
	json_array_append_new(pods, other);
	other = ep_pod("h", "10.244.0.18", true, 8080, NULL);
	json_object_set_new(json_object_get(other, "metadata"), "namespace", json_string("kube-system"));
	json_array_append_new(pods, other);
	other = ep_pod("i", "10.244.0.19", true, 8080, NULL);
	json_object_set_new(json_object_get(other, "status"), "phase", json_string("Succeeded"));
	json_array_append_new(pods, other);

	CHECK(ep_selector_matches(J("{\"app\":\"web\"}"), J("{\"app\":\"web\",\"x\":\"y\"}")));
	CHECK(!ep_selector_matches(J("{}"), J("{\"app\":\"web\"}")));
	CHECK_EQ(ep_resolve_port(json_array_get(pods, 0), json_string("http"), "TCP"), 8080);
	CHECK_EQ(ep_resolve_port(json_array_get(pods, 0), json_string("http"), "UDP"), 0);
	CHECK_EQ(ep_resolve_port(json_array_get(pods, 0), json_integer(7000), "TCP"), 7000);

	subs = ep_compute_subsets(svc, pods);
	dump = json_dumps(subs, JSON_COMPACT);
	/* Two subsets (http is 8080 on a/b/c/e, 8081 on d), addresses by IP. */
	CHECK_EQ(json_array_size(subs), 2);
	want = J("[{\"addresses\":[{\"ip\":\"10.244.0.11\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"a\",\"uid\":\"u-a\"},\"nodeName\":\"n1\",\"hostname\":\"a\"},"
		 "{\"ip\":\"10.244.0.12\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"b\",\"uid\":\"u-b\"},\"nodeName\":\"n1\",\"hostname\":\"b\"}],"
		 "\"notReadyAddresses\":[{\"ip\":\"10.244.0.13\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"c\",\"uid\":\"u-c\"},\"nodeName\":\"n1\",\"hostname\":\"c\"},"
		 "{\"ip\":\"10.244.0.15\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"e\",\"uid\":\"u-e\"},\"nodeName\":\"n1\",\"hostname\":\"e\"}],"
		 "\"ports\":[{\"port\":8080,\"protocol\":\"TCP\",\"name\":\"http\"},{\"port\":9000,\"protocol\":\"TCP\",\"name\":\"raw\"}]},"
		 "{\"addresses\":[{\"ip\":\"10.244.0.14\",\"targetRef\":{\"kind\":\"Pod\",\"namespace\":\"default\",\"name\":\"d\",\"uid\":\"u-d\"},\"nodeName\":\"n1\",\"hostname\":\"d\"}],"
		 "\"ports\":[{\"port\":8081,\"protocol\":\"TCP\",\"name\":\"http\"},{\"port\":9000,\"protocol\":\"TCP\",\"name\":\"raw\"}]}]");
	CHECK(json_equal(subs, want));
	if (!json_equal(subs, want))
		fprintf(stderr, "subsets: %s\n", dump);
	free(dump);

	/* Stable: the same pods in another order give the same object, and
	 * an up-to-date Endpoints needs no write. */
	json_t *rev = json_array();
	for (size_t i = json_array_size(pods); i-- > 0;)
		json_array_append(rev, json_array_get(pods, i));
	want2 = ep_desired(svc, rev);
	CHECK(json_equal(json_object_get(want2, "subsets"), subs));
	CHECK_STR(cj_str(want2, "metadata.labels.t"), "x");
	CHECK(ep_up_to_date(want2, ep_desired(svc, pods)));
	CHECK(!ep_up_to_date(NULL, want2));
	/* A readiness flip changes it. */
	json_object_set_new(json_array_get(json_object_get(json_object_get(json_array_get(pods, 2), "status"), "conditions"), 0),
			    "status", json_string("True"));
	CHECK(!ep_up_to_date(want2, ep_desired(svc, pods)));
	/* publishNotReadyAddresses: everyone is an address. */
	json_object_set_new(json_object_get(svc, "spec"), "publishNotReadyAddresses", json_true());
	json_decref(subs);
	subs = ep_compute_subsets(svc, pods);
	CHECK_EQ(json_array_size(json_object_get(json_array_get(subs, 0), "addresses")), 4);
	CHECK(!json_object_get(json_array_get(subs, 0), "notReadyAddresses"));
	/* A pod without the named port serves only the numbered one. */
	json_object_del(json_object_get(svc, "spec"), "publishNotReadyAddresses");
	json_t *lone = json_array();
	json_t *np = ep_pod("z", "10.244.0.30", true, 8080, NULL);
	json_object_del(json_array_get(json_object_get(json_object_get(np, "spec"), "containers"), 0), "ports");
	json_array_append_new(lone, np);
	json_decref(subs);
	subs = ep_compute_subsets(svc, lone);
	CHECK_EQ(json_array_size(subs), 1);
	CHECK_EQ(json_array_size(json_object_get(json_array_get(subs, 0), "ports")), 1);
	CHECK_EQ(cj_int(json_array_get(json_object_get(json_array_get(subs, 0), "ports"), 0), "port", 0), 9000);
	/* Headless without ports: addresses with no ports; label set. */
	json_t *hl = J("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
		       "\"spec\":{\"clusterIP\":\"None\",\"selector\":{\"app\":\"web\"}}}");
	json_t *hd = ep_desired(hl, lone);
	CHECK_EQ(json_array_size(json_object_get(hd, "subsets")), 1);
	CHECK(!json_object_get(json_array_get(json_object_get(hd, "subsets"), 0), "ports"));
	CHECK(json_is_string(sel_lookup_path(hd, "metadata.labels")) ||
	      json_object_get(sel_lookup_path(hd, "metadata.labels"), "service.kubernetes.io/headless"));
	/* No pods: empty subsets, equal to an Endpoints without the field. */
	json_t *none = ep_desired(svc, NULL);
	CHECK_EQ(json_array_size(json_object_get(none, "subsets")), 0);
	json_t *cur = J("{\"metadata\":{\"name\":\"web\",\"labels\":{\"t\":\"x\"}}}");
	CHECK(ep_up_to_date(cur, none));
	json_decref(cur);
	json_decref(none);
	json_decref(hd);
	json_decref(hl);
	json_decref(lone);
	json_decref(rev);
	json_decref(want);
	json_decref(want2);
	json_decref(subs);
	json_decref(pods);
	json_decref(svc);
}

TEST_MAIN(T(test_int_or_percent), T(test_rs_scale_up), T(test_rs_scale_down_order),
	  T(test_rs_adopt_release), T(test_min_ready), T(test_template_hash),
	  T(test_deploy_create_and_scale), T(test_deploy_rolling_update),
	  T(test_deploy_scale_mid_rollout),
	  T(test_deploy_rollback_and_history), T(test_deploy_recreate), T(test_deploy_pause),
	  T(test_deploy_adopts_orphan_rs), T(test_daemonset), T(test_ipam),
	  T(test_node_lifecycle), T(test_gc), T(test_workqueue), T(test_informer_cache),
	  T(test_informer_meta_only), T(test_endpoints))
