/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for apiserver/pki.c and apiserver/authn.c, no root needed:
 * PKI bootstrap into a temp dir (files, modes, idempotence, SAN-driven
 * reissue, kubeconfig contents), client certificates (valid, other CA,
 * expired, not yet valid, server cert used as client, garbage), static
 * token files (parsing, errors, reload), ServiceAccount tokens (round trip,
 * expiry, tampering, alg confusion, foreign key). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "apiserver/auth.h"
#include "common/fileutil.h"
#include "tests/unit/test.h"

static char dir[] = "/tmp/gannet-authtest-XXXXXX";
static char d1[300], d2[300];   /* two independent clusters */
static struct authn *A1, *A2;

/* The file's contents (malloc'd) or NULL. */
static char *slurp(const char *path, size_t *len)
{
	char *buf;

	return fu_read_file(path, &buf, len) ? NULL : buf;
}

static mode_t fmode(const char *path)
{
	struct stat st;

	return stat(path, &st) ? (mode_t)-1 : (st.st_mode & 0777);
}

/* DER of the PEM certificate at path; caller frees. */
static unsigned char *cert_der(const char *path, size_t *len)
{
	FILE *f = fopen(path, "re");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int n;

	if (f)
		fclose(f);
	if (!x)
		return NULL;
	n = i2d_X509(x, &der);
	X509_free(x);
	*len = n > 0 ? (size_t)n : 0;
	return der;
}

static bool has_group(const struct auth_user *u, const char *g)
{
	for (int i = 0; i < u->n_groups; i++)
		if (!strcmp(u->groups[i], g))
			return true;
	return false;
}

static void path(char *out, const char *base, const char *rel)
{
	/* all paths here are short; a truncation would be a test bug */
	if ((size_t)snprintf(out, 512, "%.300s/%.100s", base, rel) >= 512)
		abort();
}

/* ---- PKI ---------------------------------------------------------------- */

static void test_setup(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(d1, sizeof(d1), "%s/c1", dir);
	snprintf(d2, sizeof(d2), "%s/c2", dir);
}

static void test_bootstrap_files(void)
{
	static const char *keys[] = { "pki/ca.key", "pki/server.key", "pki/admin.key", "admin.kubeconfig" };
	static const char *crts[] = { "pki/ca.crt", "pki/server.crt", "pki/admin.crt" };
	struct gerr e = { 0 };
	char p[512];

	CHECK_EQ(pki_bootstrap(d1, "https://127.0.0.1:6443", NULL, 0, &e), 0);
	if (e.code)
		fprintf(stderr, "bootstrap: %s\n", e.msg);
	for (size_t i = 0; i < 4; i++) {
		path(p, d1, keys[i]);
		CHECK_EQ(fmode(p), 0600);
	}
	for (size_t i = 0; i < 3; i++) {
		path(p, d1, crts[i]);
		CHECK_EQ(fmode(p), 0644);
	}
	path(p, d1, "pki");
	CHECK_EQ(fmode(p), 0700);
	CHECK_EQ(pki_bootstrap(d2, "https://127.0.0.1:7443", NULL, 0, &e), 0);
}

static void test_cert_contents(void)
{
	char p[512];
	FILE *f;
	X509 *ca, *srv, *adm;
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	char cn[256] = "", o[256] = "";

	path(p, d1, "pki/ca.crt");
	f = fopen(p, "re");
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	path(p, d1, "pki/server.crt");
	f = fopen(p, "re");
	srv = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	path(p, d1, "pki/admin.crt");
	f = fopen(p, "re");
	adm = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	CHECK(ca && srv && adm);
	if (!ca || !srv || !adm)
		goto out;
	CHECK_EQ(X509_check_ca(ca), 1);
	CHECK_EQ(X509_check_ca(srv), 0);
	CHECK_EQ(X509_get_version(srv), 2);
	CHECK_EQ(X509_check_host(srv, "localhost", 0, 0, NULL), 1);
	CHECK_EQ(X509_check_host(srv, "kubernetes.default.svc", 0, 0, NULL), 1);
	CHECK_EQ(X509_check_ip_asc(srv, "127.0.0.1", 0), 1);
	CHECK_EQ(X509_check_ip_asc(srv, "10.96.0.1", 0), 1);
	CHECK(X509_check_host(srv, "evil.example", 0, 0, NULL) != 1);
	CHECK_EQ(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0), 1);
	CHECK(X509_check_purpose(srv, X509_PURPOSE_SSL_CLIENT, 0) != 1);
	CHECK_EQ(X509_check_purpose(adm, X509_PURPOSE_SSL_CLIENT, 0), 1);
	CHECK(X509_get_extension_flags(srv) & EXFLAG_KUSAGE);
	X509_NAME_get_text_by_NID(X509_get_subject_name(adm), NID_commonName, cn, sizeof(cn));
	X509_NAME_get_text_by_NID(X509_get_subject_name(adm), NID_organizationName, o, sizeof(o));
	CHECK_STR(cn, "admin");
	CHECK_STR(o, "system:masters");
	CHECK_EQ(EVP_PKEY_get_id(X509_get0_pubkey(srv)), EVP_PKEY_EC);
	/* chains to the CA with X509_verify_cert */
	X509_STORE_add_cert(st, ca);
	X509_STORE_CTX_init(ctx, st, srv, NULL);
	CHECK_EQ(X509_verify_cert(ctx), 1);
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(ca);
	X509_free(srv);
	X509_free(adm);
}

static void test_bootstrap_idempotent(void)
{
	const char *sans[] = { "node1.example.com", "192.0.2.10" };
	struct gerr e = { 0 };
	char p[512], *ca1, *srv1, *adm1, *ca2, *srv2, *adm2;

	path(p, d1, "pki/ca.crt");
	ca1 = slurp(p, NULL);
	path(p, d1, "pki/server.crt");
	srv1 = slurp(p, NULL);
	path(p, d1, "pki/admin.crt");
	adm1 = slurp(p, NULL);
	CHECK_EQ(pki_bootstrap(d1, "https://127.0.0.1:6443", NULL, 0, &e), 0);
	path(p, d1, "pki/ca.crt");
	ca2 = slurp(p, NULL);
	path(p, d1, "pki/server.crt");
	srv2 = slurp(p, NULL);
	CHECK_STR(ca1, ca2);
	CHECK_STR(srv1, srv2);
	free(ca2);
	free(srv2);
	/* New SANs: the serving cert is reissued, CA and admin kept. */
	CHECK_EQ(pki_bootstrap(d1, "https://127.0.0.1:6443", sans, 2, &e), 0);
	path(p, d1, "pki/ca.crt");
	ca2 = slurp(p, NULL);
	path(p, d1, "pki/server.crt");
	srv2 = slurp(p, NULL);
	path(p, d1, "pki/admin.crt");
	adm2 = slurp(p, NULL);
	CHECK_STR(ca1, ca2);
	CHECK_STR(adm1, adm2);
	CHECK(strcmp(srv1, srv2) != 0);
	{
		BIO *b = BIO_new_mem_buf(srv2, -1);
		X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

		CHECK(x != NULL);
		CHECK_EQ(X509_check_host(x, "node1.example.com", 0, 0, NULL), 1);
		CHECK_EQ(X509_check_ip_asc(x, "192.0.2.10", 0), 1);
		CHECK_EQ(X509_check_host(x, "localhost", 0, 0, NULL), 1);
		X509_free(x);
		BIO_free(b);
	}
	free(srv1);
	free(srv2);
	free(adm2);
	/* ...and kept on the next run with the same SANs */
	path(p, d1, "pki/server.crt");
	srv1 = slurp(p, NULL);
	CHECK_EQ(pki_bootstrap(d1, "https://127.0.0.1:6443", sans, 2, &e), 0);
	srv2 = slurp(p, NULL);
	CHECK_STR(srv1, srv2);
	free(srv1);
	free(srv2);
	/* bad SAN (would inject into the extension string) */
	{
		const char *bad[] = { "a,IP:1.2.3.4" };
		struct gerr e2 = { 0 };

		CHECK_EQ(pki_bootstrap(d1, "https://127.0.0.1:6443", bad, 1, &e2), -EINVAL);
	}
	/* half a CA is refused, not silently replaced */
	{
		char half[512], key[512];
		struct gerr e3 = { 0 };

		snprintf(half, sizeof(half), "%s/half", dir);
		CHECK_EQ(pki_bootstrap(half, "https://x:1", NULL, 0, &e3), 0);
		path(key, half, "pki/ca.key");
		unlink(key);
		CHECK(pki_bootstrap(half, "https://x:1", NULL, 0, &e3) < 0);
		CHECK_EQ(access(key, F_OK), -1);
	}
	free(ca1);
	free(ca2);
	free(adm1);
}

/* Find "key: value" in the kubeconfig and base64-decode value. */
static unsigned char *kcfg_field(const char *text, const char *key, int *len)
{
	char pat[128];
	const char *p, *e;
	unsigned char *out;
	size_t n;

	snprintf(pat, sizeof(pat), "%s: ", key);
	p = strstr(text, pat);
	if (!p)
		return NULL;
	p += strlen(pat);
	e = strchr(p, '\n');
	n = e ? (size_t)(e - p) : strlen(p);
	out = malloc(n + 1);
	*len = EVP_DecodeBlock(out, (const unsigned char *)p, (int)n);
	while (n && p[n - 1] == '=') {
		n--;
		(*len)--;
	}
	return out;
}

static void test_kubeconfig(void)
{
	char p[512], *text, *ca, *crt, *key;
	unsigned char *v;
	size_t cal, crtl, keyl;
	int n;

	path(p, d1, "admin.kubeconfig");
	text = slurp(p, NULL);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK(strstr(text, "kind: Config") != NULL);
	CHECK(strstr(text, "server: https://127.0.0.1:6443") != NULL);
	CHECK(strstr(text, "current-context: admin@gannet") != NULL);
	path(p, d1, "pki/ca.crt");
	ca = slurp(p, &cal);
	path(p, d1, "pki/admin.crt");
	crt = slurp(p, &crtl);
	path(p, d1, "pki/admin.key");
	key = slurp(p, &keyl);
	v = kcfg_field(text, "certificate-authority-data", &n);
	CHECK(v && n == (int)cal && !memcmp(v, ca, cal));
	free(v);
	v = kcfg_field(text, "client-certificate-data", &n);
	CHECK(v && n == (int)crtl && !memcmp(v, crt, crtl));
	free(v);
	v = kcfg_field(text, "client-key-data", &n);
	CHECK(v && n == (int)keyl && !memcmp(v, key, keyl));
	free(v);
	free(text);

	/* token kubeconfig */
	{
		struct gerr e = { 0 };
		char out[512], cap[512];

		path(out, dir, "tok.kubeconfig");
		path(cap, d1, "pki/ca.crt");
		CHECK_EQ(pki_write_kubeconfig(out, "https://10.0.0.1:6443", cap, NULL, NULL,
					      "abc.def", "bot", &e), 0);
		text = slurp(out, NULL);
		CHECK(text && strstr(text, "token: abc.def") && !strstr(text, "client-key-data"));
		CHECK(text && strstr(text, "current-context: bot@gannet"));
		CHECK_EQ(fmode(out), 0600);
		free(text);
		CHECK(pki_write_kubeconfig(out, "https://x", cap, NULL, NULL, NULL, "bot", &e) < 0);
	}
	/* a new server URL is reflected on the next bootstrap, credentials kept */
	{
		struct gerr e = { 0 };
		char *again;

		CHECK_EQ(pki_bootstrap(d1, "https://192.0.2.1:7443", NULL, 0, &e), 0);
		path(p, d1, "admin.kubeconfig");
		text = slurp(p, NULL);
		CHECK(text && strstr(text, "server: https://192.0.2.1:7443"));
		free(text);
		path(p, d1, "pki/admin.crt");
		again = slurp(p, NULL);
		CHECK_STR(again, crt);
		free(again);
		CHECK_EQ(pki_bootstrap(d1, "https://127.0.0.1:6443", NULL, 0, &e), 0);
	}
	free(ca);
	free(crt);
	free(key);
}

/* ---- client certificates ---------------------------------------------- */

static void test_open(void)
{
	struct gerr e = { 0 };
	char bogus[512];

	CHECK_EQ(authn_open(d1, NULL, &A1, &e), 0);
	CHECK_EQ(authn_open(d2, NULL, &A2, &e), 0);
	path(bogus, dir, "nothing-here");
	{
		struct authn *a = (struct authn *)1;
		struct gerr e2 = { 0 };

		CHECK(authn_open(bogus, NULL, &a, &e2) < 0);
		CHECK(a == NULL);
	}
	path(bogus, d1, "pki/sa.key");
	CHECK_EQ(fmode(bogus), 0600);
}

static void test_cert_admin(void)
{
	struct auth_user u;
	char p[512];
	unsigned char *der;
	size_t len;

	path(p, d1, "pki/admin.crt");
	der = cert_der(p, &len);
	CHECK(der != NULL);
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), 0);
	CHECK_STR(u.name, "admin");
	CHECK(has_group(&u, "system:masters"));
	CHECK(has_group(&u, "system:authenticated"));
	CHECK_EQ(u.n_groups, 2);
	/* from the other cluster's CA: rejected */
	CHECK_EQ(authn_authenticate(A2, der, len, NULL, &u), -EACCES);
	/* truncated / trailing garbage */
	CHECK_EQ(authn_authenticate(A1, der, len - 10, NULL, &u), -EACCES);
	{
		unsigned char *x = malloc(len + 1);

		memcpy(x, der, len);
		x[len] = 0;
		CHECK_EQ(authn_authenticate(A1, x, len + 1, NULL, &u), -EACCES);
		/* flip a byte inside the signature */
		x[len - 5] ^= 0x55;
		CHECK_EQ(authn_authenticate(A1, x, len, NULL, &u), -EACCES);
		free(x);
	}
	OPENSSL_free(der);
	/* garbage and nothing at all: anonymous is refused */
	CHECK_EQ(authn_authenticate(A1, (const unsigned char *)"garbage", 7, NULL, &u), -EACCES);
	CHECK_EQ(authn_authenticate(A1, NULL, 0, NULL, &u), -EACCES);
	CHECK_EQ(authn_authenticate(A1, NULL, 0, "", &u), -EACCES);
}

static void test_cert_server_as_client(void)
{
	struct auth_user u;
	char p[512];
	unsigned char *der;
	size_t len;

	path(p, d1, "pki/server.crt");
	der = cert_der(p, &len);
	CHECK(der != NULL);
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), -EACCES);
	OPENSSL_free(der);
	/* the CA cert itself is no user either (no clientAuth leaf) */
	path(p, d1, "pki/ca.crt");
	der = cert_der(p, &len);
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), -EACCES);
	OPENSSL_free(der);
}

static void test_cert_issued_and_node(void)
{
	struct gerr e = { 0 };
	struct auth_user u;
	char crt[512], key[512], kc[512], *text;
	unsigned char *der;
	size_t len;

	path(crt, dir, "dev.crt");
	path(key, dir, "dev.key");
	CHECK_EQ(pki_issue_client(d1, "jane", "devs,qa", crt, key, &e), 0);
	CHECK_EQ(fmode(key), 0600);
	der = cert_der(crt, &len);
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), 0);
	CHECK_STR(u.name, "jane");
	CHECK(has_group(&u, "devs") && has_group(&u, "qa") && has_group(&u, "system:authenticated"));
	CHECK_EQ(u.n_groups, 3);
	OPENSSL_free(der);

	path(kc, dir, "n1.kubeconfig");
	CHECK_EQ(pki_node_kubeconfig(d1, "https://127.0.0.1:6443", "n1", kc, &e), 0);
	path(crt, d1, "pki/nodes/n1.crt");
	der = cert_der(crt, &len);
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), 0);
	CHECK_STR(u.name, "system:node:n1");
	CHECK(has_group(&u, "system:nodes"));
	OPENSSL_free(der);
	text = slurp(kc, NULL);
	CHECK(text && strstr(text, "name: system:node:n1"));
	free(text);
	/* node names cannot escape the nodes dir */
	{
		struct gerr e2 = { 0 };

		CHECK_EQ(pki_node_kubeconfig(d1, "https://x", "../evil", kc, &e2), -EINVAL);
	}
}

/* A certificate signed by the right CA but outside its validity window. */
static unsigned char *make_cert_window(const char *data_dir, long from, long to, size_t *len)
{
	char p[512];
	FILE *f;
	X509 *ca, *x = X509_new();
	EVP_PKEY *cak, *k = EVP_EC_gen("P-256");
	unsigned char *der = NULL;
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int n;

	path(p, data_dir, "pki/ca.crt");
	f = fopen(p, "re");
	ca = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	path(p, data_dir, "pki/ca.key");
	f = fopen(p, "re");
	cak = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 4242);
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
				   (const unsigned char *)"late", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, "clientAuth");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, cak, EVP_sha256());
	n = i2d_X509(x, &der);
	*len = n > 0 ? (size_t)n : 0;
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(cak);
	EVP_PKEY_free(k);
	return der;
}

static void test_cert_validity(void)
{
	struct auth_user u;
	unsigned char *der;
	size_t len;

	der = make_cert_window(d1, -7200, -3600, &len);   /* expired an hour ago */
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), -EACCES);
	OPENSSL_free(der);
	der = make_cert_window(d1, 3600, 7200, &len);     /* valid from in an hour */
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), -EACCES);
	OPENSSL_free(der);
	der = make_cert_window(d1, -60, 3600, &len);      /* control: valid now */
	CHECK_EQ(authn_authenticate(A1, der, len, NULL, &u), 0);
	CHECK_STR(u.name, "late");
	OPENSSL_free(der);
}

/* ---- static tokens ---------------------------------------------------- */

static void write_file(const char *p, const char *text)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

static void test_token_file(void)
{
	struct gerr e = { 0 };
	struct authn *a = NULL;
	struct auth_user u;
	char tf[512], *tok = NULL;

	path(tf, dir, "tokens.csv");
	write_file(tf,
		   "# static tokens\n"
		   "\n"
		   "node-token-0123456789,system:node:n1,uid-n1,system:nodes\n"
		   "  ci-token-abcdefgh , ci-bot , 42 , \"deployers,auditors\"\n"
		   "multi-token-zzzzzzzz,multi,,g1|g2|g3\r\n"
		   "bare-token-12345678,bare\n");
	CHECK_EQ(authn_open(d1, tf, &a, &e), 0);
	if (e.code)
		fprintf(stderr, "%s\n", e.msg);
	CHECK_EQ(authn_authenticate(a, NULL, 0, "node-token-0123456789", &u), 0);
	CHECK_STR(u.name, "system:node:n1");
	CHECK_STR(u.uid, "uid-n1");
	CHECK(has_group(&u, "system:nodes") && has_group(&u, "system:authenticated"));
	CHECK_EQ(authn_authenticate(a, NULL, 0, "ci-token-abcdefgh", &u), 0);
	CHECK_STR(u.name, "ci-bot");
	CHECK_STR(u.uid, "42");
	CHECK(has_group(&u, "deployers") && has_group(&u, "auditors"));
	CHECK_EQ(authn_authenticate(a, NULL, 0, "multi-token-zzzzzzzz", &u), 0);
	CHECK(has_group(&u, "g1") && has_group(&u, "g2") && has_group(&u, "g3"));
	CHECK_EQ(u.n_groups, 4);
	CHECK_EQ(authn_authenticate(a, NULL, 0, "bare-token-12345678", &u), 0);
	CHECK_EQ(u.n_groups, 1);
	/* near misses */
	CHECK_EQ(authn_authenticate(a, NULL, 0, "node-token-012345678", &u), -EACCES);
	CHECK_EQ(authn_authenticate(a, NULL, 0, "node-token-012345678X", &u), -EACCES);
	CHECK_EQ(authn_authenticate(a, NULL, 0, "NODE-TOKEN-0123456789", &u), -EACCES);
	CHECK_EQ(authn_authenticate(a, NULL, 0, "# static tokens", &u), -EACCES);
	/* an invalid client cert does not spoil a valid token */
	CHECK_EQ(authn_authenticate(a, (const unsigned char *)"junk", 4, "bare-token-12345678", &u), 0);
	CHECK_STR(u.name, "bare");

	/* appended at runtime: picked up without reopening */
	CHECK_EQ(authn_token_file_add(tf, "system:node:n2", "uid-n2", "system:nodes", &tok, &e), 0);
	CHECK(tok && strlen(tok) == 64);
	CHECK_EQ(authn_authenticate(a, NULL, 0, tok, &u), 0);
	CHECK_STR(u.name, "system:node:n2");
	CHECK(has_group(&u, "system:nodes"));
	CHECK_EQ(authn_authenticate(a, NULL, 0, "bare-token-12345678", &u), 0);
	{
		struct gerr e2 = { 0 };
		char *t2 = NULL;

		CHECK_EQ(authn_token_file_add(tf, "evil,user", NULL, NULL, &t2, &e2), -EINVAL);
		CHECK(t2 == NULL);
	}
	/* a broken rewrite keeps the last good table (hits look at the file
	 * once a second: wait for the re-check to be sure it happened) */
	write_file(tf, "short,x\n");
	CHECK_EQ(authn_authenticate(a, NULL, 0, tok, &u), 0);
	usleep(1100 * 1000);
	CHECK_EQ(authn_authenticate(a, NULL, 0, tok, &u), 0);
	/* rotation: a valid rewrite without the token revokes it within a
	 * second; the new token works at once (unknown tokens force a check) */
	write_file(tf, "rotated-token-12345678,rotated\n");
	CHECK_EQ(authn_authenticate(a, NULL, 0, "rotated-token-12345678", &u), 0);
	CHECK_STR(u.name, "rotated");
	usleep(1100 * 1000);
	CHECK_EQ(authn_authenticate(a, NULL, 0, tok, &u), -EACCES);
	CHECK_EQ(authn_authenticate(a, NULL, 0, "bare-token-12345678", &u), -EACCES);
	free(tok);
	authn_close(a);

	/* errors at open name the line */
	{
		static const char *bad[] = {
			"good-token-123456,u\nonly-one-field\n",
			"tok\"en-1234567,u\n\"unterminated,u\n",
			"short,u\n",
			"good-token-123456,,uid\n",
			"same-token-123456,u1\nsame-token-123456,u2\n",
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct gerr e3 = { 0 };

			write_file(tf, bad[i]);
			a = (struct authn *)1;
			CHECK(authn_open(d1, tf, &a, &e3) < 0);
			CHECK(a == NULL);
			CHECK(strstr(e3.msg, "tokens.csv:") != NULL);
			if (!strstr(e3.msg, "tokens.csv:"))
				fprintf(stderr, "message: %s\n", e3.msg);
		}
	}
}

/* ---- ServiceAccount tokens ------------------------------------------- */

static char *b64url(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	int m = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);

	while (m > 0 && out[m - 1] == '=')
		m--;
	out[m] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

static void test_sa_tokens(void)
{
	struct auth_user u;
	char *t = authn_sa_token(A1, "kube-system", "builder"), *t2;

	CHECK(t != NULL);
	if (!t)
		return;
	CHECK_EQ(authn_authenticate(A1, NULL, 0, t, &u), 0);
	CHECK_STR(u.name, "system:serviceaccount:kube-system:builder");
	CHECK(has_group(&u, "system:serviceaccounts"));
	CHECK(has_group(&u, "system:serviceaccounts:kube-system"));
	CHECK(has_group(&u, "system:authenticated"));
	CHECK_EQ(u.n_groups, 3);
	/* the other cluster's key does not accept it */
	CHECK_EQ(authn_authenticate(A2, NULL, 0, t, &u), -EACCES);

	/* tamper: swap the payload for one naming another account, keep sig */
	{
		char *d1p = strchr(t, '.'), *d2p = strchr(d1p + 1, '.');
		char *pl = b64url("{\"exp\":9999999999,\"iss\":\"gannet\","
				  "\"sub\":\"system:serviceaccount:kube-system:admin\"}");
		char forged[4096];

		snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(d1p - t), t, pl, d2p);
		CHECK_EQ(authn_authenticate(A1, NULL, 0, forged, &u), -EACCES);
		/* alg=none with empty signature */
		{
			char *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");

			snprintf(forged, sizeof(forged), "%s.%s.", h, pl);
			CHECK_EQ(authn_authenticate(A1, NULL, 0, forged, &u), -EACCES);
			free(h);
		}
		free(pl);
		/* flip a signature character */
		snprintf(forged, sizeof(forged), "%s", t);
		forged[strlen(forged) - 2] = forged[strlen(forged) - 2] == 'A' ? 'B' : 'A';
		CHECK_EQ(authn_authenticate(A1, NULL, 0, forged, &u), -EACCES);
		/* extra segment, missing segment */
		snprintf(forged, sizeof(forged), "%s.x", t);
		CHECK_EQ(authn_authenticate(A1, NULL, 0, forged, &u), -EACCES);
		snprintf(forged, sizeof(forged), "%.*s", (int)(d2p - t), t);
		CHECK_EQ(authn_authenticate(A1, NULL, 0, forged, &u), -EACCES);
	}
	free(t);

	/* expired */
	t2 = authn_sa_token_ttl(A1, "default", "old", -10);
	CHECK(t2 != NULL);
	CHECK_EQ(authn_authenticate(A1, NULL, 0, t2, &u), -EACCES);
	free(t2);
	t2 = authn_sa_token_ttl(A1, "default", "fresh", 60);
	CHECK_EQ(authn_authenticate(A1, NULL, 0, t2, &u), 0);
	free(t2);
	/* invalid names are not minted */
	CHECK(authn_sa_token(A1, "Bad_NS", "x") == NULL);
	CHECK(authn_sa_token(A1, "ns", "a:b") == NULL);
	/* a reopened authn (same sa.key) still accepts tokens */
	{
		struct authn *a = NULL;
		struct gerr e = { 0 };

		t2 = authn_sa_token(A1, "default", "persist");
		CHECK_EQ(authn_open(d1, NULL, &a, &e), 0);
		CHECK_EQ(authn_authenticate(a, NULL, 0, t2, &u), 0);
		authn_close(a);
		free(t2);
	}
}

/* Several threads authenticate with a certificate (cached after the first
 * verification), a static token and an SA token while the token file is
 * appended to: every answer must stay right. */
struct thr_arg {
	struct authn *a;
	unsigned char *der;
	size_t len;
	const char *sa;
	long bad;
};

static void *auth_thread(void *p)
{
	struct thr_arg *t = p;
	struct auth_user u;

	for (int i = 0; i < 3000; i++) {
		if (authn_authenticate(t->a, t->der, t->len, NULL, &u) || strcmp(u.name, "admin"))
			t->bad++;
		if (authn_authenticate(t->a, NULL, 0, "stable-token-123456", &u) || strcmp(u.name, "stable"))
			t->bad++;
		if (authn_authenticate(t->a, NULL, 0, t->sa, &u) ||
		    strcmp(u.name, "system:serviceaccount:default:t"))
			t->bad++;
		if (!authn_authenticate(t->a, NULL, 0, "wrong-token-123456", &u))
			t->bad++;
	}
	return NULL;
}

static void test_concurrent_authn(void)
{
	struct gerr e = { 0 };
	struct thr_arg args[3];
	pthread_t th[3];
	char tf[512], p[512], *tok;
	struct authn *a = NULL;
	unsigned char *der;
	size_t len;
	char *sa;

	path(tf, dir, "tokens2.csv");
	write_file(tf, "stable-token-123456,stable\n");
	CHECK_EQ(authn_open(d1, tf, &a, &e), 0);
	if (!a)
		return;
	path(p, d1, "pki/admin.crt");
	der = cert_der(p, &len);
	sa = authn_sa_token(a, "default", "t");
	for (int i = 0; i < 3; i++) {
		args[i] = (struct thr_arg){ a, der, len, sa, 0 };
		pthread_create(&th[i], NULL, auth_thread, &args[i]);
	}
	for (int i = 0; i < 20; i++) {
		struct gerr e2 = { 0 };

		CHECK_EQ(authn_token_file_add(tf, "added", NULL, NULL, &tok, &e2), 0);
		free(tok);
		usleep(1000);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(args[i].bad, 0);
	}
	free(sa);
	OPENSSL_free(der);
	authn_close(a);
}

static void test_cleanup(void)
{
	char cmd[400];

	authn_close(A1);
	authn_close(A2);
	authn_close(NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK_EQ(system(cmd), 0);
}

TEST_MAIN(T(test_setup), T(test_bootstrap_files), T(test_cert_contents),
	  T(test_bootstrap_idempotent), T(test_kubeconfig), T(test_open), T(test_cert_admin),
	  T(test_cert_server_as_client), T(test_cert_issued_and_node), T(test_cert_validity),
	  T(test_token_file), T(test_sa_tokens), T(test_concurrent_authn), T(test_cleanup))
