/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of the Ingress renderer (ingress/render.c). Routing is checked
 * semantically: route() reads the rendered nginx.conf back and resolves a
 * (scheme, host, path) the way nginx does (exact server_name, then regex
 * names in order, then default_server; `=` location, then longest prefix),
 * so the precedence tests would fail if the generated locations or server
 * names were wrong, not just if their text changed. Every rendered config
 * is also fed to `nginx -t` (through the manager) when nginx is installed. */
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "ingress/nginx.h"
#include "ingress/render.h"
#include "test.h"

static char tmpdir[256];
static struct ngxm ngx;
static bool have_nginx;
static int nginx_checked;

/* ------------------------------------------------------------ fixtures */

/* JSON with single quotes (readable in C strings). */
static json_t *J(const char *s)
{
	char *d = strdup(s);
	json_error_t e;
	json_t *j;

	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	j = json_loads(d, 0, &e);
	t_checks++;
	if (!j) {
		t_failed++;
		fprintf(stderr, "bad fixture JSON: %s: %s\n", e.text, d);
	}
	free(d);
	return j;
}

struct world {
	json_t *ing, *cls, *svc, *ep, *sec;
};

static void w_init(struct world *w)
{
	w->ing = json_array();
	w->cls = json_array();
	w->svc = json_array();
	w->ep = json_array();
	w->sec = json_array();
}

static void w_free(struct world *w)
{
	json_decref(w->ing);
	json_decref(w->cls);
	json_decref(w->svc);
	json_decref(w->ep);
	json_decref(w->sec);
}

/* Service name with one port 80 → targetPort 8080 and one ready endpoint
 * 10.0.0.<id>:8080. */
static void add_svc(struct world *w, const char *name, int id)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "{'kind':'Service','metadata':{'name':'%s','namespace':'default'},"
		 "'spec':{'ports':[{'port':80,'targetPort':8080}]}}", name);
	json_array_append_new(w->svc, J(buf));
	snprintf(buf, sizeof(buf), "{'kind':'Endpoints','metadata':{'name':'%s','namespace':'default'},"
		 "'subsets':[{'addresses':[{'ip':'10.0.0.%d'}],'ports':[{'port':8080}]}]}", name, id);
	json_array_append_new(w->ep, J(buf));
}

static int ing_seq;

/* An Ingress (class gannet) with the given spec JSON. */
static void add_ing(struct world *w, const char *name, const char *spec)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "{'kind':'Ingress','metadata':{'name':'%s','namespace':'default',"
		 "'creationTimestamp':'2024-01-01T00:00:%02dZ'},'spec':%s}", name, ing_seq++, spec);
	json_array_append_new(w->ing, J(buf));
}

#define BE(svc) "{'service':{'name':'" svc "','port':{'number':80}}}"
#define PATH(p, t, svc) "{'path':'" p "','pathType':'" t "','backend':" BE(svc) "}"

static const char *const http_listen[] = { "127.0.0.1:18080", NULL };
static const char *const https_listen[] = { "127.0.0.1:18443", NULL };

static void check_nginx(const char *conf)
{
	struct gerr err = { 0 };
	int rc;

	if (!have_nginx)
		return;
	rc = ngxm_validate(&ngx, conf, strlen(conf), &err);
	if (rc)
		fprintf(stderr, "nginx -t: %s\n%s\n", err.msg, conf);
	CHECK_EQ(rc, 0);
	nginx_checked++;
}

static int render(struct world *w, struct ing_result *r, bool tls)
{
	struct ing_snapshot s = { w->ing, w->cls, w->svc, w->ep, w->sec };
	char certs[300];
	struct ing_render_opts o = {
		.class_name = "gannet", .is_default_class = true, .listen_http = http_listen,
		.listen_https = tls ? https_listen : NULL, .https_port = 18443,
		.cert_dir = tls ? certs : NULL,
	};
	struct gerr err = { 0 };
	int rc;

	snprintf(certs, sizeof(certs), "%s/certs", tmpdir);
	mkdir(certs, 0700);
	rc = ing_render(&s, &o, r, &err);
	if (rc)
		fprintf(stderr, "render: %s\n", err.msg);
	else
		check_nginx(r->conf);
	return rc;
}

/* ------------------------------------------------ nginx routing model */

/* Resolves a request against rendered config text. Returns a static
 * string: the upstream name, "503", "404", "308" or "none". */
static const char *route(const char *conf, bool https, const char *host, const char *path)
{
	static char res[128];
	char *copy = strdup(conf), *save = NULL, *line;
	struct srv {
		char name[256];
		bool dflt, http, ssl, redirect;
		int nloc;
		struct { char mod[4], path[256], target[128]; } loc[64];
	} *srv = calloc(64, sizeof(*srv)), *cur = NULL, *pick = NULL;
	int ns = 0, li = -1;

	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		while (*line == '\t' || *line == ' ')
			line++;
		if (!strcmp(line, "server {")) {
			cur = &srv[ns++];
			li = -1;
		} else if (cur && !strncmp(line, "listen ", 7)) {
			bool ssl = strstr(line, " ssl") != NULL;
			if (strstr(line, "default_server") && ssl == https)
				cur->dflt = true;
			if (ssl)
				cur->ssl = true;
			else
				cur->http = true;
		} else if (cur && !strncmp(line, "server_name ", 12)) {
			snprintf(cur->name, sizeof(cur->name), "%.*s", (int)strlen(line) - 13, line + 12);
		} else if (cur && !strncmp(line, "if ($scheme = http)", 19)) {
			cur->redirect = true;
		} else if (cur && !strncmp(line, "location ", 9)) {
			char a[256] = "", b[256] = "";
			li = cur->nloc++;
			if (sscanf(line + 9, "%255s %255s", a, b) == 2 && strcmp(b, "{")) {
				snprintf(cur->loc[li].mod, 4, "%s", a);
				snprintf(cur->loc[li].path, 256, "%s", b);
			} else {
				snprintf(cur->loc[li].path, 256, "%s", a);
			}
		} else if (cur && li >= 0 && !strncmp(line, "proxy_pass http://", 18)) {
			snprintf(cur->loc[li].target, 128, "%.*s", (int)strlen(line) - 19, line + 18);
		} else if (cur && li >= 0 && !strncmp(line, "return ", 7)) {
			snprintf(cur->loc[li].target, 128, "%.3s", line + 7);
		}
	}
	/* Exact name, then regex names in file order, then default_server. */
	for (int i = 0; i < ns && !pick; i++)
		if ((https ? srv[i].ssl : srv[i].http) && !strcasecmp(srv[i].name, host))
			pick = &srv[i];
	for (int i = 0; i < ns && !pick; i++) {
		regex_t re;
		if (srv[i].name[0] != '~' || !(https ? srv[i].ssl : srv[i].http))
			continue;
		if (regcomp(&re, srv[i].name + 1, REG_EXTENDED | REG_ICASE | REG_NOSUB) == 0) {
			if (regexec(&re, host, 0, NULL, 0) == 0)
				pick = &srv[i];
			regfree(&re);
		}
	}
	for (int i = 0; i < ns && !pick; i++)
		if (srv[i].dflt)
			pick = &srv[i];
	snprintf(res, sizeof(res), "none");
	if (pick && pick->redirect && !https) {
		snprintf(res, sizeof(res), "308");
	} else if (pick) {
		int best = -1;
		size_t bestlen = 0;
		for (int i = 0; i < pick->nloc; i++) {
			if (!strcmp(pick->loc[i].mod, "=") && !strcmp(pick->loc[i].path, path)) {
				best = i;
				break;
			}
		}
		if (best < 0) {
			for (int i = 0; i < pick->nloc; i++) {
				size_t l = strlen(pick->loc[i].path);
				if (strcmp(pick->loc[i].mod, "=") && !strncmp(pick->loc[i].path, path, l) &&
				    l > bestlen) {
					best = i;
					bestlen = l;
				}
			}
		}
		if (best >= 0)
			snprintf(res, sizeof(res), "%s", pick->loc[best].target);
	}
	free(srv);
	free(copy);
	return res;
}

static bool has_msg(json_t *status, const char *ing, const char *kind, const char *needle)
{
	json_t *arr = json_object_get(json_object_get(status, ing), kind), *v;
	size_t i;

	json_array_foreach(arr, i, v)
		if (strstr(json_string_value(v), needle))
			return true;
	return false;
}

/* --------------------------------------------------------------- tests */

static void test_match_helpers(void)
{
	CHECK(ing_path_matches("Prefix", "/foo", "/foo"));
	CHECK(ing_path_matches("Prefix", "/foo", "/foo/bar"));
	CHECK(!ing_path_matches("Prefix", "/foo", "/foobar"));
	CHECK(ing_path_matches("Prefix", "/foo/", "/foo"));
	CHECK(ing_path_matches("Prefix", "/", "/anything"));
	CHECK(ing_path_matches("ImplementationSpecific", "/a/b", "/a/b/c"));
	CHECK(ing_path_matches("Exact", "/foo", "/foo"));
	CHECK(!ing_path_matches("Exact", "/foo", "/foo/"));
	CHECK(ing_host_matches("*.example.com", "a.example.com"));
	CHECK(!ing_host_matches("*.example.com", "a.b.example.com"));
	CHECK(!ing_host_matches("*.example.com", "example.com"));
	CHECK(!ing_host_matches("*.example.com", ".example.com"));
	CHECK(ing_host_matches("Foo.example.com", "foo.EXAMPLE.com"));
}

static void test_host_precedence(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_svc(&w, "b", 2);
	add_ing(&w, "wild", "{'rules':[{'host':'*.example.com','http':{'paths':[" PATH("/", "Prefix", "b") "]}}]}");
	add_ing(&w, "exact", "{'rules':[{'host':'foo.example.com','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK_STR(route(r.conf, false, "foo.example.com", "/x"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "FOO.example.com", "/"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "bar.example.com", "/x"), "up_default_b_80");
	/* The wildcard covers exactly one label. */
	CHECK_STR(route(r.conf, false, "x.bar.example.com", "/"), "404");
	CHECK_STR(route(r.conf, false, "example.com", "/"), "404");
	CHECK_STR(route(r.conf, false, "other.org", "/"), "404");
	CHECK(strstr(r.conf, "upstream up_default_a_80 {\n\t\tserver 10.0.0.1:8080 max_fails=0;\n\t\tkeepalive 64;") != NULL);
	CHECK(strstr(r.conf, "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;") != NULL);
	CHECK(strstr(r.conf, "proxy_set_header Host $host;") != NULL);
	CHECK_EQ(json_array_size(json_object_get(json_object_get(r.status, "default/wild"), "errors")), 0);
	ing_result_free(&r);
	w_free(&w);
}

static void test_path_precedence(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_svc(&w, "b", 2);
	add_svc(&w, "c", 3);
	add_svc(&w, "d", 4);
	add_ing(&w, "p", "{'rules':[{'host':'h.test','http':{'paths':["
		PATH("/foo", "Prefix", "b") "," PATH("/foo", "Exact", "a") ","
		PATH("/foo/bar/", "Prefix", "c") "," PATH("/", "Prefix", "d") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	/* Exact beats Prefix of the same path. */
	CHECK_STR(route(r.conf, false, "h.test", "/foo"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "h.test", "/foo/"), "up_default_b_80");
	CHECK_STR(route(r.conf, false, "h.test", "/foo/x"), "up_default_b_80");
	/* Element-wise: /foo does not match /foobar. */
	CHECK_STR(route(r.conf, false, "h.test", "/foobar"), "up_default_d_80");
	/* Longest prefix wins; the trailing slash of /foo/bar/ does not count. */
	CHECK_STR(route(r.conf, false, "h.test", "/foo/bar"), "up_default_c_80");
	CHECK_STR(route(r.conf, false, "h.test", "/foo/bar/baz"), "up_default_c_80");
	CHECK_STR(route(r.conf, false, "h.test", "/foo/barx"), "up_default_b_80");
	CHECK_STR(route(r.conf, false, "h.test", "/zzz"), "up_default_d_80");
	ing_result_free(&r);

	/* Exact only: the Exact path alone, no prefix behaviour. */
	json_array_clear(w.ing);
	add_ing(&w, "e", "{'rules':[{'host':'h.test','http':{'paths':[" PATH("/only", "Exact", "a") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK_STR(route(r.conf, false, "h.test", "/only"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "h.test", "/only/x"), "404");
	ing_result_free(&r);
	w_free(&w);
}

static void test_default_backend(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_svc(&w, "dflt", 9);
	add_ing(&w, "d", "{'defaultBackend':" BE("dflt") ",'rules':[{'host':'h.test','http':{'paths':["
		PATH("/api", "Prefix", "a") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK_STR(route(r.conf, false, "h.test", "/api/v1"), "up_default_a_80");
	/* Unmatched path of a host of this Ingress, and unknown hosts. */
	CHECK_STR(route(r.conf, false, "h.test", "/other"), "up_default_dflt_80");
	CHECK_STR(route(r.conf, false, "nowhere.test", "/"), "up_default_dflt_80");
	ing_result_free(&r);
	w_free(&w);
}

/* Self-signed EC certificate for cn, as PEM strings (malloc'd). */
static void make_cert(const char *cn, char **crt, char **key)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIO *b1 = BIO_new(BIO_s_mem()), *b2 = BIO_new(BIO_s_mem());
	char *p;
	long n;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, pk);
	X509_sign(x, pk, EVP_sha256());
	PEM_write_bio_X509(b1, x);
	PEM_write_bio_PrivateKey(b2, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(b1, &p);
	*crt = strndup(p, (size_t)n);
	n = BIO_get_mem_data(b2, &p);
	*key = strndup(p, (size_t)n);
	BIO_free(b1);
	BIO_free(b2);
	X509_free(x);
	EVP_PKEY_free(pk);
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

static void add_tls_secret(struct world *w, const char *name, const char *type, const char *cn)
{
	char *crt, *key, *bc, *bk;
	json_t *s;

	make_cert(cn, &crt, &key);
	bc = b64(crt);
	bk = b64(key);
	s = json_pack("{s:s, s:{s:s, s:s}, s:s, s:{s:s, s:s}}", "kind", "Secret", "metadata",
		      "name", name, "namespace", "default", "type", type, "data",
		      "tls.crt", bc, "tls.key", bk);
	json_array_append_new(w->sec, s);
	free(crt);
	free(key);
	free(bc);
	free(bk);
}

static void test_tls(void)
{
	struct world w;
	struct ing_result r;
	struct stat stt;
	const char *path;
	char buf[8192];
	FILE *f;
	size_t n;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_svc(&w, "b", 2);
	add_tls_secret(&w, "tls-a", "kubernetes.io/tls", "a.test");
	add_tls_secret(&w, "opaque", "Opaque", "c.test");
	add_ing(&w, "t", "{'tls':[{'hosts':['a.test'],'secretName':'tls-a'}],"
		"'rules':[{'host':'a.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}},"
		"{'host':'b.test','http':{'paths':[" PATH("/", "Prefix", "b") "]}}]}");
	add_ing(&w, "bad", "{'tls':[{'hosts':['c.test'],'secretName':'opaque'},"
		"{'hosts':['d.test'],'secretName':'nope'}],"
		"'rules':[{'host':'c.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}},"
		"{'host':'d.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render(&w, &r, true), 0);
	/* TLS host: HTTPS proxies, HTTP redirects with 308 (to the port). */
	CHECK_STR(route(r.conf, true, "a.test", "/x"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "a.test", "/x"), "308");
	CHECK(strstr(r.conf, "return 308 https://$host:18443$request_uri;") != NULL);
	/* A host without TLS stays plain HTTP; unknown SNI is refused. */
	CHECK_STR(route(r.conf, false, "b.test", "/"), "up_default_b_80");
	CHECK(strstr(r.conf, "ssl_reject_handshake on;") != NULL);
	/* Wrong secret type / missing secret: that host's routes only 503. */
	CHECK_STR(route(r.conf, false, "c.test", "/"), "503");
	CHECK_STR(route(r.conf, false, "d.test", "/"), "503");
	CHECK(has_msg(r.status, "default/bad", "errors", "secret default/opaque missing or not kubernetes.io/tls"));
	CHECK(has_msg(r.status, "default/bad", "errors", "secret default/nope missing"));
	CHECK_EQ(json_array_size(json_object_get(json_object_get(r.status, "default/t"), "errors")), 0);
	/* The PEM file: 0600, cert then key, named in the config. */
	CHECK_EQ(json_array_size(r.cert_files), 1);
	path = json_string_value(json_array_get(r.cert_files, 0));
	CHECK(path && stat(path, &stt) == 0 && (stt.st_mode & 0777) == 0600);
	f = path ? fopen(path, "r") : NULL;
	n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	buf[n] = 0;
	if (f)
		fclose(f);
	CHECK(strstr(buf, "BEGIN CERTIFICATE") && strstr(buf, "PRIVATE KEY"));
	snprintf(buf, sizeof(buf), "ssl_certificate %s;", path ? path : "?");
	CHECK(strstr(r.conf, buf) != NULL);
	ing_result_free(&r);
	w_free(&w);
}

/* TLS requested but the controller serves no HTTPS: plain HTTP, warning,
 * no redirect to a port nobody listens on. A rotated Secret changes the
 * text (so the controller reloads); a removed one leaves a stale file that
 * ing_prune_certs() deletes. */
static void test_tls_disabled_rotation_prune(void)
{
	struct world w;
	struct ing_result r1, r2, r3;
	struct ing_snapshot s;
	struct ing_render_opts o = { .is_default_class = true, .listen_http = http_listen };
	struct gerr err = { 0 };
	char certs[300];
	struct stat stt;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_tls_secret(&w, "tls-a", "kubernetes.io/tls", "a.test");
	add_ing(&w, "t", "{'tls':[{'hosts':['a.test'],'secretName':'tls-a'}],"
		"'rules':[{'host':'a.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	s = (struct ing_snapshot){ w.ing, w.cls, w.svc, w.ep, w.sec };
	CHECK_EQ(ing_render(&s, &o, &r1, &err), 0);
	CHECK_STR(route(r1.conf, false, "a.test", "/"), "up_default_a_80");
	CHECK(has_msg(r1.status, "default/t", "warnings", "TLS is not enabled"));
	CHECK(strstr(r1.conf, "return 308") == NULL);
	ing_result_free(&r1);

	CHECK_EQ(render(&w, &r1, true), 0);
	json_array_clear(w.sec);
	add_tls_secret(&w, "tls-a", "kubernetes.io/tls", "a.test");
	CHECK_EQ(render(&w, &r2, true), 0);
	CHECK(r1.conf && r2.conf && strcmp(r1.conf, r2.conf) != 0);
	CHECK_STR(route(r2.conf, true, "a.test", "/"), "up_default_a_80");
	json_array_clear(w.sec);
	json_array_clear(w.ing);
	add_ing(&w, "plain", "{'rules':[{'host':'a.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render(&w, &r3, true), 0);
	CHECK_EQ(json_array_size(r3.cert_files), 0);
	snprintf(certs, sizeof(certs), "%s/certs", tmpdir);
	CHECK(stat(json_string_value(json_array_get(r2.cert_files, 0)), &stt) == 0);
	CHECK_EQ(ing_prune_certs(certs, r2.cert_files, &err), 0);
	CHECK_EQ(ing_prune_certs(certs, r3.cert_files, &err), 1);
	CHECK(stat(json_string_value(json_array_get(r2.cert_files, 0)), &stt) != 0);
	ing_result_free(&r1);
	ing_result_free(&r2);
	ing_result_free(&r3);
	w_free(&w);
}

static void set_meta(json_t *sec, const char *uid, const char *rv)
{
	json_t *md = json_object_get(sec, "metadata");

	json_object_set_new(md, "uid", json_string(uid));
	json_object_set_new(md, "resourceVersion", json_string(rv));
}

static int render_cached(struct world *w, struct ing_cert_cache *cc, struct ing_result *r)
{
	struct ing_snapshot s = { w->ing, w->cls, w->svc, w->ep, w->sec };
	char certs[300];
	struct ing_render_opts o = {
		.is_default_class = true, .listen_http = http_listen,
		.listen_https = https_listen, .https_port = 18443, .cert_dir = certs,
		.cert_cache = cc,
	};
	struct gerr err = { 0 };

	snprintf(certs, sizeof(certs), "%s/certs", tmpdir);
	mkdir(certs, 0700);
	return ing_render(&s, &o, r, &err);
}

static void file_put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool file_has(const char *path, const char *needle)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

/* The certificate cache: an unchanged Secret (same uid and
 * resourceVersion) is neither re-parsed nor rewritten (a file altered
 * behind the renderer's back stays as it is, same config text); a new
 * resourceVersion or a deleted file is; a bad Secret's verdict is cached
 * too; Secrets no longer used leave the cache. */
static void test_cert_cache(void)
{
	struct ing_cert_cache cc = { 0 };
	struct ing_result r1, r2, r3;
	struct world w;
	const char *path;
	char sha1[80];

	w_init(&w);
	add_svc(&w, "a", 1);
	add_tls_secret(&w, "tls-a", "kubernetes.io/tls", "a.test");
	set_meta(json_array_get(w.sec, 0), "u1", "10");
	add_tls_secret(&w, "opaque", "Opaque", "c.test");
	set_meta(json_array_get(w.sec, 1), "u2", "11");
	add_ing(&w, "t", "{'tls':[{'hosts':['a.test'],'secretName':'tls-a'},"
		"{'hosts':['c.test'],'secretName':'opaque'}],"
		"'rules':[{'host':'a.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}},"
		"{'host':'c.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render_cached(&w, &cc, &r1), 0);
	CHECK_EQ(json_object_size(cc.by_secret), 2);
	CHECK(json_is_true(json_object_get(json_object_get(cc.by_secret, "default/opaque"), "bad")));
	path = json_string_value(json_array_get(r1.cert_files, 0));
	CHECK(path != NULL);
	snprintf(sha1, sizeof(sha1), "%s",
		 json_string_value(json_object_get(json_object_get(cc.by_secret, "default/tls-a"), "sha")) ?: "");
	/* Same version: the file is not rewritten, the text is identical,
	 * the bad Secret still answers 503 with its message. */
	file_put(path, "marker\n");
	CHECK_EQ(render_cached(&w, &cc, &r2), 0);
	CHECK(file_has(path, "marker"));
	CHECK_STR(r1.conf, r2.conf);
	CHECK_STR(route(r2.conf, false, "c.test", "/"), "503");
	CHECK(has_msg(r2.status, "default/t", "errors", "secret default/opaque missing"));
	CHECK_EQ(json_array_size(r2.cert_files), 1);
	ing_result_free(&r2);
	/* A new resourceVersion (rotation): parsed and written again. */
	json_array_remove(w.sec, 0);
	add_tls_secret(&w, "tls-a", "kubernetes.io/tls", "a.test");
	set_meta(json_array_get(w.sec, json_array_size(w.sec) - 1), "u1", "12");
	CHECK_EQ(render_cached(&w, &cc, &r2), 0);
	CHECK(file_has(path, "BEGIN CERTIFICATE"));
	CHECK(strcmp(sha1, json_string_value(json_object_get(json_object_get(cc.by_secret,
			"default/tls-a"), "sha")) ?: "") != 0);
	CHECK(strcmp(r1.conf, r2.conf) != 0);
	/* The file deleted: written again even at the same version. */
	unlink(path);
	CHECK_EQ(render_cached(&w, &cc, &r3), 0);
	CHECK(file_has(path, "BEGIN CERTIFICATE"));
	CHECK_STR(r2.conf, r3.conf);
	ing_result_free(&r3);
	/* Secrets nobody names any more leave the cache. */
	json_array_clear(w.ing);
	add_ing(&w, "plain", "{'rules':[{'host':'a.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render_cached(&w, &cc, &r3), 0);
	CHECK_EQ(json_object_size(cc.by_secret), 0);
	ing_result_free(&r1);
	ing_result_free(&r2);
	ing_result_free(&r3);
	ing_cert_cache_free(&cc);
	w_free(&w);
}

/* Wrong JSON types anywhere in the objects must not crash the renderer or
 * leak into the config; the valid Ingress still renders. */
static void test_garbage_shapes(void)
{
	static const char *const specs[] = {
		"{'rules':'x'}", "{'rules':[1,null,'s']}", "{'rules':[{'host':5,'http':'x'}]}",
		"{'rules':[{'host':'g1.test','http':{'paths':{'a':1}}}]}",
		"{'rules':[{'host':'g2.test','http':{'paths':[1,{'path':5},{'path':'/','pathType':7}]}}]}",
		"{'rules':[{'host':'g3.test','http':{'paths':[{'path':'/','pathType':'Prefix','backend':5}]}}]}",
		"{'rules':[{'host':'g4.test','http':{'paths':[{'path':'/','pathType':'Prefix','backend':"
			"{'service':{'name':7,'port':'x'}}}]}}]}",
		"{'rules':[{'host':'g5.test','http':{'paths':[{'path':'/','pathType':'Prefix','backend':"
			"{'serviceName':'a','servicePort':{'x':1}}}]}}]}",
		"{'tls':'x','defaultBackend':'y'}", "{'tls':[{'hosts':'x','secretName':3},{'hosts':[4],'secretName':'../x'}]}",
		"[]", "null",
	};
	struct world w;
	struct ing_result r;
	char name[16];

	w_init(&w);
	add_svc(&w, "a", 1);
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'odd','namespace':'default'},'spec':{'ports':'x'}}"));
	json_array_append_new(w.ep, J("{'kind':'Endpoints','metadata':{'name':'odd','namespace':'default'},'subsets':[{'addresses':[{'ip':'1.2.3.4;'}],'ports':[{'port':99999}]}]}"));
	json_array_append_new(w.sec, J("{'kind':'Secret','metadata':{'name':'x','namespace':'default'},'type':'kubernetes.io/tls','data':{'tls.crt':'!!!','tls.key':5}}"));
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		snprintf(name, sizeof(name), "g%zu", i);
		add_ing(&w, name, specs[i]);
	}
	json_array_append_new(w.ing, J("{'kind':'Ingress','metadata':5,'spec':{}}"));
	json_array_append_new(w.ing, J("{'kind':'Ingress','metadata':{'name':'x\\n}'},'spec':{'defaultBackend':"
		"{'service':{'name':'a','port':{'number':80}}}}}"));
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'a;}','namespace':'default'},'spec':{'ports':[{'port':80}]}}"));
	json_array_append(w.ing, json_array_get(w.svc, 0));
	add_ing(&w, "ok", "{'rules':[{'host':'ok.test','http':{'paths':[" PATH("/", "Prefix", "a") "," PATH("/odd", "Prefix", "odd") ","
		PATH("/inj", "Prefix", "a;}") "]}}]}");
	/* (the Service "a;}" exists: only the name check keeps it out) */
	CHECK_EQ(render(&w, &r, true), 0);
	CHECK_STR(route(r.conf, false, "ok.test", "/"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "ok.test", "/odd"), "503");
	CHECK(strstr(r.conf, "1.2.3.4") == NULL);
	CHECK(strstr(r.conf, "a;}") == NULL);
	CHECK_STR(route(r.conf, false, "ok.test", "/inj"), "503");
	CHECK(strstr(r.conf, "x\n}") == NULL);
	CHECK(has_msg(r.status, "default/x\n}", "errors", "invalid namespace or name"));
	ing_result_free(&r);
	w_free(&w);
}

/* IPv6 endpoints are bracketed; bad listen addresses are refused. */
static void test_ipv6_and_listen(void)
{
	struct world w;
	struct ing_result r;
	struct ing_snapshot s;
	const char *badl[] = { "80; include /etc/passwd", NULL };
	struct ing_render_opts o = { .is_default_class = true, .listen_http = badl };
	struct gerr err = { 0 };

	w_init(&w);
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'v6','namespace':'default'},'spec':{'ports':[{'port':80}]}}"));
	json_array_append_new(w.ep, J("{'kind':'Endpoints','metadata':{'name':'v6','namespace':'default'},'subsets':[{'addresses':[{'ip':'fd00::5'}],'ports':[{'port':8080}]}]}"));
	add_ing(&w, "v6", "{'rules':[{'host':'v6.test','http':{'paths':[" PATH("/", "Prefix", "v6") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK(strstr(r.conf, "server [fd00::5]:8080 max_fails=0;") != NULL);
	ing_result_free(&r);
	s = (struct ing_snapshot){ w.ing, w.cls, w.svc, w.ep, w.sec };
	CHECK_EQ(ing_render(&s, &o, &r, &err), -EINVAL);
	CHECK(strstr(err.msg, "invalid listen address") != NULL);
	CHECK(r.conf == NULL);
	w_free(&w);
}

static void test_lb_status(void)
{
	const char *addrs[] = { "192.168.250.11", "fd00::1", "ingress.example.com", NULL };
	json_t *st = ing_lb_status(addrs);
	char *txt = json_dumps(st, JSON_COMPACT);

	CHECK_STR(txt, "{\"loadBalancer\":{\"ingress\":[{\"ip\":\"192.168.250.11\"},"
		  "{\"ip\":\"fd00::1\"},{\"hostname\":\"ingress.example.com\"}]}}");
	free(txt);
	json_decref(st);
}

static void test_named_ports(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'multi','namespace':'default'},"
		"'spec':{'ports':[{'name':'http','port':80,'targetPort':'web'},"
		"{'name':'admin','port':9000,'targetPort':9001},{'name':'dns','port':53,'protocol':'UDP'}]}}"));
	json_array_append_new(w.ep, J("{'kind':'Endpoints','metadata':{'name':'multi','namespace':'default'},"
		"'subsets':[{'addresses':[{'ip':'10.1.0.2'},{'ip':'10.1.0.1'}],"
		"'notReadyAddresses':[{'ip':'10.1.0.9'}],"
		"'ports':[{'name':'admin','port':9001},{'name':'http','port':8080}]}]}"));
	add_ing(&w, "n", "{'rules':[{'host':'n.test','http':{'paths':["
		"{'path':'/','pathType':'Prefix','backend':{'service':{'name':'multi','port':{'name':'http'}}}},"
		"{'path':'/admin','pathType':'Prefix','backend':{'service':{'name':'multi','port':{'number':9000}}}},"
		"{'path':'/nope','pathType':'Prefix','backend':{'service':{'name':'multi','port':{'name':'grpc'}}}},"
		"{'path':'/udp','pathType':'Prefix','backend':{'service':{'name':'multi','port':{'number':53}}}}]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK_STR(route(r.conf, false, "n.test", "/"), "up_default_multi_80");
	CHECK_STR(route(r.conf, false, "n.test", "/admin/x"), "up_default_multi_9000");
	CHECK_STR(route(r.conf, false, "n.test", "/nope"), "503");
	CHECK(has_msg(r.status, "default/n", "errors", "service default/multi has no port named grpc"));
	CHECK_STR(route(r.conf, false, "n.test", "/udp"), "503");
	CHECK(has_msg(r.status, "default/n", "errors", "service default/multi port 53 is UDP, not TCP"));
	/* Sorted ready endpoints on the named target port; not-ready excluded. */
	CHECK(strstr(r.conf, "upstream up_default_multi_80 {\n\t\tserver 10.1.0.1:8080 max_fails=0;\n"
		     "\t\tserver 10.1.0.2:8080 max_fails=0;\n") != NULL);
	CHECK(strstr(r.conf, "server 10.1.0.1:9001 max_fails=0;") != NULL);
	CHECK(strstr(r.conf, "10.1.0.9") == NULL);
	ing_result_free(&r);
	w_free(&w);
}

static void test_missing_service(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	add_svc(&w, "a", 1);
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'empty','namespace':'default'},"
		"'spec':{'ports':[{'port':80}]}}"));
	add_ing(&w, "m", "{'rules':[{'host':'m.test','http':{'paths':["
		PATH("/ok", "Prefix", "a") "," PATH("/gone", "Prefix", "ghost") ","
		PATH("/empty", "Prefix", "empty") "]}}]}");
	add_ing(&w, "other", "{'rules':[{'host':'o.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK_STR(route(r.conf, false, "m.test", "/ok"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "m.test", "/gone/x"), "503");
	CHECK_STR(route(r.conf, false, "m.test", "/empty"), "503");
	CHECK_STR(route(r.conf, false, "o.test", "/"), "up_default_a_80");
	CHECK(has_msg(r.status, "default/m", "errors", "service default/ghost not found (503)"));
	CHECK(has_msg(r.status, "default/m", "warnings", "service default/empty port 80 has no ready endpoints"));
	CHECK_EQ(json_array_size(json_object_get(json_object_get(r.status, "default/other"), "errors")), 0);
	ing_result_free(&r);
	w_free(&w);
}

static void test_invalid_input(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_ing(&w, "evil", "{'rules':[{'host':'bad host;','http':{'paths':[" PATH("/", "Prefix", "a") "]}},"
		"{'host':'e.test','http':{'paths':[" PATH("/x;return 200", "Prefix", "a") ","
		PATH("/y", "Regex", "a") "," PATH("nope", "Exact", "a") ","
		PATH("/a/../b", "Prefix", "a") "," PATH("/fine", "Prefix", "a") ","
		PATH("/all-._~@:!&\\u0027()*+,=%41", "Exact", "a") ","
		"{'path':'/r','pathType':'Prefix','backend':{'resource':{'kind':'Bucket','name':'x'}}}]}}]}");
	add_ing(&w, "good", "{'rules':[{'host':'g.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK(has_msg(r.status, "default/evil", "errors", "invalid host"));
	CHECK(has_msg(r.status, "default/evil", "errors", "invalid path \"/x;return 200\""));
	CHECK(has_msg(r.status, "default/evil", "errors", "invalid pathType \"Regex\""));
	CHECK(has_msg(r.status, "default/evil", "errors", "invalid path \"nope\""));
	CHECK(has_msg(r.status, "default/evil", "errors", "invalid path \"/a/../b\""));
	CHECK(has_msg(r.status, "default/evil", "errors", "resource backends are not supported"));
	CHECK(strstr(r.conf, "return 200") == NULL);
	CHECK_STR(route(r.conf, false, "e.test", "/fine"), "up_default_a_80");
	/* Every accepted path character survives nginx -t (render() runs it). */
	CHECK(strstr(r.conf, "location = /all-._~@:!&'()*+,=%41 {") != NULL);
	CHECK_STR(route(r.conf, false, "e.test", "/r"), "503");
	CHECK_STR(route(r.conf, false, "g.test", "/"), "up_default_a_80");
	ing_result_free(&r);
	w_free(&w);
}

static void test_legacy(void)
{
	struct world w;
	struct ing_result r;

	w_init(&w);
	add_svc(&w, "a", 1);
	add_svc(&w, "b", 2);
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'named','namespace':'default'},"
		"'spec':{'ports':[{'name':'web','port':8000,'targetPort':80}]}}"));
	json_array_append_new(w.ep, J("{'kind':'Endpoints','metadata':{'name':'named','namespace':'default'},"
		"'subsets':[{'addresses':[{'ip':'10.2.0.1'}],'ports':[{'name':'web','port':80}]}]}"));
	add_ing(&w, "old", "{'backend':{'serviceName':'b','servicePort':80},"
		"'rules':[{'host':'l.test','http':{'paths':["
		"{'path':'/a','backend':{'serviceName':'a','servicePort':'80'}},"
		"{'path':'/n','backend':{'serviceName':'named','servicePort':'web'}}]}}]}");
	CHECK_EQ(render(&w, &r, false), 0);
	CHECK_STR(route(r.conf, false, "l.test", "/a/x"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "l.test", "/n"), "up_default_named_8000");
	CHECK_STR(route(r.conf, false, "l.test", "/zz"), "up_default_b_80");
	CHECK(has_msg(r.status, "default/old", "warnings", "legacy serviceName/servicePort"));
	CHECK(has_msg(r.status, "default/old", "warnings", "legacy spec.backend"));
	CHECK(has_msg(r.status, "default/old", "warnings", "pathType missing"));
	CHECK(strstr(r.conf, "server 10.2.0.1:80 max_fails=0;") != NULL);
	ing_result_free(&r);
	w_free(&w);
}

static void test_classes_and_conflicts(void)
{
	struct world w;
	struct ing_result r;
	struct ing_snapshot s;
	struct ing_render_opts o = { .class_name = "gannet", .controller = "gannet.io/ingress-nginx",
				     .listen_http = http_listen };
	struct gerr err = { 0 };

	w_init(&w);
	add_svc(&w, "a", 1);
	add_svc(&w, "b", 2);
	/* Oldest claims the path; the newer one gets a warning. */
	add_ing(&w, "first", "{'ingressClassName':'gannet','rules':[{'host':'c.test','http':{'paths':[" PATH("/p", "Prefix", "a") "]}}]}");
	add_ing(&w, "second", "{'ingressClassName':'gannet','rules':[{'host':'c.test','http':{'paths':[" PATH("/p", "Prefix", "b") "," PATH("/q", "Prefix", "b") "]}}]}");
	json_array_append_new(w.ing, J("{'kind':'Ingress','metadata':{'name':'nginxclass','namespace':'default'},"
		"'spec':{'ingressClassName':'nginx','rules':[{'host':'x.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}}"));
	json_array_append_new(w.ing, J("{'kind':'Ingress','metadata':{'name':'annot','namespace':'default',"
		"'annotations':{'kubernetes.io/ingress.class':'gannet'}},"
		"'spec':{'rules':[{'host':'y.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}}"));
	json_array_append_new(w.ing, J("{'kind':'Ingress','metadata':{'name':'noclass','namespace':'default'},"
		"'spec':{'rules':[{'host':'z.test','http':{'paths':[" PATH("/", "Prefix", "a") "]}}]}}"));
	s = (struct ing_snapshot){ w.ing, w.cls, w.svc, w.ep, w.sec };
	CHECK_EQ(ing_render(&s, &o, &r, &err), 0);
	CHECK_STR(route(r.conf, false, "c.test", "/p"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "c.test", "/q"), "up_default_b_80");
	CHECK(has_msg(r.status, "default/second", "warnings", "Prefix path /p already defined by default/first"));
	CHECK(json_object_get(r.status, "default/nginxclass") == NULL);
	CHECK_STR(route(r.conf, false, "x.test", "/"), "404");
	CHECK_STR(route(r.conf, false, "y.test", "/"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "z.test", "/"), "404");
	ing_result_free(&r);
	/* An IngressClass of our controller marked default takes class-less
	 * Ingresses; one naming that class by name is ours too. */
	json_array_append_new(w.cls, J("{'kind':'IngressClass','metadata':{'name':'nginx',"
		"'annotations':{'ingressclass.kubernetes.io/is-default-class':'true'}},"
		"'spec':{'controller':'gannet.io/ingress-nginx'}}"));
	CHECK_EQ(ing_render(&s, &o, &r, &err), 0);
	CHECK_STR(route(r.conf, false, "x.test", "/"), "up_default_a_80");
	CHECK_STR(route(r.conf, false, "z.test", "/"), "up_default_a_80");
	check_nginx(r.conf);
	ing_result_free(&r);
	w_free(&w);
}

/* Same objects in another order → byte-identical config. */
static void test_determinism(void)
{
	struct world w, v;
	struct ing_result r1, r2;
	size_t n;

	w_init(&w);
	w_init(&v);
	add_svc(&w, "a", 1);
	add_svc(&w, "b", 2);
	add_svc(&w, "c", 3);
	json_array_append_new(w.ep, J("{'kind':'Endpoints','metadata':{'name':'m','namespace':'default'},"
		"'subsets':[{'addresses':[{'ip':'10.9.0.3'},{'ip':'10.9.0.1'},{'ip':'10.9.0.2'}],'ports':[{'port':80}]}]}"));
	json_array_append_new(w.svc, J("{'kind':'Service','metadata':{'name':'m','namespace':'default'},"
		"'spec':{'ports':[{'port':80}]}}"));
	add_ing(&w, "i1", "{'rules':[{'host':'z.test','http':{'paths':[" PATH("/b", "Prefix", "b") "," PATH("/a", "Exact", "a") "]}}]}");
	add_ing(&w, "i2", "{'rules':[{'host':'a.test','http':{'paths':[" PATH("/", "Prefix", "m") "]}},"
		"{'host':'*.w.test','http':{'paths':[" PATH("/c", "Prefix", "c") "]}}]}");
	add_ing(&w, "i3", "{'defaultBackend':" BE("c") "}");
	/* v: every array reversed. */
	json_t *src[] = { w.ing, w.cls, w.svc, w.ep, w.sec }, *dst[] = { v.ing, v.cls, v.svc, v.ep, v.sec };
	for (int k = 0; k < 5; k++) {
		n = json_array_size(src[k]);
		for (size_t i = n; i-- > 0; )
			json_array_append(dst[k], json_array_get(src[k], i));
	}
	CHECK_EQ(render(&w, &r1, false), 0);
	CHECK_EQ(render(&v, &r2, false), 0);
	CHECK(r1.conf && r2.conf && !strcmp(r1.conf, r2.conf));
	CHECK(strstr(r1.conf, "server 10.9.0.1:80 max_fails=0;\n\t\tserver 10.9.0.2:80 max_fails=0;\n\t\tserver 10.9.0.3:80") != NULL);
	ing_result_free(&r1);
	ing_result_free(&r2);
	w_free(&w);
	w_free(&v);
}

static void test_snapshot_docs(void)
{
	json_t *docs = J("[{'kind':'IngressList','items':[{'metadata':{'name':'x'},'spec':{}}]},"
			 "{'kind':'Service','metadata':{'name':'s'}},{'kind':'Pod','metadata':{'name':'p'}},"
			 "{'kind':'List','items':[{'kind':'Secret','metadata':{'name':'k'}}]}]");
	json_t *holder = NULL;
	struct ing_snapshot s;
	struct gerr err = { 0 };

	CHECK_EQ(ing_snapshot_from_docs(docs, &holder, &s, &err), 0);
	CHECK_EQ(json_array_size(s.ingresses), 1);
	CHECK_EQ(json_array_size(s.services), 1);
	CHECK_EQ(json_array_size(s.secrets), 1);
	CHECK_EQ(json_array_size(s.endpoints), 0);
	json_decref(holder);
	json_decref(docs);
}

static void test_validate_rejects(void)
{
	struct gerr err = { 0 };
	const char *bad = "events {}\nhttp { server { listen 127.0.0.1:18080; location / { bogus_directive 1; } } }\n";

	if (!have_nginx)
		return;
	CHECK(ngxm_validate(&ngx, bad, strlen(bad), &err) == -EINVAL);
	CHECK(strstr(err.msg, "bogus_directive") != NULL);
}

static void test_nginx_ran(void)
{
	if (!have_nginx) {
		printf("note: nginx not installed, nginx -t checks skipped\n");
		return;
	}
	CHECK(nginx_checked >= 10);
}

static void setup(void)
{
	struct gerr err = { 0 };
	char pfx[300];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gannet-ingress-test.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(pfx, sizeof(pfx), "%s/nginx", tmpdir);
	have_nginx = system("command -v nginx >/dev/null 2>&1") == 0 &&
		     ngxm_init(&ngx, pfx, NULL, &err) == 0;
}

static void teardown(void)
{
	char cmd[400];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cleanup of %s failed\n", tmpdir);
}

static const struct t_case cases[] = {
	T(test_match_helpers), T(test_host_precedence), T(test_path_precedence),
	T(test_default_backend), T(test_tls), T(test_tls_disabled_rotation_prune), T(test_cert_cache),
	T(test_lb_status), T(test_garbage_shapes), T(test_ipv6_and_listen), T(test_named_ports), T(test_missing_service),
	T(test_invalid_input), T(test_legacy), T(test_classes_and_conflicts),
	T(test_determinism), T(test_snapshot_docs), T(test_validate_rejects), T(test_nginx_ran),
};

int main(void)
{
	int rc;

	setup();
	rc = t_run(cases, sizeof(cases) / sizeof(cases[0]));
	teardown();
	return rc;
}
