/* SPDX-License-Identifier: Apache-2.0 */
/* PKI bootstrap for the API server: a self-signed CA, the serving
 * certificate, client certificates (admin, nodes) and kubeconfig files that
 * embed them. EC P-256 keys and X509v3 certificates through OpenSSL 3's EVP
 * API; kubeconfig files built as JSON and emitted as YAML (common/yamljson).
 *
 * Layout under <data_dir>/pki/: ca.crt ca.key server.crt server.key
 * admin.crt admin.key nodes/<node>.crt nodes/<node>.key; private keys are
 * mode 0600, certificates 0644. Files are written to a temporary name and
 * renamed so a crash never leaves half a key behind. */
#include "apiserver/auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/fileutil.h"
#include "common/yamljson.h"

#define PKI_CA_DAYS    3650
#define PKI_LEAF_DAYS  365
/* Leaf certificates closer than this to expiry are reissued at bootstrap. */
#define PKI_RENEW_SECS (30L * 86400)

enum pki_kind { PKI_CA, PKI_SERVER, PKI_CLIENT };

/* ---- small helpers ---------------------------------------------------- */

static int pki_ossl_err(struct gerr *err, int code, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return gerr_set(err, code, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static bool pki_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* snprintf into a PATH_MAX buffer; callers bound their inputs first
 * (PKI_MAX_DIR), so truncation cannot happen, and the indirection keeps
 * -Wformat-truncation from guessing otherwise. */
#define PKI_MAX_DIR (PATH_MAX - 512)
__attribute__((format(printf, 2, 3)))
static void pki_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, PATH_MAX, fmt, ap);
	va_end(ap);
}

static int pki_mkdir(const char *path, struct gerr *err)
{
	if (mkdir(path, 0700) && errno != EEXIST)
		return gerr_set(err, -errno, "mkdir %s: %s", path, strerror(errno));
	return 0;
}

/* Write data to path atomically (temp file + fsync + rename) with mode. */
static int pki_write_file(const char *path, const void *data, size_t len,
			  mode_t mode, struct gerr *err)
{
	int ret = fu_write_atomic(path, data, len, mode, FU_FSYNC);

	return ret ? gerr_set(err, ret, "write %s: %s", path, strerror(-ret)) : 0;
}

static int pki_write_bio(const char *path, BIO *b, mode_t mode, struct gerr *err)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	return pki_write_file(path, data, (size_t)len, mode, err);
}

static int pki_save_key(const char *path, EVP_PKEY *key, struct gerr *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ret;

	if (!b || !PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		ret = pki_ossl_err(err, -ENOMEM, "encode private key");
	else
		ret = pki_write_bio(path, b, 0600, err);
	BIO_free(b);
	return ret;
}

static int pki_save_cert(const char *path, X509 *x, struct gerr *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ret;

	if (!b || !PEM_write_bio_X509(b, x))
		ret = pki_ossl_err(err, -ENOMEM, "encode certificate");
	else
		ret = pki_write_bio(path, b, 0644, err);
	BIO_free(b);
	return ret;
}

static X509 *pki_load_cert(const char *path, struct gerr *err)
{
	FILE *f = fopen(path, "re");
	X509 *x;

	if (!f) {
		gerr_set(err, -errno, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (!x)
		pki_ossl_err(err, -EINVAL, path);
	return x;
}

static EVP_PKEY *pki_load_key(const char *path, struct gerr *err)
{
	FILE *f = fopen(path, "re");
	EVP_PKEY *k;

	if (!f) {
		gerr_set(err, -errno, "open %s: %s", path, strerror(errno));
		return NULL;
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k)
		pki_ossl_err(err, -EINVAL, path);
	return k;
}

static int pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
		       struct gerr *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext)
		return pki_ossl_err(err, -EINVAL, value);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : pki_ossl_err(err, -ENOMEM, "add extension");
}

/* ---- certificate issuing ---------------------------------------------- */

/* Build and sign a certificate for key. orgs: comma-separated O values (or
 * NULL); san: an OpenSSL subjectAltName value (servers only). A NULL issuer
 * makes a self-signed CA. */
static X509 *pki_make_cert(EVP_PKEY *key, const char *cn, const char *orgs,
			   enum pki_kind kind, const char *san, long days,
			   X509 *issuer, EVP_PKEY *issuer_key, struct gerr *err)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX ctx;
	BIGNUM *serial = BN_new();
	char orgbuf[1024];

	if (!x || !serial) {
		gerr_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	/* 127 random bits: positive, unique with overwhelming probability. */
	if (!X509_set_version(x, 2) || !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x))) {
		pki_ossl_err(err, -EIO, "serial number");
		goto fail;
	}
	/* Back-date an hour to tolerate clock skew between nodes. */
	if (!X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), days * 86400L) ||
	    !X509_set_pubkey(x, key)) {
		pki_ossl_err(err, -EIO, "certificate fields");
		goto fail;
	}
	name = X509_get_subject_name(x);
	if (orgs && *orgs) {
		char *save = NULL, *o;

		snprintf(orgbuf, sizeof(orgbuf), "%s", orgs);
		for (o = strtok_r(orgbuf, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
							(const unsigned char *)o, -1, -1, 0)) {
				pki_ossl_err(err, -EINVAL, "subject O");
				goto fail;
			}
		}
	}
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0)) {
		pki_ossl_err(err, -EINVAL, "subject CN");
		goto fail;
	}
	if (!X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name)) {
		pki_ossl_err(err, -EINVAL, "issuer name");
		goto fail;
	}

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	switch (kind) {
	case PKI_CA:
		if (pki_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE", err) ||
		    pki_add_ext(x, &ctx, NID_key_usage,
				"critical,digitalSignature,keyCertSign,cRLSign", err))
			goto fail;
		break;
	case PKI_SERVER:
	case PKI_CLIENT:
		if (pki_add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", err) ||
		    pki_add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature", err) ||
		    pki_add_ext(x, &ctx, NID_ext_key_usage,
				kind == PKI_SERVER ? "serverAuth" : "clientAuth", err))
			goto fail;
		if (san && pki_add_ext(x, &ctx, NID_subject_alt_name, san, err))
			goto fail;
		break;
	}
	/* The subject key id must exist before the authority key id of a
	 * self-signed certificate can refer to it. */
	if (pki_add_ext(x, &ctx, NID_subject_key_identifier, "hash", err) ||
	    pki_add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always", err))
		goto fail;

	if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
		pki_ossl_err(err, -EIO, "sign certificate");
		goto fail;
	}
	BN_free(serial);
	return x;
fail:
	BN_free(serial);
	X509_free(x);
	return NULL;
}

/* Generate a key, issue a certificate signed by the CA and save both. */
static int pki_issue(const char *crt_path, const char *key_path, const char *cn,
		     const char *orgs, enum pki_kind kind, const char *san,
		     X509 *ca, EVP_PKEY *ca_key, struct gerr *err)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = NULL;
	int ret;

	if (!key)
		return pki_ossl_err(err, -EIO, "generate EC key");
	x = pki_make_cert(key, cn, orgs, kind, san, kind == PKI_CA ? PKI_CA_DAYS : PKI_LEAF_DAYS,
			  ca, ca_key, err);
	if (!x) {
		ret = err ? err->code : -EIO;
		goto out;
	}
	/* Key first: a certificate without its key is useless, the reverse
	 * is detected and repaired at the next bootstrap. */
	ret = pki_save_key(key_path, key, err);
	if (!ret)
		ret = pki_save_cert(crt_path, x, err);
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

/* True when crt/key exist, match, are signed by ca, are not about to expire
 * and (servers) cover every name in sans. Anything else means reissue. */
static bool pki_leaf_ok(const char *crt_path, const char *key_path, X509 *ca,
			const char *const *sans, size_t n_sans)
{
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	EVP_PKEY *ca_pub = X509_get0_pubkey(ca);
	time_t soon = time(NULL) + PKI_RENEW_SECS;
	bool ok = false;

	if (!pki_exists(crt_path) || !pki_exists(key_path))
		return false;
	x = pki_load_cert(crt_path, NULL);
	key = pki_load_key(key_path, NULL);
	if (!x || !key || !ca_pub)
		goto out;
	if (X509_verify(x, ca_pub) != 1 || X509_check_private_key(x, key) != 1)
		goto out;
	if (X509_cmp_time(X509_get0_notAfter(x), &soon) <= 0)
		goto out;
	for (size_t i = 0; i < n_sans; i++) {
		unsigned char ip[16];
		int r;

		if (inet_pton(AF_INET, sans[i], ip) == 1 || inet_pton(AF_INET6, sans[i], ip) == 1)
			r = X509_check_ip_asc(x, sans[i], 0);
		else
			r = X509_check_host(x, sans[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL);
		if (r != 1)
			goto out;
	}
	ok = true;
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

/* Load the CA; both files must exist. */
static int pki_load_ca(const char *data_dir, X509 **ca, EVP_PKEY **ca_key,
		       struct gerr *err)
{
	char crt[PATH_MAX], key[PATH_MAX];

	pki_fmt(crt, "%s/pki/ca.crt", data_dir);
	pki_fmt(key, "%s/pki/ca.key", data_dir);
	*ca = pki_load_cert(crt, err);
	if (!*ca)
		return err ? err->code : -EINVAL;
	*ca_key = pki_load_key(key, err);
	if (!*ca_key) {
		X509_free(*ca);
		*ca = NULL;
		return err ? err->code : -EINVAL;
	}
	if (X509_check_private_key(*ca, *ca_key) != 1) {
		X509_free(*ca);
		EVP_PKEY_free(*ca_key);
		*ca = NULL;
		*ca_key = NULL;
		return pki_ossl_err(err, -EINVAL, "ca.key does not match ca.crt");
	}
	return 0;
}

/* Names only from a safe alphabet: they end up in OpenSSL config strings
 * (where ',' separates entries) and in file names. */
static bool pki_name_ok(const char *s, const char *extra)
{
	if (!s || !*s || strlen(s) > 253)
		return false;
	for (const char *p = s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')
			continue;
		if (extra && strchr(extra, *p))
			continue;
		return false;
	}
	return true;
}

/* ---- kubeconfig ------------------------------------------------------- */

/* Read a whole file and return its base64 (OpenSSL's encoder). */
static char *pki_file_b64(const char *path, struct gerr *err)
{
	char *raw = NULL, *out;
	size_t len;
	int ret = fu_read_file_max(path, 1 << 20, &raw, &len);

	if (ret) {
		gerr_set(err, ret, "read %s: %s", path, strerror(-ret));
		return NULL;
	}
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out)
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)raw, (int)len);
	else
		gerr_set(err, -ENOMEM, "out of memory");
	OPENSSL_cleanse(raw, len);   /* may be a private key */
	free(raw);
	return out;
}

/* Wipes a string owned by jansson (a key in a document about to go). */
static void pki_json_cleanse(json_t *s)
{
	if (json_is_string(s))
		OPENSSL_cleanse((char *)json_string_value(s), json_string_length(s));
}

int pki_write_kubeconfig(const char *path, const char *server_url,
			 const char *ca_crt, const char *client_crt,
			 const char *client_key, const char *token,
			 const char *user_name, struct gerr *err)
{
	struct gerr local_err = { 0 };
	char *ca64 = NULL, *crt64 = NULL, *key64 = NULL, *yaml = NULL, ctxname[512];
	const char *cluster = "gannet";
	json_t *user = NULL, *doc = NULL;
	size_t len = 0;
	int ret;

	/* Internal helpers report through err; give them one even when the
	 * caller did not. */
	if (!err)
		err = &local_err;

	if (!path || !server_url || !ca_crt || !user_name ||
	    (!token && (!client_crt || !client_key)))
		return gerr_set(err, -EINVAL, "kubeconfig: missing server, CA or credentials");
	ca64 = pki_file_b64(ca_crt, err);
	if (!ca64)
		goto out_err;
	if (!token) {
		crt64 = pki_file_b64(client_crt, err);
		key64 = pki_file_b64(client_key, err);
		if (!crt64 || !key64)
			goto out_err;
	}
	snprintf(ctxname, sizeof(ctxname), "%s@%s", user_name, cluster);
	if (token)
		user = json_pack("{s:s}", "token", token);
	else
		user = json_pack("{s:s, s:s}", "client-certificate-data", crt64,
				 "client-key-data", key64);
	if (user)
		doc = json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:{s:s, s:s}}],"
				" s:s, s:[{s:s, s:O}]}",
				"apiVersion", "v1", "kind", "Config",
				"clusters", "name", cluster, "cluster", "server", server_url,
				"certificate-authority-data", ca64,
				"contexts", "name", ctxname, "context", "cluster", cluster,
				"user", user_name,
				"current-context", ctxname,
				"users", "name", user_name, "user", user);
	if (!doc) {
		ret = gerr_set(err, -ENOMEM, "kubeconfig: out of memory");
		goto out;
	}
	ret = yj_emit(doc, &yaml, &len, err);
	if (ret) {
		gerr_wrap(err, "kubeconfig");
		goto out;
	}
	/* It holds a private key or a token: owner-only. */
	ret = pki_write_file(path, yaml, len, 0600, err);
	goto out;

out_err:
	ret = err->code ? err->code : -EIO;
out:
	pki_json_cleanse(json_object_get(user, "client-key-data"));
	pki_json_cleanse(json_object_get(user, "token"));
	json_decref(user);
	json_decref(doc);
	if (yaml)
		OPENSSL_cleanse(yaml, len);
	if (key64)
		OPENSSL_cleanse(key64, strlen(key64));
	free(yaml);
	free(ca64);
	free(crt64);
	free(key64);
	return ret;
}

/* ---- public API ------------------------------------------------------- */

int pki_bootstrap(const char *data_dir, const char *server_url,
		  const char *const *extra_sans, size_t n_sans, struct gerr *err)
{
	struct gerr local_err = { 0 };
	char dir[PATH_MAX], ca_crt[PATH_MAX], ca_key[PATH_MAX], crt[PATH_MAX],
	     key[PATH_MAX], kcfg[PATH_MAX], san[4096];
	const char *std_sans[] = { "localhost", "127.0.0.1" };
	X509 *ca = NULL;
	EVP_PKEY *cakey = NULL;
	bool admin_new = false;
	size_t off;
	int ret;

	/* Internal helpers report through err; give them one even when the
	 * caller did not. */
	if (!err)
		err = &local_err;

	if (!data_dir || !server_url)
		return gerr_set(err, -EINVAL, "pki: data_dir and server_url are required");
	if (strlen(data_dir) > PKI_MAX_DIR)
		return gerr_set(err, -ENAMETOOLONG, "pki: data_dir too long");
	if ((ret = pki_mkdir(data_dir, err)))
		return ret;
	pki_fmt(dir, "%s/pki", data_dir);
	if ((ret = pki_mkdir(dir, err)))
		return ret;
	pki_fmt(ca_crt, "%s/ca.crt", dir);
	pki_fmt(ca_key, "%s/ca.key", dir);

	/* CA: create once. A half-present CA is an operator problem we must
	 * not paper over by minting a new one (it would orphan every issued
	 * credential). */
	if (!pki_exists(ca_crt) && !pki_exists(ca_key)) {
		EVP_PKEY *k = EVP_EC_gen("P-256");

		if (!k)
			return pki_ossl_err(err, -EIO, "generate CA key");
		ca = pki_make_cert(k, "gannet-ca", NULL, PKI_CA, NULL, PKI_CA_DAYS, NULL, NULL, err);
		ret = ca ? pki_save_key(ca_key, k, err) : (err ? err->code : -EIO);
		if (!ret)
			ret = pki_save_cert(ca_crt, ca, err);
		EVP_PKEY_free(k);
		X509_free(ca);
		ca = NULL;
		if (ret)
			return gerr_wrap(err, "pki: create CA"), ret;
		pr_info("pki: created CA in %s", dir);
	}
	if ((ret = pki_load_ca(data_dir, &ca, &cakey, err)))
		return gerr_wrap(err, "pki: load CA"), ret;

	/* Serving certificate. In-cluster clients reach the API through the
	 * kubernetes service (first IP of the service CIDR). */
	for (size_t i = 0; i < n_sans; i++) {
		if (!pki_name_ok(extra_sans[i], ":")) {
			ret = gerr_set(err, -EINVAL, "pki: invalid SAN '%s'", extra_sans[i]);
			goto out;
		}
	}
	off = (size_t)snprintf(san, sizeof(san),
			       "DNS:localhost,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,"
			       "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,"
			       "IP:10.96.0.1");
	for (size_t i = 0; i < n_sans && off < sizeof(san); i++) {
		unsigned char ip[16];
		bool is_ip = inet_pton(AF_INET, extra_sans[i], ip) == 1 ||
			     inet_pton(AF_INET6, extra_sans[i], ip) == 1;

		off += (size_t)snprintf(san + off, sizeof(san) - off, ",%s:%s",
					is_ip ? "IP" : "DNS", extra_sans[i]);
	}
	if (off >= sizeof(san)) {
		ret = gerr_set(err, -E2BIG, "pki: too many SANs");
		goto out;
	}
	pki_fmt(crt, "%s/server.crt", dir);
	pki_fmt(key, "%s/server.key", dir);
	if (!pki_leaf_ok(crt, key, ca, std_sans, 2) || !pki_leaf_ok(crt, key, ca, extra_sans, n_sans)) {
		if (pki_exists(crt))
			pr_warn("pki: reissuing %s (missing, mismatched, expiring or lacking a SAN)", crt);
		ret = pki_issue(crt, key, "gannet-apiserver", NULL, PKI_SERVER, san, ca, cakey, err);
		if (ret) {
			gerr_wrap(err, "pki: serving certificate");
			goto out;
		}
	}

	/* Admin client credential: system:masters bypasses RBAC. */
	pki_fmt(crt, "%s/admin.crt", dir);
	pki_fmt(key, "%s/admin.key", dir);
	if (!pki_leaf_ok(crt, key, ca, NULL, 0)) {
		ret = pki_issue(crt, key, "admin", "system:masters", PKI_CLIENT, NULL, ca, cakey, err);
		if (ret) {
			gerr_wrap(err, "pki: admin certificate");
			goto out;
		}
		admin_new = true;
	}
	pki_fmt(kcfg, "%s/admin.kubeconfig", data_dir);
	/* Derived data: rewrite on every start so it follows a changed server
	 * URL or a reissued admin credential (atomic rename: readers see the
	 * old or the new file). */
	{
		bool existed = pki_exists(kcfg);

		ret = pki_write_kubeconfig(kcfg, server_url, ca_crt, crt, key, NULL, "admin", err);
		if (ret) {
			gerr_wrap(err, "pki: admin kubeconfig");
			goto out;
		}
		if (admin_new || !existed)
			pr_info("pki: wrote %s", kcfg);
	}
	ret = 0;
out:
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return ret;
}

int pki_issue_client(const char *data_dir, const char *cn, const char *org,
		     const char *out_crt, const char *out_key, struct gerr *err)
{
	struct gerr local_err = { 0 };
	X509 *ca = NULL;
	EVP_PKEY *cakey = NULL;
	int ret;

	/* Internal helpers report through err; give them one even when the
	 * caller did not. */
	if (!err)
		err = &local_err;

	if (!data_dir || !cn || !*cn || !out_crt || !out_key)
		return gerr_set(err, -EINVAL, "pki: issue client: missing argument");
	if (strlen(data_dir) > PKI_MAX_DIR)
		return gerr_set(err, -ENAMETOOLONG, "pki: data_dir too long");
	if ((ret = pki_load_ca(data_dir, &ca, &cakey, err)))
		return gerr_wrap(err, "pki: load CA"), ret;
	ret = pki_issue(out_crt, out_key, cn, org, PKI_CLIENT, NULL, ca, cakey, err);
	X509_free(ca);
	EVP_PKEY_free(cakey);
	return ret;
}

int pki_node_kubeconfig(const char *data_dir, const char *server_url,
			const char *node, const char *out_path, struct gerr *err)
{
	struct gerr local_err = { 0 };
	char dir[PATH_MAX], crt[PATH_MAX], key[PATH_MAX], ca[PATH_MAX], cn[300];
	int ret;

	/* Internal helpers report through err; give them one even when the
	 * caller did not. */
	if (!err)
		err = &local_err;

	if (!data_dir || !server_url || !out_path || !pki_name_ok(node, NULL) || node[0] == '.')
		return gerr_set(err, -EINVAL, "pki: invalid node name '%s'", node ? node : "");
	if (strlen(data_dir) > PKI_MAX_DIR)
		return gerr_set(err, -ENAMETOOLONG, "pki: data_dir too long");
	pki_fmt(dir, "%s/pki/nodes", data_dir);
	if ((ret = pki_mkdir(dir, err)))
		return ret;
	pki_fmt(crt, "%s/%s.crt", dir, node);
	pki_fmt(key, "%s/%s.key", dir, node);
	pki_fmt(ca, "%s/pki/ca.crt", data_dir);
	snprintf(cn, sizeof(cn), "system:node:%s", node);
	ret = pki_issue_client(data_dir, cn, "system:nodes", crt, key, err);
	if (!ret)
		ret = pki_write_kubeconfig(out_path, server_url, ca, crt, key, NULL, cn, err);
	return ret;
}
