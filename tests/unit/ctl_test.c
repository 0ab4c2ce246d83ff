/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gannetctl's pure parts: kubectl-style ages, aligned
 * tables, per-kind columns, the resource-kind mapping and apply's
 * three-way merge. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/apiresources.h"
#include "ctl/table.h"
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
	static const char *const pod_want[] = { "web-1", "1/2", "CrashLoopBackOff", "3", "5m", "10.244.1.5", "node-a" };
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

	check_row("Pod", pod, true, pod_want, 7);
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

TEST_MAIN(T(test_duration), T(test_rfc3339), T(test_table), T(test_printers),
	  T(test_labels), T(test_kind_mapping), T(test_merge3))
