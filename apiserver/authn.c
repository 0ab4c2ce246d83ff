/* SPDX-License-Identifier: Apache-2.0 */
/* Authentication: turns a request's credentials into a user.
 *  - client certificates (DER, as the TLS layer received them), verified
 *    against the cluster CA with X509_verify_cert for the clientAuth
 *    purpose: user = subject CN, groups = subject O values;
 *  - static bearer tokens from a CSV file "token,user,uid,groups" (groups
 *    separated by '|', or a quoted comma list as in Kubernetes' token file),
 *    reloaded when the file changes; only SHA-256 digests of the tokens are
 *    kept, sorted, and looked up by digest: timing can then only reveal
 *    bytes of a digest, which an attacker cannot steer towards a real
 *    token (the same argument as Kubernetes' map lookup by token);
 *  - ServiceAccount tokens: compact JWS "header.payload.signature", HS256
 *    with a 32-byte key in <data_dir>/pki/sa.key, claims iss/sub/iat/exp.
 * Every authenticated user also gets the group system:authenticated.
 * Verified client certificates are cached by digest until they expire, so
 * the signature check runs once per certificate, not once per request. */
#include "apiserver/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/names.h"

#define AUTHN_SA_KEY_LEN   32
#define AUTHN_ISSUER       "gannet"
#define AUTHN_SA_PREFIX    "system:serviceaccount:"
#define AUTHN_SA_TTL       (365L * 86400)
#define AUTHN_MAX_TOKEN    8192
#define AUTHN_TOKEN_RECHECK_MS 1000   /* token file stat() at most this often on hits */

struct authn_token {
	unsigned char digest[32];   /* SHA-256 of the token, never the token */
	struct auth_user user;
};

/* Direct-mapped cache of verified client certificates. */
#define AUTHN_CERT_CACHE 256
struct authn_cert_entry {
	unsigned char digest[32];   /* SHA-256 of the DER */
	time_t not_after;           /* 0 = empty slot */
	struct auth_user user;
};

struct authn {
	X509_STORE *ca;
	unsigned char sa_key[AUTHN_SA_KEY_LEN];
	EVP_MD *sha256;             /* fetched once, not per request */
	EVP_MAC_CTX *hmac;          /* keyed with sa_key; dup'd per use */
	pthread_mutex_t cache_lock;
	struct authn_cert_entry *cache;
	char *token_file;
	/* Static token table; replaced wholesale on reload. */
	pthread_rwlock_t lock;
	struct authn_token *tokens;
	size_t n_tokens;
	struct stat tok_st;         /* identity of the loaded file version */
	bool tok_loaded;
	/* Monotonic ms before which hits skip the stat() of the file: one
	 * check per AUTHN_TOKEN_RECHECK_MS, not one per request. */
	_Atomic int64_t tok_next_check;
};

/* ---- users ------------------------------------------------------------ */

static int authn_set(char *dst, size_t cap, const char *src, size_t len)
{
	/* Refuse rather than truncate: a truncated name could be someone
	 * else's name. */
	if (!len || len >= cap || memchr(src, '\0', len))
		return -EINVAL;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

/* Add a group, keeping the last slot for system:authenticated. */
static int authn_add_group(struct auth_user *u, const char *g, size_t len)
{
	if (u->n_groups >= AUTH_MAX_GROUPS - 1)
		return -E2BIG;
	if (authn_set(u->groups[u->n_groups], sizeof(u->groups[0]), g, len))
		return -EINVAL;
	u->n_groups++;
	return 0;
}

static void authn_finish_user(struct auth_user *u)
{
	snprintf(u->groups[u->n_groups++], sizeof(u->groups[0]), "system:authenticated");
}

/* ---- client certificates ---------------------------------------------- */

static void authn_digest(const EVP_MD *md, const void *data, size_t len,
			 unsigned char out[32])
{
	unsigned int n = 32;

	EVP_Digest(data, len, out, &n, md ? md : EVP_sha256(), NULL);
}

static int authn_cert(struct authn *a, const unsigned char *der, size_t len,
		      struct auth_user *u)
{
	const unsigned char *p = der;
	X509_STORE_CTX *ctx = NULL;
	X509 *x = NULL;
	X509_NAME *subj;
	int ret = -EACCES, idx;
	bool have_cn = false;
	unsigned char d[32];
	struct authn_cert_entry *slot;
	struct tm tm;

	if (!a->ca || len > LONG_MAX)
		return -EACCES;
	authn_digest(a->sha256, der, len, d);
	slot = &a->cache[d[0] % AUTHN_CERT_CACHE];
	pthread_mutex_lock(&a->cache_lock);
	if (slot->not_after && time(NULL) < slot->not_after &&
	    !memcmp(slot->digest, d, sizeof(d))) {
		*u = slot->user;
		pthread_mutex_unlock(&a->cache_lock);
		return 0;
	}
	pthread_mutex_unlock(&a->cache_lock);
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len)
		goto out;
	ctx = X509_STORE_CTX_new();
	if (!ctx || !X509_STORE_CTX_init(ctx, a->ca, x, NULL))
		goto out;
	/* Client purpose: a serving certificate (serverAuth only) signed by
	 * the same CA must not pass as a user. */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		pr_debug("authn: client certificate rejected: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
		goto out;
	}
	/* A CA certificate is trusted to sign users, it is not one. */
	if (X509_check_ca(x) != 0)
		goto out;
	subj = X509_get_subject_name(x);
	for (idx = -1; (idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx)) >= 0;) {
		unsigned char *s = NULL;
		int n = ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));

		/* Several CNs are ambiguous: refuse. */
		if (n <= 0 || have_cn || authn_set(u->name, sizeof(u->name), (char *)s, (size_t)n)) {
			OPENSSL_free(s);
			goto out;
		}
		have_cn = true;
		OPENSSL_free(s);
	}
	if (!have_cn)
		goto out;
	for (idx = -1; (idx = X509_NAME_get_index_by_NID(subj, NID_organizationName, idx)) >= 0;) {
		unsigned char *s = NULL;
		int n = ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));

		if (n <= 0 || authn_add_group(u, (char *)s, (size_t)n)) {
			OPENSSL_free(s);
			goto out;
		}
		OPENSSL_free(s);
	}
	ret = 0;
	/* Remember until the certificate expires (the chain is our CA, which
	 * does not change for the life of this authn). */
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
		pthread_mutex_lock(&a->cache_lock);
		memcpy(slot->digest, d, sizeof(d));
		slot->user = *u;
		slot->not_after = timegm(&tm);
		pthread_mutex_unlock(&a->cache_lock);
	}
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	return ret;
}

/* ---- static token file ------------------------------------------------ */

/* Split one CSV line in place into at most max fields, honouring double
 * quotes ("" inside quotes is a literal quote). Returns the field count or
 * -1 on an unterminated quote. */
static int authn_csv_split(char *line, char **f, int max)
{
	char *r = line, *w = line;
	int n = 0;

	while (n < max) {
		bool q = false;

		/* Blanks before an opening quote do not make it literal. */
		while (*r == ' ' || *r == '\t')
			r++;
		f[n++] = w;
		if (*r == '"') {
			q = true;
			r++;
		}
		for (;;) {
			if (q && *r == '"' && r[1] == '"') {
				*w++ = '"';
				r += 2;
			} else if (q && *r == '"') {
				q = false;
				r++;
			} else if (!*r || (!q && *r == ',')) {
				break;
			} else {
				*w++ = *r++;
			}
		}
		if (q)
			return -1;
		if (!*r) {
			*w = '\0';
			return n;
		}
		*w++ = '\0';
		r++;
	}
	return n;
}

static char *authn_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

static int authn_digest_cmp(const void *x, const void *y)
{
	return memcmp(((const struct authn_token *)x)->digest,
		      ((const struct authn_token *)y)->digest, 32);
}

/* Parse a whole token file into a new table. */
static int authn_parse_tokens(FILE *f, const char *path, struct authn_token **out,
			      size_t *n_out, struct gerr *err)
{
	struct authn_token *tab = NULL, *t;
	size_t n = 0, cap = 0, lineno = 0;
	char *line = NULL;
	size_t lcap = 0;
	int ret = 0;

	while (getline(&line, &lcap, f) >= 0) {
		char *fld[5], *s;
		int nf;

		lineno++;
		s = authn_trim(line);
		if (!*s || *s == '#')
			continue;
		nf = authn_csv_split(s, fld, 5);
		if (nf < 2 || nf > 4) {
			ret = gerr_set(err, -EINVAL, "%s:%zu: want token,user[,uid[,groups]]",
				       path, lineno);
			goto out;
		}
		for (int i = 0; i < nf; i++)
			fld[i] = authn_trim(fld[i]);
		if (strlen(fld[0]) < 8 || strlen(fld[0]) > AUTHN_MAX_TOKEN) {
			ret = gerr_set(err, -EINVAL, "%s:%zu: token must be 8..%d characters",
				       path, lineno, AUTHN_MAX_TOKEN);
			goto out;
		}
		if (n == cap) {
			struct authn_token *nt;

			cap = cap ? cap * 2 : 16;
			nt = realloc(tab, cap * sizeof(*tab));
			if (!nt) {
				ret = gerr_set(err, -ENOMEM, "out of memory");
				goto out;
			}
			tab = nt;
		}
		t = &tab[n];
		memset(t, 0, sizeof(*t));
		authn_digest(NULL, fld[0], strlen(fld[0]), t->digest);
		if (authn_set(t->user.name, sizeof(t->user.name), fld[1], strlen(fld[1])) ||
		    (nf > 2 && *fld[2] &&
		     authn_set(t->user.uid, sizeof(t->user.uid), fld[2], strlen(fld[2])))) {
			ret = gerr_set(err, -EINVAL, "%s:%zu: empty or too long user/uid",
				       path, lineno);
			goto out;
		}
		if (nf > 3) {
			char *save = NULL;

			for (char *g = strtok_r(fld[3], ",|", &save); g; g = strtok_r(NULL, ",|", &save)) {
				g = authn_trim(g);
				if (*g && authn_add_group(&t->user, g, strlen(g))) {
					ret = gerr_set(err, -EINVAL, "%s:%zu: too many or too long groups",
						       path, lineno);
					goto out;
				}
			}
		}
		OPENSSL_cleanse(fld[0], strlen(fld[0]));
		n++;
	}
	if (n)
		qsort(tab, n, sizeof(*tab), authn_digest_cmp);
	for (size_t i = 1; i < n; i++) {
		if (!memcmp(tab[i - 1].digest, tab[i].digest, sizeof(tab[i].digest))) {
			ret = gerr_set(err, -EINVAL, "%s: the same token appears twice", path);
			goto out;
		}
	}
	*out = tab;
	*n_out = n;
	tab = NULL;
out:
	if (line) {
		OPENSSL_cleanse(line, lcap);
		free(line);
	}
	free(tab);
	return ret;
}

/* (Re)load the token file if it changed since the last load. Called with
 * the write lock held. On a parse error the previous table stays. */
static int authn_load_tokens(struct authn *a, struct gerr *err)
{
	struct authn_token *tab = NULL;
	struct stat st;
	size_t n = 0;
	FILE *f;
	int ret;

	f = fopen(a->token_file, "re");
	if (!f)
		return gerr_set(err, -errno, "token file %s: %s", a->token_file, strerror(errno));
	if (fstat(fileno(f), &st)) {
		fclose(f);
		return gerr_set(err, -errno, "token file %s: %s", a->token_file, strerror(errno));
	}
	if (st.st_mode & 077)
		pr_warn("authn: token file %s is readable by group/others", a->token_file);
	/* Hold a shared lock so a concurrent authn_token_file_add (exclusive
	 * lock) is never seen half-written. */
	flock(fileno(f), LOCK_SH);
	ret = authn_parse_tokens(f, a->token_file, &tab, &n, err);
	fclose(f);
	if (ret)
		return ret;
	OPENSSL_cleanse(a->tokens, a->n_tokens * sizeof(*a->tokens));
	free(a->tokens);
	a->tokens = tab;
	a->n_tokens = n;
	a->tok_st = st;
	a->tok_loaded = true;
	pr_debug("authn: loaded %zu static tokens from %s", n, a->token_file);
	return 0;
}

/* Caller holds the lock (read or write). */
static bool authn_tokens_stale(struct authn *a)
{
	struct stat st;

	if (stat(a->token_file, &st))
		return false;   /* keep what we have if the file vanished */
	return !a->tok_loaded || st.st_ino != a->tok_st.st_ino || st.st_size != a->tok_st.st_size ||
	       st.st_mtim.tv_sec != a->tok_st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != a->tok_st.st_mtim.tv_nsec;
}

static int64_t authn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* force: check the file now whatever the interval (an unknown token may
 * have been added less than AUTHN_TOKEN_RECHECK_MS ago). A removed or
 * rotated token stops working at most that long after the change. */
static int authn_static_token(struct authn *a, const char *tok, struct auth_user *u,
			      bool force)
{
	unsigned char d[32];
	const struct authn_token *hit = NULL;
	int64_t now;
	int ret = -EACCES;
	bool stale = false;

	if (!a->token_file)
		return -EACCES;
	now = authn_now_ms();
	if (force || now >= atomic_load_explicit(&a->tok_next_check, memory_order_relaxed)) {
		atomic_store_explicit(&a->tok_next_check, now + AUTHN_TOKEN_RECHECK_MS,
				      memory_order_relaxed);
		pthread_rwlock_rdlock(&a->lock);
		stale = authn_tokens_stale(a);
		pthread_rwlock_unlock(&a->lock);
	}
	if (stale) {
		struct gerr e = { 0 };

		pthread_rwlock_wrlock(&a->lock);
		if (authn_tokens_stale(a) && authn_load_tokens(a, &e))
			pr_warn("authn: keeping previous tokens: %s", e.msg);
		pthread_rwlock_unlock(&a->lock);
	}
	authn_digest(a->sha256, tok, strlen(tok), d);
	pthread_rwlock_rdlock(&a->lock);
	if (a->n_tokens) {
		struct authn_token key;

		memcpy(key.digest, d, sizeof(d));
		hit = bsearch(&key, a->tokens, a->n_tokens, sizeof(*a->tokens), authn_digest_cmp);
	}
	if (hit) {
		*u = hit->user;
		ret = 0;
	}
	pthread_rwlock_unlock(&a->lock);
	return ret;
}

/* ---- ServiceAccount tokens (JWS HS256) -------------------------------- */

/* base64url without padding, via OpenSSL's encoder. Caller frees. */
static char *authn_b64url(const unsigned char *in, size_t len)
{
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	int n;

	if (!out)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

/* Decode base64url (no padding) of len chars. Returns the byte count or -1. */
static int authn_unb64url(const char *in, size_t len, unsigned char **out)
{
	size_t padded = (len + 3) / 4 * 4;
	char *tmp;
	int n, pad = (int)(padded - len);

	*out = NULL;
	if (len % 4 == 1 || len > AUTHN_MAX_TOKEN)
		return -1;
	tmp = malloc(padded + 1);
	*out = malloc(padded / 4 * 3 + 1);
	if (!tmp || !*out)
		goto fail;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			goto fail;
		tmp[i] = c;
	}
	memset(tmp + len, '=', padded - len);
	n = EVP_DecodeBlock(*out, (unsigned char *)tmp, (int)padded);
	if (n < 0)
		goto fail;
	free(tmp);
	return n - pad;
fail:
	free(tmp);
	free(*out);
	*out = NULL;
	return -1;
}

static int authn_hmac(const struct authn *a, const char *data, size_t len,
		      unsigned char mac[32])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(a->hmac);
	size_t n = 0;
	int ok;

	/* dup of a keyed context: no per-call algorithm fetch or key setup,
	 * and the shared context is only read, so threads do not contend. */
	ok = c && EVP_MAC_update(c, (const unsigned char *)data, len) == 1 &&
	     EVP_MAC_final(c, mac, &n, 32) == 1 && n == 32;
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -EIO;
}

char *authn_sa_token_ttl(struct authn *a, const char *ns, const char *name,
			 int64_t ttl_sec)
{
	static const char header[] = "{\"alg\":\"HS256\",\"kid\":\"gannet-sa\",\"typ\":\"JWT\"}";
	char sub[600], *h64 = NULL, *p64 = NULL, *s64 = NULL, *payload = NULL, *out = NULL;
	unsigned char mac[32];
	json_t *claims = NULL;
	time_t now = time(NULL);
	size_t len;

	if (!a || !name_dns1123_label(ns) || !name_k8s_subdomain(name))
		return NULL;
	snprintf(sub, sizeof(sub), AUTHN_SA_PREFIX "%s:%s", ns, name);
	claims = json_pack("{s:s, s:s, s:I, s:I, s:I, s:{s:s, s:{s:s}}}",
			   "iss", AUTHN_ISSUER, "sub", sub, "iat", (json_int_t)now,
			   "nbf", (json_int_t)now, "exp", (json_int_t)(now + ttl_sec),
			   "kubernetes.io", "namespace", ns, "serviceaccount", "name", name);
	if (!claims)
		goto out;
	payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	if (!payload)
		goto out;
	h64 = authn_b64url((const unsigned char *)header, strlen(header));
	p64 = authn_b64url((const unsigned char *)payload, strlen(payload));
	if (!h64 || !p64)
		goto out;
	len = strlen(h64) + 1 + strlen(p64) + 1 + 44;
	out = malloc(len);
	if (!out)
		goto out;
	snprintf(out, len, "%s.%s", h64, p64);
	if (authn_hmac(a, out, strlen(out), mac) || !(s64 = authn_b64url(mac, sizeof(mac)))) {
		free(out);
		out = NULL;
		goto out;
	}
	strcat(out, ".");
	strcat(out, s64);
out:
	json_decref(claims);
	free(payload);
	free(h64);
	free(p64);
	free(s64);
	return out;
}

char *authn_sa_token(struct authn *a, const char *ns, const char *name)
{
	return authn_sa_token_ttl(a, ns, name, AUTHN_SA_TTL);
}

static int authn_sa_verify(struct authn *a, const char *tok, struct auth_user *u)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char mac[32], *sig = NULL, *hdr = NULL, *pl = NULL;
	json_t *h = NULL, *c = NULL;
	const char *sub, *iss, *alg, *rest, *colon;
	json_int_t exp, nbf;
	int n, ret = -EACCES;
	time_t now = time(NULL);

	if (!d1 || !d2 || strchr(d2 + 1, '.'))
		return -EACCES;
	/* Signature first: nothing else in the token is trusted before. */
	n = authn_unb64url(d2 + 1, strlen(d2 + 1), &sig);
	if (n != (int)sizeof(mac))
		goto out;
	if (authn_hmac(a, tok, (size_t)(d2 - tok), mac) || CRYPTO_memcmp(mac, sig, sizeof(mac)))
		goto out;

	n = authn_unb64url(tok, (size_t)(d1 - tok), &hdr);
	if (n <= 0 || !(h = json_loadb((char *)hdr, (size_t)n, 0, NULL)))
		goto out;
	/* Pin the algorithm: never let the token choose ("none", RS/HS). */
	alg = json_string_value(json_object_get(h, "alg"));
	if (!alg || strcmp(alg, "HS256"))
		goto out;
	n = authn_unb64url(d1 + 1, (size_t)(d2 - d1 - 1), &pl);
	if (n <= 0 || !(c = json_loadb((char *)pl, (size_t)n, 0, NULL)))
		goto out;
	iss = json_string_value(json_object_get(c, "iss"));
	sub = json_string_value(json_object_get(c, "sub"));
	if (!iss || strcmp(iss, AUTHN_ISSUER) || !sub || !json_is_integer(json_object_get(c, "exp")))
		goto out;
	exp = json_integer_value(json_object_get(c, "exp"));
	if ((json_int_t)now >= exp) {
		pr_debug("authn: service account token for %s expired", sub);
		goto out;
	}
	if (json_is_integer(json_object_get(c, "nbf"))) {
		nbf = json_integer_value(json_object_get(c, "nbf"));
		/* A minute of tolerance for clocks of several servers. */
		if ((json_int_t)now + 60 < nbf)
			goto out;
	}
	if (strncmp(sub, AUTHN_SA_PREFIX, strlen(AUTHN_SA_PREFIX)))
		goto out;
	rest = sub + strlen(AUTHN_SA_PREFIX);
	colon = strchr(rest, ':');
	if (!colon || !name_dns1123_subdomain_n(rest, (size_t)(colon - rest)) ||
	    !name_k8s_subdomain(colon + 1))
		goto out;
	if (authn_set(u->name, sizeof(u->name), sub, strlen(sub)) ||
	    authn_add_group(u, "system:serviceaccounts", strlen("system:serviceaccounts")))
		goto out;
	{
		char g[300];

		snprintf(g, sizeof(g), "system:serviceaccounts:%.*s", (int)(colon - rest), rest);
		if (authn_add_group(u, g, strlen(g)))
			goto out;
	}
	ret = 0;
out:
	json_decref(h);
	json_decref(c);
	free(sig);
	free(hdr);
	free(pl);
	return ret;
}

/* ---- lifecycle / public API ------------------------------------------- */

static int authn_load_sa_key(struct authn *a, const char *data_dir, struct gerr *err)
{
	char path[PATH_MAX];
	unsigned char buf[AUTHN_SA_KEY_LEN + 1];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/pki/sa.key", data_dir) >= sizeof(path))
		return gerr_set(err, -ENAMETOOLONG, "authn: data_dir too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* First start: create it. O_EXCL settles a race with a
		 * second server on the same data dir. */
		unsigned char key[AUTHN_SA_KEY_LEN];

		if (RAND_bytes(key, sizeof(key)) != 1)
			return gerr_set(err, -EIO, "authn: no randomness");
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			bool ok = fchmod(fd, 0600) == 0 &&
				  write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) && fsync(fd) == 0;

			close(fd);
			OPENSSL_cleanse(key, sizeof(key));
			if (!ok) {
				unlink(path);
				return gerr_set(err, -EIO, "authn: write %s", path);
			}
			pr_info("authn: created service account signing key %s", path);
		} else if (errno != EEXIST) {
			return gerr_set(err, -errno, "authn: create %s: %s", path, strerror(errno));
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return gerr_set(err, -errno, "authn: open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n != AUTHN_SA_KEY_LEN) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return gerr_set(err, -EINVAL, "authn: %s must hold %d bytes", path, AUTHN_SA_KEY_LEN);
	}
	memcpy(a->sa_key, buf, AUTHN_SA_KEY_LEN);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

int authn_open(const char *data_dir, const char *token_file, struct authn **out,
	       struct gerr *err)
{
	struct authn *a;
	char path[PATH_MAX];
	FILE *f = NULL;
	X509 *x;
	int ret, n = 0;

	*out = NULL;
	if (!data_dir)
		return gerr_set(err, -EINVAL, "authn: no data dir");
	a = calloc(1, sizeof(*a));
	if (!a)
		return gerr_set(err, -ENOMEM, "authn: out of memory");
	pthread_rwlock_init(&a->lock, NULL);
	pthread_mutex_init(&a->cache_lock, NULL);
	a->cache = calloc(AUTHN_CERT_CACHE, sizeof(*a->cache));
	a->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!a->cache || !a->sha256) {
		ret = gerr_set(err, -ENOMEM, "authn: out of memory");
		goto fail;
	}

	if ((size_t)snprintf(path, sizeof(path), "%s/pki/ca.crt", data_dir) >= sizeof(path)) {
		ret = gerr_set(err, -ENAMETOOLONG, "authn: data_dir too long");
		goto fail;
	}
	a->ca = X509_STORE_new();
	f = fopen(path, "re");
	if (!a->ca || !f) {
		ret = gerr_set(err, f ? -ENOMEM : -errno, "authn: CA %s: %s", path,
			       f ? "out of memory" : strerror(errno));
		goto fail;
	}
	/* The file may hold several CAs (e.g. during a future rotation). */
	while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
		X509_STORE_add_cert(a->ca, x);
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	fclose(f);
	if (!n) {
		ret = gerr_set(err, -EINVAL, "authn: no certificate in %s", path);
		goto fail;
	}
	if ((ret = authn_load_sa_key(a, data_dir, err)))
		goto fail;
	{
		EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
			OSSL_PARAM_construct_end(),
		};

		a->hmac = mac ? EVP_MAC_CTX_new(mac) : NULL;
		EVP_MAC_free(mac);
		if (!a->hmac || EVP_MAC_init(a->hmac, a->sa_key, sizeof(a->sa_key), params) != 1) {
			ret = gerr_set(err, -EIO, "authn: HMAC-SHA256 unavailable");
			goto fail;
		}
	}
	if (token_file && *token_file) {
		a->token_file = strdup(token_file);
		if (!a->token_file) {
			ret = gerr_set(err, -ENOMEM, "authn: out of memory");
			goto fail;
		}
		/* A broken token file at start is an error, later ones only
		 * a warning (we keep serving with the last good table). */
		if ((ret = authn_load_tokens(a, err)))
			goto fail;
	}
	*out = a;
	return 0;
fail:
	authn_close(a);
	return ret;
}

void authn_close(struct authn *a)
{
	if (!a)
		return;
	X509_STORE_free(a->ca);
	OPENSSL_cleanse(a->sa_key, sizeof(a->sa_key));
	EVP_MAC_CTX_free(a->hmac);
	EVP_MD_free(a->sha256);
	if (a->cache)
		OPENSSL_cleanse(a->cache, AUTHN_CERT_CACHE * sizeof(*a->cache));
	free(a->cache);
	pthread_mutex_destroy(&a->cache_lock);
	if (a->tokens)
		OPENSSL_cleanse(a->tokens, a->n_tokens * sizeof(*a->tokens));
	free(a->tokens);
	free(a->token_file);
	pthread_rwlock_destroy(&a->lock);
	free(a);
}

int authn_authenticate(struct authn *a, const unsigned char *peer_cert_der,
		       size_t der_len, const char *bearer, struct auth_user *user)
{
	struct auth_user u;

	if (!a || !user)
		return -EACCES;
	/* As Kubernetes' union authenticator: the first method that
	 * succeeds wins; an invalid certificate does not spoil a valid
	 * token. Anonymous requests are always refused. */
	if (peer_cert_der && der_len) {
		memset(&u, 0, sizeof(u));
		if (!authn_cert(a, peer_cert_der, der_len, &u))
			goto ok;
	}
	if (bearer && *bearer && strlen(bearer) <= AUTHN_MAX_TOKEN) {
		memset(&u, 0, sizeof(u));
		if (!authn_static_token(a, bearer, &u, false))
			goto ok;
		memset(&u, 0, sizeof(u));
		if (!authn_sa_verify(a, bearer, &u))
			goto ok;
		/* neither: perhaps a token added to the file since the last
		 * check (only unknown tokens pay for this stat) */
		memset(&u, 0, sizeof(u));
		if (!authn_static_token(a, bearer, &u, true))
			goto ok;
	}
	return -EACCES;
ok:
	authn_finish_user(&u);
	*user = u;
	return 0;
}

static bool authn_csv_safe(const char *s)
{
	return !s || !strpbrk(s, ",\"\n\r");
}

int authn_token_file_add(const char *token_file, const char *user,
			 const char *uid, const char *groups, char **token_out,
			 struct gerr *err)
{
	unsigned char rnd[32];
	char tok[2 * sizeof(rnd) + 1], *line = NULL;
	int fd = -1, len, ret = 0;

	*token_out = NULL;
	if (!token_file || !user || !*user || strlen(user) >= sizeof(((struct auth_user *)0)->name) ||
	    !authn_csv_safe(user) || !authn_csv_safe(uid) || !authn_csv_safe(groups) ||
	    (groups && strchr(groups, ',')))
		return gerr_set(err, -EINVAL, "authn: invalid user, uid or groups for token file");
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return gerr_set(err, -EIO, "authn: no randomness");
	/* Hex: no CSV quoting issues and never JWT-shaped (no dots). */
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(tok + 2 * i, 3, "%02x", rnd[i]);
	OPENSSL_cleanse(rnd, sizeof(rnd));
	len = asprintf(&line, "%s,%s,%s,%s\n", tok, user, uid ? uid : "", groups ? groups : "");
	if (len < 0) {
		line = NULL;
		ret = gerr_set(err, -ENOMEM, "authn: out of memory");
		goto out;
	}
	fd = open(token_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = gerr_set(err, -errno, "authn: open %s: %s", token_file, strerror(errno));
		goto out;
	}
	flock(fd, LOCK_EX);
	if (write(fd, line, (size_t)len) != len || fsync(fd)) {
		ret = gerr_set(err, -EIO, "authn: write %s", token_file);
		goto out;
	}
	*token_out = strdup(tok);
	if (!*token_out)
		ret = gerr_set(err, -ENOMEM, "authn: out of memory");
out:
	if (fd >= 0)
		close(fd);
	if (line) {
		OPENSSL_cleanse(line, (size_t)len);
		free(line);
	}
	OPENSSL_cleanse(tok, sizeof(tok));
	return ret;
}
