/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's authenticated endpoint for logs and exec (the kubelet port,
 * 10250 by default): HTTPS with a self-signed serving certificate kept in
 * <stateDir>/kubelet.{crt,key} (as kubelet's default; the API server does
 * not verify it), and every request must carry a client certificate
 * signed by the cluster CA (the kubeconfig's CA) whose subject has
 * O=system:masters — the API server's proxy client certificate, or an
 * admin. Node credentials (O=system:nodes) are refused, so one node cannot
 * exec into another node's pods. The certificate is checked with OpenSSL
 * (chain, clientAuth purpose, not a CA), like the API server's authn. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/kubelet.h"

struct ktls {
	struct MHD_Daemon *d;
	char *cert, *key;       /* PEM */
	char *ca_pem;
	X509_STORE *ca;
};

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) > 0 && n < (1 << 20) && !fseek(f, 0, SEEK_SET)) {
		buf = calloc(1, (size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

static char *bio_str(BIO *b)
{
	char *p, *out;
	long n = BIO_get_mem_data(b, &p);

	out = n > 0 ? strndup(p, (size_t)n) : NULL;
	return out;
}

/* Self-signed P-256 serving certificate (CN = node, SAN = node IP), made
 * once and kept, so a restarted agent serves the same one. */
static int serving_cert(const struct agentcfg *cfg, struct ktls *t, struct gerr *err)
{
	char crt[300], key[300], san[64], ip[INET_ADDRSTRLEN];
	struct in_addr ia = { cfg->node_ip };
	EVP_PKEY *pk = NULL;
	X509 *x = NULL;
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	BIO *bc = NULL, *bk = NULL;
	FILE *f;
	int ret = -EIO, fd;

	snprintf(crt, sizeof(crt), "%s/kubelet.crt", cfg->state_dir);
	snprintf(key, sizeof(key), "%s/kubelet.key", cfg->state_dir);
	t->cert = read_all(crt);
	t->key = read_all(key);
	if (t->cert && t->key)
		return 0;
	free(t->cert);
	free(t->key);
	t->cert = t->key = NULL;
	inet_ntop(AF_INET, &ia, ip, sizeof(ip));
	pk = EVP_EC_gen("P-256");
	x = X509_new();
	if (!pk || !x)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 24 * 3600);
	X509_set_pubkey(x, pk);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
				   (const unsigned char *)cfg->node_name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	snprintf(san, sizeof(san), "IP:%s", ip);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	if (ext) {
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	bc = BIO_new(BIO_s_mem());
	bk = BIO_new(BIO_s_mem());
	if (!bc || !bk || !PEM_write_bio_X509(bc, x) ||
	    !PEM_write_bio_PrivateKey(bk, pk, NULL, NULL, 0, NULL, NULL))
		goto out;
	t->cert = bio_str(bc);
	t->key = bio_str(bk);
	if (!t->cert || !t->key)
		goto out;
	/* 0600 by open(), not umask(): the umask is process-wide and would
	 * make the runtime's container directories unreadable to non-root
	 * container users */
	fd = open(key, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && (f = fdopen(fd, "w"))) {
		fputs(t->key, f);
		fclose(f);
	} else if (fd >= 0) {
		close(fd);
	}
	if ((f = fopen(crt, "we"))) {
		fputs(t->cert, f);
		fclose(f);
	}
	ret = 0;
out:
	BIO_free(bc);
	BIO_free(bk);
	X509_free(x);
	EVP_PKEY_free(pk);
	if (ret)
		gerr_set(err, ret, "cannot create the kubelet serving certificate");
	return ret;
}

/* 0 = authorized; 401 no/invalid certificate; 403 not system:masters. */
static int check_client(struct ktls *t, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const gnutls_datum_t *peers;
	const unsigned char *p;
	X509_STORE_CTX *ctx = NULL;
	X509 *x = NULL;
	X509_NAME *subj;
	unsigned n = 0;
	int ret = 401, idx;

	if (!ci || !ci->tls_session)
		return 401;
	peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
	if (!peers || !n)
		return 401;
	p = peers[0].data;
	x = d2i_X509(NULL, &p, (long)peers[0].size);
	ctx = X509_STORE_CTX_new();
	if (!x || !ctx || !X509_STORE_CTX_init(ctx, t->ca, x, NULL))
		goto out;
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1 || X509_check_ca(x) != 0)
		goto out;
	ret = 403;
	subj = X509_get_subject_name(x);
	for (idx = -1; (idx = X509_NAME_get_index_by_NID(subj, NID_organizationName, idx)) >= 0;) {
		unsigned char *s = NULL;
		int len = ASN1_STRING_to_UTF8(&s, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx)));

		if (len == 14 && !memcmp(s, "system:masters", 14))
			ret = 0;
		OPENSSL_free(s);
	}
out:
	X509_STORE_CTX_free(ctx);
	X509_free(x);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned code, const char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_size, void **ptr)
{
	struct agent *a = cls;
	int auth, kr;

	(void)version;
	(void)upload_data;
	if (!*ptr) {
		*ptr = (void *)1;
		if (strcmp(method, "GET") && strcmp(method, "HEAD"))
			return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	auth = check_client(a->ktls, c);
	if (auth == 401)
		return text(c, 401, "Unauthorized: a client certificate from the cluster CA is required\n");
	if (auth)
		return text(c, 403, "Forbidden: only the API server (system:masters) may use this endpoint\n");
	if (!strcmp(url, "/healthz"))
		return text(c, 200, "ok\n");
	kr = kubelet_http(a, c, url, method);
	return kr >= 0 ? (enum MHD_Result)kr : text(c, 404, "not found\n");
}

int kubelet_tls_start(struct agent *a, const unsigned char *ca_pem, size_t ca_len,
		      struct gerr *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = a->cfg.node_ip,
				  .sin_port = htons((uint16_t)a->cfg.kubelet_port) };
	struct ktls *t;
	BIO *b = NULL;
	X509 *x;
	char *ca;
	int ret;

	if (!a->cfg.kubelet_port)
		return 0;
	if (!ca_pem || !ca_len)
		return gerr_set(err, -EINVAL, "kubelet port: the kubeconfig has no CA to verify clients");
	t = calloc(1, sizeof(*t));
	ca = strndup((const char *)ca_pem, ca_len);
	if (!t || !ca) {
		free(t);
		free(ca);
		return gerr_set(err, -ENOMEM, "out of memory");
	}
	ret = serving_cert(&a->cfg, t, err);
	if (ret)
		goto fail;
	t->ca = X509_STORE_new();
	b = BIO_new_mem_buf(ca, -1);
	while (t->ca && b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
		X509_STORE_add_cert(t->ca, x);
		X509_free(x);
	}
	BIO_free(b);
	a->ktls = t;
	t->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_TLS | MHD_USE_ERROR_LOG, 0, NULL, NULL, handler, a,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_HTTPS_MEM_KEY, t->key,
				MHD_OPTION_HTTPS_MEM_CERT, t->cert,
				/* makes the server ask for a client certificate */
				MHD_OPTION_HTTPS_MEM_TRUST, ca,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
				MHD_OPTION_END);
	if (!t->d) {
		a->ktls = NULL;
		ret = gerr_set(err, -EADDRNOTAVAIL, "kubelet port %u: cannot listen",
			       a->cfg.kubelet_port);
		goto fail;
	}
	t->ca_pem = ca;   /* kept for the daemon's lifetime */
	pr_info("logs/exec on https://%s:%u (client certificates, system:masters)",
		inet_ntoa(sa.sin_addr), a->cfg.kubelet_port);
	return 0;
fail:
	if (t->ca)
		X509_STORE_free(t->ca);
	free(t->cert);
	free(t->key);
	free(t);
	free(ca);
	return ret;
}

void kubelet_tls_stop(struct agent *a)
{
	struct ktls *t = a->ktls;

	if (!t)
		return;
	MHD_stop_daemon(t->d);
	X509_STORE_free(t->ca);
	free(t->cert);
	free(t->key);
	free(t->ca_pem);
	free(t);
	a->ktls = NULL;
}
