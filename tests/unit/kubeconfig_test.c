/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for common/kubeconfig: context selection, embedded and file
 * credentials, relative paths, merging of several files, error messages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/kubeconfig.h"
#include "common/yamljson.h"
#include "tests/unit/test.h"

static char tmpdir[] = "/tmp/kctest.XXXXXX";

static void write_file(const char *name, const char *content)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	fputs(content, f);
	fclose(f);
}

/* "-----BEGIN CERTIFICATE-----\nAAA\n" base64-encoded */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQQo="
#define CA_PEM "-----BEGIN CERTIFICATE-----\nAAA\n"

static const char *kc_yaml =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: admin@gannet\n"
	"clusters:\n"
	"- name: gannet\n"
	"  cluster:\n"
	"    server: https://127.0.0.1:6443/\n"
	"    certificate-authority-data: " CA_B64 "\n"
	"- name: other\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443\n"
	"    certificate-authority: ca.crt\n"
	"    insecure-skip-tls-verify: true\n"
	"users:\n"
	"- name: admin\n"
	"  user:\n"
	"    client-certificate-data: aGVsbG8=\n"
	"    client-key-data: a2V5\n"
	"- name: bot\n"
	"  user:\n"
	"    tokenFile: token.txt\n"
	"contexts:\n"
	"- name: admin@gannet\n"
	"  context: {cluster: gannet, user: admin}\n"
	"- name: bot@other\n"
	"  context: {cluster: other, user: bot, namespace: team-a}\n"
	"- name: broken\n"
	"  context: {cluster: nowhere, user: admin}\n";

static json_t *parse(const char *y)
{
	json_t *doc = NULL;
	struct gerr err = { 0 };

	if (yj_parse_one(y, strlen(y), NULL, &doc, &err))
		fprintf(stderr, "parse: %s\n", err.msg);
	return doc;
}

static void test_base64(void)
{
	unsigned char *out;
	size_t len;

	CHECK_EQ(kc_base64_decode("aGVsbG8=", &out, &len), 0);
	CHECK_EQ(len, 5);
	CHECK_STR((char *)out, "hello");
	free(out);
	CHECK_EQ(kc_base64_decode("aGVs\nbG8h", &out, &len), 0);
	CHECK_EQ(len, 6);
	CHECK_STR((char *)out, "hello!");
	free(out);
	CHECK_EQ(kc_base64_decode("aGk=", &out, &len), 0);
	CHECK_EQ(len, 2);
	free(out);
	CHECK_EQ(kc_base64_decode("abc", &out, &len), -EINVAL);
	CHECK_EQ(kc_base64_decode("", &out, &len), 0);
	CHECK_EQ(len, 0);
	free(out);
}

static void test_current_context(void)
{
	json_t *doc = parse(kc_yaml);
	struct kubeconfig kc;
	struct gerr err = { 0 };

	CHECK(doc);
	CHECK_EQ(kubeconfig_from_json(doc, tmpdir, NULL, &kc, &err), 0);
	CHECK_STR(kc.context, "admin@gannet");
	CHECK_STR(kc.server, "https://127.0.0.1:6443/");
	CHECK_EQ(kc.ca.len, strlen(CA_PEM));
	CHECK_STR((char *)kc.ca.data, CA_PEM);
	CHECK_STR((char *)kc.cert.data, "hello");
	CHECK_STR((char *)kc.key.data, "key");
	CHECK(kc.token == NULL);
	CHECK(kc.namespace == NULL);
	CHECK(!kc.insecure);
	kubeconfig_free(&kc);
	json_decref(doc);
}

static void test_files_relative(void)
{
	json_t *doc = parse(kc_yaml);
	struct kubeconfig kc;
	struct gerr err = { 0 };

	write_file("ca.crt", CA_PEM);
	write_file("token.txt", "sekrit-token\n");
	CHECK_EQ(kubeconfig_from_json(doc, tmpdir, "bot@other", &kc, &err), 0);
	CHECK_STR(kc.server, "https://10.0.0.1:6443");
	CHECK_STR((char *)kc.ca.data, CA_PEM);
	CHECK_STR(kc.token, "sekrit-token");     /* newline stripped */
	CHECK_STR(kc.namespace, "team-a");
	CHECK(kc.insecure);
	CHECK_EQ(kc.cert.len, 0);
	kubeconfig_free(&kc);
	json_decref(doc);
}

/* "user:" with nothing below (anonymous) is an empty user, not an error. */
static void test_empty_user(void)
{
	json_t *doc = parse("current-context: c\n"
			    "clusters: [{name: k, cluster: {server: 'https://x:1'}}]\n"
			    "users:\n- name: anon\n  user:\n"
			    "contexts: [{name: c, context: {cluster: k, user: anon}}]\n");
	struct kubeconfig kc;
	struct gerr err = { 0 };

	CHECK_EQ(kubeconfig_from_json(doc, NULL, NULL, &kc, &err), 0);
	CHECK_STR(kc.user_name, "anon");
	CHECK(kc.token == NULL && kc.cert.len == 0);
	kubeconfig_free(&kc);
	json_decref(doc);
}

static void test_errors(void)
{
	json_t *doc = parse(kc_yaml);
	struct kubeconfig kc;
	struct gerr err = { 0 };

	CHECK_EQ(kubeconfig_from_json(doc, tmpdir, "nope", &kc, &err), -ENOENT);
	CHECK(strstr(err.msg, "context \"nope\" does not exist"));
	memset(&err, 0, sizeof(err));
	CHECK_EQ(kubeconfig_from_json(doc, tmpdir, "broken", &kc, &err), -ENOENT);
	CHECK(strstr(err.msg, "cluster \"nowhere\""));
	json_decref(doc);

	doc = parse("apiVersion: v1\nkind: Config\nclusters: []\n");
	memset(&err, 0, sizeof(err));
	CHECK_EQ(kubeconfig_from_json(doc, NULL, NULL, &kc, &err), -EINVAL);
	CHECK(strstr(err.msg, "current-context"));
	json_decref(doc);

	doc = parse("apiVersion: v1\nkind: Pod\n");
	memset(&err, 0, sizeof(err));
	CHECK(kubeconfig_from_json(doc, NULL, NULL, &kc, &err) < 0);
	CHECK(strstr(err.msg, "not a kubeconfig"));
	json_decref(doc);

	/* Bad base64 in embedded data. */
	doc = parse("current-context: c\nclusters: [{name: k, cluster: {server: 'https://x', certificate-authority-data: '!!!'}}]\n"
		    "contexts: [{name: c, context: {cluster: k}}]\n");
	memset(&err, 0, sizeof(err));
	CHECK_EQ(kubeconfig_from_json(doc, NULL, NULL, &kc, &err), -EINVAL);
	CHECK(strstr(err.msg, "base64"));
	json_decref(doc);

	/* Not an http(s) server URL. */
	doc = parse("current-context: c\nclusters: [{name: k, cluster: {server: 'ftp://x'}}]\n"
		    "contexts: [{name: c, context: {cluster: k}}]\n");
	memset(&err, 0, sizeof(err));
	CHECK_EQ(kubeconfig_from_json(doc, NULL, NULL, &kc, &err), -EINVAL);
	json_decref(doc);
}

static void test_load_and_merge(void)
{
	char p1[256], p2[256], list[600];
	struct kubeconfig kc;
	struct gerr err = { 0 };
	char *loc;

	/* First file wins for current-context and same-named entries. */
	write_file("a.yaml", "current-context: ctx-a\n"
		   "clusters: [{name: k, cluster: {server: 'https://a:1'}}]\n"
		   "users: [{name: u, user: {token: tok-a}}]\n"
		   "contexts: [{name: ctx-a, context: {cluster: k, user: u}}]\n");
	write_file("b.yaml", "current-context: ctx-b\n"
		   "clusters: [{name: k, cluster: {server: 'https://b:1'}}, {name: kb, cluster: {server: 'https://bb:1'}}]\n"
		   "users: [{name: u, user: {token: tok-b}}]\n"
		   "contexts: [{name: ctx-b, context: {cluster: kb, user: u, namespace: nb}}]\n");
	snprintf(p1, sizeof(p1), "%s/a.yaml", tmpdir);
	snprintf(p2, sizeof(p2), "%s/b.yaml", tmpdir);
	snprintf(list, sizeof(list), "%s:%s/missing.yaml:%s", p1, tmpdir, p2);
	setenv("KUBECONFIG", list, 1);
	loc = kubeconfig_locate(NULL, &err);
	CHECK(loc);
	if (!loc)
		return;
	CHECK(!strstr(loc, "missing"));
	CHECK_EQ(kubeconfig_load(loc, NULL, &kc, &err), 0);
	CHECK_STR(kc.context, "ctx-a");
	CHECK_STR(kc.server, "https://a:1");
	CHECK_STR(kc.token, "tok-a");
	kubeconfig_free(&kc);
	CHECK_EQ(kubeconfig_load(loc, "ctx-b", &kc, &err), 0);
	CHECK_STR(kc.server, "https://bb:1");
	CHECK_STR(kc.token, "tok-a");          /* user u from the first file */
	CHECK_STR(kc.namespace, "nb");
	kubeconfig_free(&kc);
	free(loc);

	/* Explicit path beats $KUBECONFIG; a missing one is an error. */
	loc = kubeconfig_locate(p2, &err);
	CHECK_STR(loc, p2);
	free(loc);
	memset(&err, 0, sizeof(err));
	CHECK(kubeconfig_locate("/nonexistent/kc", &err) == NULL);
	CHECK(strstr(err.msg, "/nonexistent/kc"));

	/* Malformed YAML: message names the file and the line. */
	write_file("bad.yaml", "current-context: x\nclusters:\n  - name: [unclosed\n");
	snprintf(p1, sizeof(p1), "%s/bad.yaml", tmpdir);
	memset(&err, 0, sizeof(err));
	CHECK(kubeconfig_load(p1, NULL, &kc, &err) < 0);
	CHECK(strstr(err.msg, "bad.yaml"));
	CHECK(strstr(err.msg, "line"));
	unsetenv("KUBECONFIG");
}

static void cleanup(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cleanup failed\n");
}

static void setup(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(cleanup);
}

static void test_setup(void) { setup(); CHECK(1); }

TEST_MAIN(T(test_setup), T(test_base64), T(test_current_context),
	  T(test_files_relative), T(test_empty_user), T(test_errors), T(test_load_and_merge))
