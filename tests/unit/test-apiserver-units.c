/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the API server's pure modules: label/field selectors,
 * merge/JSON/strategic patches, name validation and the registry. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver.h"
#include "apiserver/patch.h"
#include "apiserver/protobuf.h"
#include "common/names.h"
#include "common/selectors.h"
#include "tests/unit/test.h"

static bool lmatch(const char *sel, const char *labels_json)
{
	struct selector s;
	json_t *l = json_loads(labels_json, 0, NULL);
	bool m;

	if (sel_parse_labels(sel, &s, NULL)) {
		json_decref(l);
		return false;
	}
	m = sel_match_labels(&s, l);
	sel_free(&s);
	json_decref(l);
	return m;
}

static void test_label_selectors(void)
{
	CHECK(lmatch("", "{}"));
	CHECK(lmatch("app=web", "{\"app\":\"web\"}"));
	CHECK(!lmatch("app=web", "{\"app\":\"db\"}"));
	CHECK(lmatch("app==web,tier!=db", "{\"app\":\"web\",\"tier\":\"fe\"}"));
	CHECK(lmatch("tier!=db", "{}"));
	CHECK(lmatch("env in (a, b),!gone", "{\"env\":\"b\"}"));
	CHECK(!lmatch("env in (a,b)", "{\"env\":\"c\"}"));
	CHECK(lmatch("env notin (a,b)", "{\"env\":\"c\"}"));
	CHECK(lmatch("app", "{\"app\":\"\"}"));
	CHECK(!lmatch("!app", "{\"app\":\"x\"}"));
	CHECK(lmatch("example.com/role=x", "{\"example.com/role\":\"x\"}"));
	struct selector s;
	struct gerr e = { 0 };
	CHECK_EQ(sel_parse_labels("a=b,,(", &s, &e), -EINVAL);
	CHECK_EQ(sel_parse_labels("a in b", &s, &e), -EINVAL);

	json_t *ls = json_loads("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"fe\",\"be\"]},{\"key\":\"x\",\"operator\":\"DoesNotExist\"}]}", 0, NULL);
	json_t *l1 = json_loads("{\"app\":\"web\",\"tier\":\"be\"}", 0, NULL);
	json_t *l2 = json_loads("{\"app\":\"web\",\"tier\":\"be\",\"x\":\"1\"}", 0, NULL);
	CHECK(sel_label_selector_matches(ls, l1));
	CHECK(!sel_label_selector_matches(ls, l2));
	CHECK(sel_label_selector_matches(NULL, l2));
	json_decref(ls);
	json_decref(l1);
	json_decref(l2);
}

static void test_field_selectors(void)
{
	struct selector s;
	json_t *o = json_loads("{\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\"},\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\"}}", 0, NULL);

	CHECK_EQ(sel_parse_fields("metadata.name=a,spec.nodeName!=n2", &s, NULL), 0);
	CHECK(sel_match_fields(&s, o));
	sel_free(&s);
	CHECK_EQ(sel_parse_fields("spec.nodeName=", &s, NULL), 0);
	CHECK(!sel_match_fields(&s, o));
	sel_free(&s);
	CHECK_EQ(sel_parse_fields("status.phase==Running", &s, NULL), 0);
	CHECK(sel_match_fields(&s, o));
	sel_free(&s);
	CHECK(sel_parse_fields("a in (b)", &s, NULL) != 0);
	json_decref(o);
}

static void test_merge_patch(void)
{
	/* RFC 7386 appendix A examples */
	json_t *t = json_loads("{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"}}", 0, NULL);
	json_t *p = json_loads("{\"a\":\"z\",\"c\":{\"f\":null}}", 0, NULL);
	json_t *want = json_loads("{\"a\":\"z\",\"c\":{\"d\":\"e\"}}", 0, NULL);
	json_t *r = patch_merge(t, p);

	CHECK(json_equal(r, want));
	json_decref(r);
	json_decref(t);
	json_decref(p);
	json_decref(want);
	t = json_loads("{\"a\":[1,2]}", 0, NULL);
	p = json_loads("{\"a\":[3]}", 0, NULL);
	r = patch_merge(t, p);
	CHECK_EQ(json_array_size(json_object_get(r, "a")), 1);
	json_decref(r);
	json_decref(t);
	json_decref(p);
}

static void test_json_patch(void)
{
	json_t *t = json_loads("{\"foo\":[\"bar\",\"baz\"],\"x\":{\"y\":1}}", 0, NULL);
	json_t *ops = json_loads("[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"},"
				 "{\"op\":\"remove\",\"path\":\"/x/y\"},"
				 "{\"op\":\"replace\",\"path\":\"/foo/0\",\"value\":\"B\"},"
				 "{\"op\":\"copy\",\"from\":\"/foo/0\",\"path\":\"/c\"},"
				 "{\"op\":\"move\",\"from\":\"/c\",\"path\":\"/x/m\"},"
				 "{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":\"end\"},"
				 "{\"op\":\"test\",\"path\":\"/x/m\",\"value\":\"B\"},"
				 "{\"op\":\"add\",\"path\":\"/a~1b\",\"value\":1}]", 0, NULL);
	json_t *want = json_loads("{\"foo\":[\"B\",\"qux\",\"baz\",\"end\"],\"x\":{\"m\":\"B\"},\"a/b\":1}", 0, NULL);
	json_t *out = NULL;
	struct gerr e = { 0 };

	CHECK_EQ(patch_json(t, ops, &out, &e), 0);
	CHECK(json_equal(out, want));
	json_decref(out);
	json_decref(ops);
	json_decref(want);
	ops = json_loads("[{\"op\":\"test\",\"path\":\"/x/y\",\"value\":2}]", 0, NULL);
	CHECK_EQ(patch_json(t, ops, &out, &e), -ECANCELED);
	json_decref(ops);
	ops = json_loads("[{\"op\":\"remove\",\"path\":\"/nope\"}]", 0, NULL);
	struct gerr e2 = { 0 };
	CHECK_EQ(patch_json(t, ops, &out, &e2), -EINVAL);
	json_decref(ops);
	json_decref(t);
}

static void test_strategic_patch(void)
{
	json_t *t = json_loads("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:1\",\"ports\":[{\"containerPort\":80}]},{\"name\":\"b\",\"image\":\"y\"}]}}", 0, NULL);
	json_t *p = json_loads("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x:2\"},{\"name\":\"b\",\"$patch\":\"delete\"},{\"name\":\"c\",\"image\":\"z\"}],\"$setElementOrder/containers\":[{\"name\":\"a\"}]}}", 0, NULL);
	json_t *r = patch_strategic(t, p);
	json_t *cs = json_object_get(json_object_get(r, "spec"), "containers");

	CHECK_EQ(json_array_size(cs), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(cs, 0), "image")), "x:2");
	CHECK(json_object_get(json_array_get(cs, 0), "ports") != NULL);
	CHECK_STR(json_string_value(json_object_get(json_array_get(cs, 1), "name")), "c");
	CHECK(json_object_get(json_object_get(r, "spec"), "$setElementOrder/containers") == NULL);
	json_decref(r);
	json_decref(p);
	json_decref(t);
}

static void test_names_and_registry(void)
{
	CHECK(name_k8s_subdomain("a.b-c"));
	CHECK(!name_k8s_subdomain("A"));
	CHECK(!name_k8s_subdomain("-a"));
	CHECK(!name_k8s_subdomain("a..b"));
	CHECK(name_dns1123_label("web-1"));
	CHECK(!name_dns1123_label("a.b"));
	{
		/* Kubernetes bounds a subdomain name by 253 only: a 100-character
		 * label is a valid object name (not a DNS name) */
		char l100[101], l254[255];

		memset(l100, 'a', 100);
		l100[100] = '\0';
		memset(l254, 'a', 254);
		l254[254] = '\0';
		CHECK(name_k8s_subdomain(l100));
		CHECK(!name_dns1123_subdomain(l100));
		CHECK(!name_k8s_subdomain(l254));
		CHECK(!name_k8s_subdomain("a-.b"));
		CHECK(name_k8s_subdomain_n("x.y/z", 3));
		CHECK(obj_valid_label_key("example.com/name"));
	}
	CHECK(obj_valid_label_key("app.kubernetes.io/name"));
	CHECK(!obj_valid_label_key("bad key"));
	CHECK(obj_valid_label_value(""));
	CHECK(!obj_valid_label_value("-x"));

	const struct api_kind *k = reg_find("apps", "v1", "deployments");
	char key[256];
	CHECK(k && k->has_scale && k->namespaced);
	reg_key(k, "ns", "web", key, sizeof(key));
	CHECK_STR(key, "/registry/apps/deployments/ns/web");
	CHECK(reg_from_key(key) == k);
	CHECK(reg_find_kind("v1", "Pod") == reg_find("", "v1", "pods"));
	CHECK(reg_find("", "v1", "nodes") && !reg_find("", "v1", "nodes")->namespaced);
	CHECK(reg_find("", "v1", "endpoints") != NULL);
	/* the "endpoints" prefix must not shadow a longer plural */
	reg_key(reg_find("", "v1", "services"), "d", "s", key, sizeof(key));
	CHECK(reg_from_key(key) == reg_find("", "v1", "services"));

	struct verr ve;
	json_t *pod = json_loads("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\"}],\"bogus\":1}}", 0, NULL);
	const struct api_kind *pk = reg_find("", "v1", "pods");
	verr_init(&ve);
	obj_validate_meta(pk, pod, &ve);
	pk->validate(pk, pod, NULL, &ve);
	reg_check_unknown(pk, pod, &ve);
	CHECK_EQ(json_array_size(ve.causes), 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(ve.causes, 0), "field")),
		  "spec.containers[0].image");
	CHECK_EQ(json_array_size(ve.unknown), 1);
	CHECK_STR(json_string_value(json_array_get(ve.unknown, 0)), "spec.bogus");
	verr_free(&ve);
	json_decref(pod);
}

static void test_protobuf(void)
{
	/* "k8s\0" + Unknown{typeMeta{apiVersion "v1", kind "ConfigMap"},
	 * raw ConfigMap{metadata{name "cm", labels{a: b}}, data{k: v}, immutable true}} */
	static const unsigned char cm[] = {
		'k', '8', 's', 0,
		0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12, 0x09, 'C', 'o', 'n', 'f', 'i', 'g', 'M', 'a', 'p',
		0x12, 0x1a,
		0x0a, 0x0c, 0x0a, 0x02, 'c', 'm', 0x5a, 0x06, 0x0a, 0x01, 'a', 0x12, 0x01, 'b',
		0x12, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v',
		0x20, 0x01,
		0x1a, 0x00,   /* empty contentEncoding */
	};
	json_t *o = NULL;
	struct gerr e = { 0 };

	CHECK_EQ(pb_k8s_decode(cm, sizeof(cm), &o, &e), 0);
	if (!o) {
		fprintf(stderr, "pb: %s\n", e.msg);
		return;
	}
	CHECK_STR(json_string_value(json_object_get(o, "kind")), "ConfigMap");
	CHECK_STR(json_string_value(sel_lookup_path(o, "metadata.name")), "cm");
	CHECK_STR(json_string_value(sel_lookup_path(o, "metadata.labels.a")), "b");
	CHECK_STR(json_string_value(sel_lookup_path(o, "data.k")), "v");
	CHECK(json_is_true(json_object_get(o, "immutable")));
	json_decref(o);

	/* unknown non-empty field -> -ENOTSUP, truncation -> -EINVAL */
	unsigned char bad[sizeof(cm)];
	memcpy(bad, cm, sizeof(cm));
	bad[sizeof(cm) - 4] = 0x38;   /* field 7 varint instead of 4 */
	struct gerr e2 = { 0 };
	CHECK_EQ(pb_k8s_decode(bad, sizeof(bad), &o, &e2), -ENOTSUP);
	struct gerr e3 = { 0 };
	CHECK_EQ(pb_k8s_decode(cm, sizeof(cm) - 8, &o, &e3), -EINVAL);
}

/* Service allocation decisions over an in-memory list of other Services
 * (svcalloc.c; the server runs the same code over the stored ones). */
static json_t *svcj(const char *s)
{
	json_t *o = json_loads(s, 0, NULL);

	if (!o)
		fprintf(stderr, "bad test JSON: %s\n", s);
	return o;
}

static int causes(const struct verr *ve, const char *field)
{
	size_t i;
	json_t *c;
	int n = 0;

	json_array_foreach(ve->causes, i, c)
		if (!strcmp(json_string_value(json_object_get(c, "field")) ?: "", field))
			n++;
	return n;
}

static void test_svcalloc(void)
{
	json_t *others = json_array(), *s, *old;
	struct verr ve;
	struct gerr e = { 0 };
	int seen10 = 0;

	CHECK_EQ(svcalloc_configure("10.96.0.0/28", "30000-30003", &e), 0);
	CHECK_STR(svcalloc_cidr(), "10.96.0.0/28");
	CHECK(svcalloc_configure("10.96.0.0/8", NULL, &e) < 0);
	CHECK(svcalloc_configure(NULL, "3-2", &e) < 0);
	/* A /28 has 16 addresses: .0, .15 (network/broadcast), .1 and .10
	 * (kubernetes, DNS) are never handed out: 12 dynamic ones. */
	for (int i = 0; i < 12; i++) {
		s = svcj("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80}]}}");
		verr_init(&ve);
		CHECK_EQ(svcalloc_assign_list(s, NULL, others, &ve), 0);
		CHECK(!verr_any(&ve));
		const char *ip = json_string_value(sel_lookup_path(s, "spec.clusterIP"));
		CHECK(ip && strncmp(ip, "10.96.0.", 8) == 0);
		if (ip) {
			int last = atoi(ip + 8);

			CHECK(last != 0 && last != 1 && last != 10 && last != 15);
			seen10 += last == 10;
		}
		json_array_append_new(others, s);
		verr_free(&ve);
	}
	CHECK_EQ(seen10, 0);
	s = svcj("{\"metadata\":{\"name\":\"full\"},\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80}]}}");
	verr_init(&ve);
	svcalloc_assign_list(s, NULL, others, &ve);
	CHECK_EQ(causes(&ve, "spec.clusterIPs"), 1);   /* range is full */
	verr_free(&ve);
	json_decref(s);
	/* .10 can still be asked for by value; a taken one cannot. */
	s = svcj("{\"metadata\":{\"name\":\"dns\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":53}]}}");
	verr_init(&ve);
	svcalloc_assign_list(s, NULL, others, &ve);
	CHECK(!verr_any(&ve));
	CHECK_STR(json_string_value(json_array_get(sel_lookup_path(s, "spec.clusterIPs"), 0)), "10.96.0.10");
	json_array_append_new(others, s);
	verr_free(&ve);
	s = svcj("{\"metadata\":{\"name\":\"dns2\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":53}]}}");
	verr_init(&ve);
	svcalloc_assign_list(s, NULL, others, &ve);
	CHECK_EQ(causes(&ve, "spec.clusterIPs"), 1);
	verr_free(&ve);
	json_decref(s);
	/* Update of the same Service keeps its IP (and a PUT without it too). */
	old = json_array_get(others, 0);
	s = svcj("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":81}]}}");
	verr_init(&ve);
	json_t *rest = json_array();
	for (size_t i = 1; i < json_array_size(others); i++)
		json_array_append(rest, json_array_get(others, i));
	svcalloc_assign_list(s, old, rest, &ve);
	CHECK(!verr_any(&ve));
	CHECK(json_equal(sel_lookup_path(s, "spec.clusterIP"), sel_lookup_path(old, "spec.clusterIP")));
	verr_free(&ve);
	json_decref(s);
	json_decref(rest);
	/* NodePorts: 4 in range 30000-30003, a fifth fails; out of range and
	 * taken ones are field errors; headless has no IP. */
	json_array_clear(others);
	for (int i = 0; i < 4; i++) {
		s = svcj("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"protocol\":\"TCP\"}]}}");
		verr_init(&ve);
		svcalloc_assign_list(s, NULL, others, &ve);
		CHECK(!verr_any(&ve));
		json_int_t np = json_integer_value(json_object_get(json_array_get(sel_lookup_path(s, "spec.ports"), 0), "nodePort"));
		CHECK(np >= 30000 && np <= 30003);
		json_array_append_new(others, s);
		verr_free(&ve);
	}
	s = svcj("{\"metadata\":{\"name\":\"n5\"},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.5\",\"ports\":[{\"port\":80}]}}");
	verr_init(&ve);
	svcalloc_assign_list(s, NULL, others, &ve);
	CHECK_EQ(causes(&ve, "spec.ports[0].nodePort"), 1);
	verr_free(&ve);
	json_decref(s);
	json_array_clear(others);
	s = svcj("{\"metadata\":{\"name\":\"n6\"},\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30007}]}}");
	verr_init(&ve);
	svcalloc_assign_list(s, NULL, others, &ve);
	CHECK_EQ(causes(&ve, "spec.ports[0].nodePort"), 1);
	char *msg = json_dumps(ve.causes, 0);
	CHECK(msg && strstr(msg, "30000-30003") != NULL);
	free(msg);
	verr_free(&ve);
	json_decref(s);
	s = svcj("{\"metadata\":{\"name\":\"h\"},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"None\"}}");
	verr_init(&ve);
	svcalloc_assign_list(s, NULL, others, &ve);
	CHECK(!verr_any(&ve));
	CHECK_STR(json_string_value(sel_lookup_path(s, "spec.clusterIP")), "None");
	verr_free(&ve);
	json_decref(s);
	json_decref(others);
	CHECK_EQ(svcalloc_configure("10.96.0.0/12", "30000-32767", &e), 0);
	CHECK(reg_valid_port_name("http"));
	CHECK(reg_valid_port_name("h2c-80"));
	CHECK(!reg_valid_port_name("8080"));
	CHECK(!reg_valid_port_name("Http"));
	CHECK(!reg_valid_port_name("a--b"));
	CHECK(!reg_valid_port_name("a-very-long-port-name"));
}

TEST_MAIN(T(test_label_selectors), T(test_field_selectors), T(test_merge_patch),
	  T(test_json_patch), T(test_strategic_patch), T(test_names_and_registry),
	  T(test_protobuf), T(test_svcalloc))
