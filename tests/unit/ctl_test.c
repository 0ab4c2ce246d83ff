/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gannetctl's pure parts: kubectl-style ages, aligned
 * tables, per-kind columns, the resource-kind mapping, apply's three-way
 * merge, and the workload logic (rollout status evaluation, revision
 * history, the rollback patch, set-image and restart patches, resource
 * quantities). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/apiresources.h"
#include "ctl/table.h"
#include "ctl/workload.h"
#include "tests/unit/test.h"

static void test_duration(void)
{
	static const struct { long long s; const char *want; } cases[] = {
		{ -5, "<invalid>" }, { -1, "0s" }, { 0, "0s" }, { 45, "45s" },
		{ 119, "119s" }, { 120, "2m" }, { 200, "3m20s" }, { 600, "10m" },
		{ 3 * 3600 - 1, "179m" }, { 3 * 3600, "3h" }, { 5 * 3600 + 30 * 60, "5h30m" },
		{ 30 * 3600, "30h" }, { 3 * 86400 + 4 * 3600, "3d4h" }, { 400 * 86400LL, "400d" },
		{ (365 * 2 + 10) * 86400LL, "2y10d" }, { 365 * 10 * 86400LL, "10y" },
	};
	char buf[32];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fmt_duration(cases[i].s, buf, sizeof(buf));
		CHECK_STR(buf, cases[i].want);
	}
}

static void test_rfc3339(void)
{
	CHECK_EQ(parse_rfc3339("1970-01-01T00:01:00Z"), 60);
	CHECK_EQ(parse_rfc3339("2026-11-22T21:58:00Z"), 1795384680);
	CHECK_EQ(parse_rfc3339("2026-11-22T21:58:00.123456Z"), 1795384680);
	CHECK_EQ(parse_rfc3339("2026-11-22T22:58:00+01:00"), 1795384680);
	CHECK_EQ(parse_rfc3339("yesterday"), -1);
	CHECK_EQ(parse_rfc3339(NULL), -1);
}

static char *capture_table(const struct table *t, bool header)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	table_print(t, f, header);
	fclose(f);
	return buf;
}

static void test_table(void)
{
	static const char *const hdr[] = { "NAME", "READY", "AGE" };
	static const char *const r1[] = { "web-1", "1/1", "5m" };
	static const char *const r2[] = { "a-much-longer-name", "0/1", NULL };
	struct table t;
	char *s;

	CHECK_EQ(table_init(&t, 3, hdr), 0);
	table_add_row(&t, r1);
	table_add_row(&t, r2);
	s = capture_table(&t, true);
	CHECK_STR(s, "NAME                 READY   AGE\n"
		     "web-1                1/1     5m\n"
		     "a-much-longer-name   0/1     \n");
	free(s);
	s = capture_table(&t, false);
	CHECK(!strstr(s, "NAME"));
	free(s);
	table_free(&t);
	CHECK(table_init(&t, 0, hdr) < 0);
}

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	if (!j)
		fprintf(stderr, "bad test json: %s\n", e.text);
	return j;
}

static void check_row(const char *kind, const char *obj, bool wide, const char *const *want,
		      size_t n)
{
	const char *hdr[ROW_MAX];
	json_t *o = J(obj);
	struct row r;

	CHECK_EQ(printer_header(kind, wide, hdr, ROW_MAX), n);
	CHECK_EQ(printer_row(kind, o, wide, 1795384680 + 300, &r), 0);
	CHECK_EQ(r.n, n);
	for (size_t i = 0; i < n && i < r.n; i++)
		CHECK_STR(r.cells[i], want[i]);
	row_free(&r);
	json_decref(o);
}

static void test_printers(void)
{
	static const char *pod =
		"{\"metadata\":{\"name\":\"web-1\",\"creationTimestamp\":\"2026-11-22T21:58:00Z\"},"
		"\"spec\":{\"nodeName\":\"node-a\",\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
		"\"status\":{\"phase\":\"Running\",\"podIP\":\"10.244.1.5\",\"containerStatuses\":["
		"{\"ready\":true,\"restartCount\":2},{\"ready\":false,\"restartCount\":1,"
		"\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}";
	static const char *const pod_want[] = { "web-1", "1/2", "CrashLoopBackOff", "3", "5m", "10.244.1.5", "node-a", "<none>", "<none>" };
	static const char *gated =
		"{\"metadata\":{\"name\":\"g\"},\"spec\":{\"readinessGates\":[{\"conditionType\":\"x/a\"},"
		"{\"conditionType\":\"x/b\"}],\"containers\":[{\"name\":\"a\"}]},"
		"\"status\":{\"phase\":\"Pending\",\"nominatedNodeName\":\"node-b\",\"conditions\":["
		"{\"type\":\"x/a\",\"status\":\"True\"},{\"type\":\"x/b\",\"status\":\"False\"}]}}";
	static const char *const gated_want[] = { "g", "0/1", "Pending", "0", "<unknown>", "<none>", "<none>", "node-b", "1/2" };
	static const char *deploy =
		"{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-11-22T21:58:00Z\"},"
		"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
		"\"template\":{\"spec\":{\"containers\":[{\"name\":\"httpd\",\"image\":\"busybox\"}]}}},"
		"\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,\"availableReplicas\":2}}";
	static const char *const deploy_want[] = { "web", "2/3", "3", "2", "5m", "httpd", "busybox", "app=web" };
	static const char *svc =
		"{\"metadata\":{\"name\":\"web\"},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.20\","
		"\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"},{\"port\":53,\"protocol\":\"UDP\"}]}}";
	static const char *const svc_want[] = { "web", "NodePort", "10.96.0.20", "<none>", "80:30080/TCP,53/UDP", "<unknown>" };
	static const char *node =
		"{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"2026-11-22T21:58:00Z\","
		"\"labels\":{\"node-role.kubernetes.io/control-plane\":\"\"}},\"spec\":{\"unschedulable\":true},"
		"\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}],"
		"\"nodeInfo\":{\"kubeletVersion\":\"v0.1.0-gannet\"}}}";
	static const char *const node_want[] = { "n1", "Ready,SchedulingDisabled", "control-plane", "5m", "v0.1.0-gannet" };
	static const char *cm = "{\"metadata\":{\"name\":\"c\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}";
	static const char *const cm_want[] = { "c", "2", "<unknown>" };
	static const char *other = "{\"metadata\":{\"name\":\"x\",\"creationTimestamp\":\"2026-11-22T21:58:00Z\"}}";
	static const char *const other_want[] = { "x", "5m" };

	check_row("Pod", pod, true, pod_want, 9);
	check_row("Pod", gated, true, gated_want, 9);
	check_row("Pod", pod, false, pod_want, 5);
	check_row("Deployment", deploy, true, deploy_want, 8);
	check_row("Deployment", deploy, false, deploy_want, 5);
	check_row("Service", svc, false, svc_want, 6);
	check_row("Node", node, false, node_want, 5);
	check_row("ConfigMap", cm, false, cm_want, 3);
	check_row("Role", other, false, other_want, 2);
}

static void test_labels(void)
{
	json_t *m = J("{\"app\":\"web\",\"tier\":\"fe\"}");
	char buf[64];

	fmt_labels(m, buf, sizeof(buf));
	CHECK_STR(buf, "app=web,tier=fe");
	fmt_labels(NULL, buf, sizeof(buf));
	CHECK_STR(buf, "<none>");
	json_decref(m);
}

static void test_kind_mapping(void)
{
	struct api_resources rs = { 0 };
	const struct api_resource *r;
	char buf[256];

	CHECK_EQ(apires_builtin(&rs), 0);
	static const struct { const char *name, *kind; } names[] = {
		{ "po", "Pod" }, { "pods", "Pod" }, { "pod", "Pod" }, { "Pod", "Pod" },
		{ "svc", "Service" }, { "deploy", "Deployment" }, { "deployments.apps", "Deployment" },
		{ "rs", "ReplicaSet" }, { "ds", "DaemonSet" }, { "ns", "Namespace" }, { "no", "Node" },
		{ "cm", "ConfigMap" }, { "ep", "Endpoints" }, { "sa", "ServiceAccount" },
		{ "netpol", "NetworkPolicy" }, { "ing", "Ingress" }, { "secrets", "Secret" },
		{ "clusterrolebindings", "ClusterRoleBinding" }, { "lease", "Lease" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		r = apires_find(&rs, names[i].name);
		CHECK(r);
		if (r)
			CHECK_STR(r->kind, names[i].kind);
	}
	CHECK(apires_find(&rs, "frobs") == NULL);
	CHECK(apires_find(&rs, "deployments.extensions") == NULL);

	r = apires_find_gvk(&rs, "apps/v1", "Deployment");
	CHECK(r && r->namespaced);
	CHECK(apires_find_gvk(&rs, "apps/v1beta1", "Deployment") == NULL);
	CHECK(apires_find_gvk(&rs, "v1", "Deployment") == NULL);
	r = apires_find_gvk(&rs, "v1", "Namespace");
	CHECK(r && !r->namespaced);

	r = apires_find(&rs, "deploy");
	CHECK_EQ(apires_path(r, "demo", "web", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/apis/apps/v1/namespaces/demo/deployments/web");
	CHECK_EQ(apires_path(r, NULL, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/apis/apps/v1/deployments");
	apires_display(r, buf, sizeof(buf));
	CHECK_STR(buf, "deployment.apps");
	apires_api_version(r, buf, sizeof(buf));
	CHECK_STR(buf, "apps/v1");
	r = apires_find(&rs, "no");
	CHECK_EQ(apires_path(r, "ignored", "n1", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/api/v1/nodes/n1");
	apires_display(r, buf, sizeof(buf));
	CHECK_STR(buf, "node");
	CHECK(apires_path(r, NULL, "n1", buf, 8) < 0);

	/* A discovered resource replaces the built-in one, new ones append. */
	struct api_resource extra = { .kind = "Widget", .group = "example.com", .version = "v2",
				      .plural = "widgets", .singular = "widget", .namespaced = true };
	size_t before = rs.n;

	CHECK_EQ(apires_add(&rs, &extra), 0);
	CHECK_EQ(rs.n, before + 1);
	CHECK_EQ(apires_add(&rs, &extra), 0);
	CHECK_EQ(rs.n, before + 1);
	r = apires_find(&rs, "widget.example.com");
	CHECK(r && !strcmp(r->version, "v2"));
	apires_free(&rs);
}

static void test_merge3(void)
{
	/* The server added defaults inside the container and status. */
	json_t *live = J("{\"metadata\":{\"name\":\"w\",\"resourceVersion\":\"7\",\"labels\":{\"a\":\"1\"}},"
			 "\"spec\":{\"replicas\":2,\"template\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\","
			 "\"imagePullPolicy\":\"IfNotPresent\"}]}},\"status\":{\"replicas\":2}}");
	json_t *old = J("{\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"1\"}},"
			"\"spec\":{\"replicas\":2,\"template\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}}");
	json_t *cur = json_deep_copy(old), *m;

	/* Same manifest again: nothing changes, defaults survive. */
	m = ctl_merge3(live, old, cur);
	CHECK(json_equal(m, live));
	json_decref(m);

	/* Replica change: set; labels removed from the manifest: deleted;
	 * resourceVersion and status kept from live. */
	json_object_set_new(json_object_get(cur, "spec"), "replicas", json_integer(3));
	json_object_del(json_object_get(cur, "metadata"), "labels");
	m = ctl_merge3(live, old, cur);
	CHECK(!json_equal(m, live));
	CHECK_EQ(json_integer_value(ctl_jpath(m, "spec.replicas")), 3);
	CHECK(ctl_jpath(m, "metadata.labels") == NULL);
	CHECK_STR(ctl_jpath_str(m, "metadata.resourceVersion"), "7");
	CHECK_EQ(json_integer_value(ctl_jpath(m, "status.replicas")), 2);
	json_decref(m);

	/* Image changed: the list is replaced by the manifest's. */
	json_decref(cur);
	cur = J("{\"metadata\":{\"name\":\"w\",\"labels\":{\"a\":\"1\"}},"
		"\"spec\":{\"replicas\":2,\"template\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}");
	m = ctl_merge3(live, old, cur);
	CHECK_STR(json_string_value(json_object_get(json_array_get(ctl_jpath(m, "spec.template.containers"), 0), "image")), "nginx");
	CHECK(json_object_get(json_array_get(ctl_jpath(m, "spec.template.containers"), 0), "imagePullPolicy") == NULL);
	json_decref(m);

	/* Someone else changed a field the manifest owns: reverted. */
	json_object_set_new(json_object_get(live, "spec"), "replicas", json_integer(9));
	m = ctl_merge3(live, old, old);
	CHECK_EQ(json_integer_value(ctl_jpath(m, "spec.replicas")), 2);
	json_decref(m);

	/* No previous annotation (object created by someone else). */
	m = ctl_merge3(live, NULL, old);
	CHECK_EQ(json_integer_value(ctl_jpath(m, "spec.replicas")), 2);
	json_decref(m);

	CHECK(ctl_json_subset(old, live) == false);     /* replicas 2 vs 9 */
	json_object_set_new(json_object_get(live, "spec"), "replicas", json_integer(2));
	CHECK(ctl_json_subset(old, live));
	json_decref(live);
	json_decref(old);
	json_decref(cur);
}

static void test_secret_fold(void)
{
	json_t *s = J("{\"kind\":\"Secret\",\"data\":{\"a\":\"eA==\"},\"stringData\":{\"user\":\"admin\",\"a\":\"xy\"}}");
	json_t *cm = J("{\"kind\":\"ConfigMap\",\"stringData\":{\"k\":\"v\"}}");
	json_t *want = J("{\"kind\":\"Secret\",\"data\":{\"a\":\"eHk=\",\"user\":\"YWRtaW4=\"}}");

	ctl_secret_fold_string_data(s);
	CHECK(json_equal(s, want));
	ctl_secret_fold_string_data(cm);
	CHECK(json_object_get(cm, "stringData") != NULL);
	json_decref(s);
	json_decref(cm);
	json_decref(want);
}

/* ---- workload logic (ctl/workload.c) ---------------------------------- */

static int status_of(const char *kind, const char *obj, char *msg, size_t len)
{
	json_t *o = J(obj);
	int r = wl_rollout_status(kind, o, msg, len);

	json_decref(o);
	return r;
}

static void test_rollout_status(void)
{
	char m[512];

	/* Spec change not yet seen by the controller. */
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":3},"
			   "\"spec\":{\"replicas\":2},\"status\":{\"observedGeneration\":2,\"replicas\":2,"
			   "\"updatedReplicas\":2,\"availableReplicas\":2}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for deployment spec update to be observed...\n");
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":3},"
			   "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":3,\"replicas\":4,"
			   "\"updatedReplicas\":1,\"availableReplicas\":3}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...\n");
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":3},"
			   "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":3,\"replicas\":4,"
			   "\"updatedReplicas\":3,\"availableReplicas\":3}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination...\n");
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":3},"
			   "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":3,\"replicas\":3,"
			   "\"updatedReplicas\":3,\"availableReplicas\":1}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available...\n");
	/* Done: observedGeneration may run ahead. */
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":3},"
			   "\"spec\":{\"replicas\":3},\"status\":{\"observedGeneration\":4,\"replicas\":3,"
			   "\"updatedReplicas\":3,\"availableReplicas\":3}}", m, sizeof(m)), 1);
	CHECK_STR(m, "deployment \"web\" successfully rolled out\n");
	/* No spec.replicas means 1; no status at all is not done. */
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":1},"
			   "\"status\":{\"observedGeneration\":1}}", m, sizeof(m)), 0);
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":1},"
			   "\"spec\":{\"replicas\":0},\"status\":{\"observedGeneration\":1}}", m, sizeof(m)), 1);
	CHECK_EQ(status_of("Deployment", "{\"metadata\":{\"name\":\"web\",\"generation\":1},"
			   "\"spec\":{\"replicas\":1},\"status\":{\"observedGeneration\":1,\"conditions\":["
			   "{\"type\":\"Progressing\",\"status\":\"False\",\"reason\":\"ProgressDeadlineExceeded\"}]}}",
			   m, sizeof(m)), -EINVAL);
	CHECK_STR(m, "deployment \"web\" exceeded its progress deadline");

	CHECK_EQ(status_of("DaemonSet", "{\"metadata\":{\"name\":\"agent\",\"generation\":2},"
			   "\"status\":{\"observedGeneration\":2,\"desiredNumberScheduled\":3,"
			   "\"updatedNumberScheduled\":2,\"numberAvailable\":3}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for daemon set \"agent\" rollout to finish: 2 out of 3 new pods have been updated...\n");
	CHECK_EQ(status_of("DaemonSet", "{\"metadata\":{\"name\":\"agent\",\"generation\":2},"
			   "\"status\":{\"observedGeneration\":2,\"desiredNumberScheduled\":3,"
			   "\"updatedNumberScheduled\":3,\"numberAvailable\":2}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for daemon set \"agent\" rollout to finish: 2 of 3 updated pods are available...\n");
	CHECK_EQ(status_of("DaemonSet", "{\"metadata\":{\"name\":\"agent\",\"generation\":2},"
			   "\"spec\":{\"updateStrategy\":{\"type\":\"RollingUpdate\"}},"
			   "\"status\":{\"observedGeneration\":2,\"desiredNumberScheduled\":3,"
			   "\"updatedNumberScheduled\":3,\"numberAvailable\":3}}", m, sizeof(m)), 1);
	CHECK_STR(m, "daemon set \"agent\" successfully rolled out\n");
	CHECK_EQ(status_of("DaemonSet", "{\"metadata\":{\"name\":\"agent\",\"generation\":3},"
			   "\"status\":{\"observedGeneration\":2}}", m, sizeof(m)), 0);
	CHECK_STR(m, "Waiting for daemon set spec update to be observed...\n");
	CHECK_EQ(status_of("DaemonSet", "{\"metadata\":{\"name\":\"a\"},\"spec\":{\"updateStrategy\":"
			   "{\"type\":\"OnDelete\"}}}", m, sizeof(m)), -EINVAL);
	CHECK_EQ(status_of("ReplicaSet", "{}", m, sizeof(m)), -EINVAL);
}

/* A Deployment (uid d1) at revision 3's template, and its ReplicaSets:
 * revisions 1, 3, 2 (out of order), one of another owner, one without a
 * revision, one with a non-controller reference and one with garbage. */
#define TMPL(img, hash) "{\"metadata\":{\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"" hash "\"}}," \
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"" img "\"}]}}"
#define OWNED(uid, ctrl) "\"ownerReferences\":[{\"kind\":\"Deployment\",\"name\":\"web\",\"uid\":\"" uid \
	"\",\"controller\":" ctrl "}]"
static const char *deploy_json =
	"{\"metadata\":{\"name\":\"web\",\"uid\":\"d1\",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"3\",\"team\":\"blue\","
	"\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\"}},"
	"\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"v3\"}]}}}}";
static const char *rs_json =
	"[{\"metadata\":{\"name\":\"web-1\"," OWNED("d1", "true") ",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"1\"}},\"spec\":{\"template\":" TMPL("v1", "h1") "}},"
	"{\"metadata\":{\"name\":\"web-3\"," OWNED("d1", "true") ",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"3\",\"kubernetes.io/change-cause\":\"set image v3\"}},"
	"\"spec\":{\"template\":" TMPL("v3", "h3") "}},"
	"{\"metadata\":{\"name\":\"web-2\"," OWNED("d1", "true") ",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"2\",\"kubernetes.io/change-cause\":\"bump to v2\","
	"\"deployment.kubernetes.io/desired-replicas\":\"2\",\"note\":\"from-rs\"}},"
	"\"spec\":{\"template\":" TMPL("v2", "h2") "}},"
	"{\"metadata\":{\"name\":\"other-9\"," OWNED("zz", "true") ",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"9\"}},\"spec\":{\"template\":" TMPL("x", "hx") "}},"
	"{\"metadata\":{\"name\":\"web-norev\"," OWNED("d1", "true") "},\"spec\":{}},"
	"{\"metadata\":{\"name\":\"web-weak\"," OWNED("d1", "false") ",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"7\"}}},"
	"{\"metadata\":{\"name\":\"web-bad\"," OWNED("d1", "true") ",\"annotations\":{"
	"\"deployment.kubernetes.io/revision\":\"7x\"}}}]";

static void test_history(void)
{
	json_t *d = J(deploy_json), *rs = J(rs_json);
	struct wl_rev *revs = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int n;

	n = wl_revisions(d, rs, &revs);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK_EQ(revs[0].revision, 1);
		CHECK_EQ(revs[1].revision, 2);
		CHECK_EQ(revs[2].revision, 3);
		CHECK_STR(ctl_jpath_str(revs[1].rs, "metadata.name"), "web-2");
	}
	f = open_memstream(&buf, &len);
	wl_history_print(f, revs, n);
	fclose(f);
	CHECK_STR(buf, "REVISION  CHANGE-CAUSE\n"
		       "1         <none>\n"
		       "2         bump to v2\n"
		       "3         set image v3\n");
	free(buf);
	f = open_memstream(&buf, &len);
	wl_template_print(f, ctl_jpath(revs[1].rs, "spec.template"));
	fclose(f);
	CHECK(strstr(buf, "Pod Template:\n") == buf);
	CHECK(strstr(buf, "\tpod-template-hash=h2\n"));
	CHECK(strstr(buf, "   c:\n    Image:\tv2\n"));
	free(buf);
	free(revs);
	/* No uid (not a stored object) or no ReplicaSets: empty history. */
	CHECK_EQ(wl_revisions(rs, rs, &revs), 0);
	CHECK(revs == NULL);
	json_decref(d);
	json_decref(rs);
}

static void test_undo(void)
{
	json_t *d = J(deploy_json), *rs = J(rs_json), *patch = NULL, *want;
	struct wl_rev *revs = NULL;
	long long chosen = 0;
	char msg[512];
	int n = wl_revisions(d, rs, &revs);

	/* Default: the previous revision (2), template without the hash. */
	CHECK_EQ(wl_undo_patch(d, revs, n, 0, &patch, &chosen, msg, sizeof(msg)), 0);
	CHECK_EQ(chosen, 2);
	want = J("[{\"op\":\"replace\",\"path\":\"/spec/template\",\"value\":"
		 "{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":"
		 "[{\"name\":\"c\",\"image\":\"v2\"}]}}},"
		 "{\"op\":\"replace\",\"path\":\"/metadata/annotations\",\"value\":{"
		 "\"deployment.kubernetes.io/revision\":\"3\","
		 "\"kubectl.kubernetes.io/last-applied-configuration\":\"{}\","
		 "\"kubernetes.io/change-cause\":\"bump to v2\",\"note\":\"from-rs\"}}]");
	CHECK(json_equal(patch, want));
	if (!json_equal(patch, want)) {
		char *s = json_dumps(patch, JSON_SORT_KEYS);

		fprintf(stderr, "undo patch: %s\n", s);
		free(s);
	}
	json_decref(want);
	json_decref(patch);

	/* Explicit revision. */
	CHECK_EQ(wl_undo_patch(d, revs, n, 1, &patch, &chosen, msg, sizeof(msg)), 0);
	CHECK_EQ(chosen, 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(ctl_jpath(
		json_object_get(json_array_get(patch, 0), "value"), "spec.containers"), 0), "image")), "v1");
	json_decref(patch);

	/* The current template (revision 3, hash label ignored): skipped. */
	CHECK_EQ(wl_undo_patch(d, revs, n, 3, &patch, &chosen, msg, sizeof(msg)), 1);
	CHECK(patch == NULL);
	CHECK_STR(msg, "skipped rollback (current template already matches revision 3)");

	CHECK_EQ(wl_undo_patch(d, revs, n, 8, &patch, &chosen, msg, sizeof(msg)), -ENOENT);
	CHECK_STR(msg, "unable to find specified revision 8 in history");
	CHECK_EQ(wl_undo_patch(d, revs, 1, 0, &patch, &chosen, msg, sizeof(msg)), -ENOENT);
	CHECK_STR(msg, "no rollout history found for deployment \"web\"");

	json_object_set_new(json_object_get(d, "spec"), "paused", json_true());
	CHECK_EQ(wl_undo_patch(d, revs, n, 1, &patch, &chosen, msg, sizeof(msg)), -EPERM);
	CHECK(strstr(msg, "paused"));

	/* Hash-insensitive comparison both ways, other labels count. */
	CHECK(wl_template_equal_ignore_hash(ctl_jpath(revs[2].rs, "spec.template"),
					    ctl_jpath(d, "spec.template")));
	CHECK(!wl_template_equal_ignore_hash(ctl_jpath(revs[1].rs, "spec.template"),
					     ctl_jpath(d, "spec.template")));
	free(revs);
	json_decref(d);
	json_decref(rs);
}

static void test_set_image(void)
{
	json_t *d = J("{\"spec\":{\"template\":{\"spec\":{"
		      "\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox:1\"}],"
		      "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\",\"ports\":[{\"containerPort\":80}]},"
		      "{\"name\":\"side\",\"image\":\"busybox:1\"}]}}}}");
	json_t *pod = J("{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1\"}]}}");
	char *one[] = { "web=nginx:2" }, *star[] = { "*=busybox:2" }, *same[] = { "side=busybox:1" };
	char *twice[] = { "web=a", "web=b" }, *missing[] = { "nope=x" }, *bad1[] = { "=x" };
	char *bad2[] = { "web=" }, *bad3[] = { "web" };
	json_t *p, *want;
	bool changed;
	char msg[256];

	p = wl_set_image_patch(d, "Deployment", one, 1, &changed, msg, sizeof(msg));
	want = J("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\"}]}}}}");
	CHECK(changed && json_equal(p, want));
	json_decref(p);
	json_decref(want);

	p = wl_set_image_patch(d, "Deployment", star, 1, &changed, msg, sizeof(msg));
	want = J("{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"busybox:2\"},"
		 "{\"name\":\"side\",\"image\":\"busybox:2\"}],"
		 "\"initContainers\":[{\"name\":\"init\",\"image\":\"busybox:2\"}]}}}}");
	CHECK(changed && json_equal(p, want));
	json_decref(p);
	json_decref(want);

	p = wl_set_image_patch(d, "Deployment", twice, 2, &changed, msg, sizeof(msg));
	CHECK(changed && json_array_size(ctl_jpath(p, "spec.template.spec.containers")) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(ctl_jpath(p, "spec.template.spec.containers"), 0), "image")), "b");
	json_decref(p);

	p = wl_set_image_patch(d, "Deployment", same, 1, &changed, msg, sizeof(msg));
	CHECK(p && !changed);
	json_decref(p);

	CHECK(!wl_set_image_patch(d, "Deployment", missing, 1, &changed, msg, sizeof(msg)));
	CHECK_STR(msg, "unable to find container named \"nope\"");
	CHECK(!wl_set_image_patch(d, "Deployment", bad1, 1, &changed, msg, sizeof(msg)));
	CHECK(!wl_set_image_patch(d, "Deployment", bad2, 1, &changed, msg, sizeof(msg)));
	CHECK(!wl_set_image_patch(d, "Deployment", bad3, 1, &changed, msg, sizeof(msg)));
	/* A Pod has its containers at spec. */
	CHECK(!wl_set_image_patch(pod, "Deployment", one, 1, &changed, msg, sizeof(msg)));
	p = wl_set_image_patch(pod, "Pod", one, 1, &changed, msg, sizeof(msg));
	want = J("{\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:2\"}]}}");
	CHECK(changed && json_equal(p, want));
	json_decref(p);
	json_decref(want);
	json_decref(d);
	json_decref(pod);
}

static void test_restart_patch(void)
{
	json_t *p = wl_restart_patch("2026-11-22T22:00:00Z");

	CHECK_STR(json_string_value(json_object_get(ctl_jpath(p, "spec.template.metadata.annotations"),
						    "kubectl.kubernetes.io/restartedAt")),
		  "2026-11-22T22:00:00Z");
	json_decref(p);
}

static void test_quantity(void)
{
	static const struct { const char *s; bool cpu; long long want; } ok[] = {
		{ "250m", true, 250 }, { "1", true, 1000 }, { "0.5", true, 500 }, { "2", true, 2000 },
		{ "100u", true, 1 }, { "1500000n", true, 2 }, { "1k", true, 1000000 },
		{ "1Gi", false, 1073741824LL }, { "128M", false, 128000000 }, { "1e3", false, 1000 },
		{ "1.5Ki", false, 1536 }, { "64Mi", false, 67108864 }, { "0", false, 0 },
		{ "500m", false, 1 },
	};
	static const char *const bad[] = { "", "abc", "-1", "1x", "0x10", "inf", "nan", "1 Gi", "Mi" };
	struct wl_res r;
	long long v;
	char buf[32];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = -1;
		CHECK_EQ(wl_quantity(ok[i].s, ok[i].cpu, &v), 0);
		CHECK_EQ(v, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(wl_quantity(bad[i], false, &v), -EINVAL);
	CHECK_EQ(wl_quantity(NULL, false, &v), -EINVAL);

	json_t *pod = J("{\"spec\":{\"containers\":["
			"{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"64Mi\"},"
			"\"limits\":{\"cpu\":\"1\",\"memory\":\"128Mi\"}}},"
			"{\"resources\":{\"requests\":{\"cpu\":\"200m\",\"memory\":\"64Mi\"}}}],"
			"\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"100Mi\"}}}]}}");
	wl_pod_resources(pod, &r);
	CHECK_EQ(r.cpu_req_m, 500);          /* the init container dominates */
	CHECK_EQ(r.mem_req, 128LL << 20);    /* the sum of the containers does */
	CHECK_EQ(r.cpu_lim_m, 1000);
	CHECK_EQ(r.mem_lim, 128LL << 20);
	json_decref(pod);
	wl_fmt_cpu(250, buf, sizeof(buf));
	CHECK_STR(buf, "250m");
	wl_fmt_mem(1LL << 30, buf, sizeof(buf));
	CHECK_STR(buf, "1024Mi");
	wl_fmt_mem(1, buf, sizeof(buf));
	CHECK_STR(buf, "1Mi");
}


TEST_MAIN(T(test_duration), T(test_rfc3339), T(test_table), T(test_printers),
	  T(test_labels), T(test_kind_mapping), T(test_merge3), T(test_secret_fold), T(test_rollout_status),
	  T(test_history), T(test_undo), T(test_set_image), T(test_restart_patch),
	  T(test_quantity))
