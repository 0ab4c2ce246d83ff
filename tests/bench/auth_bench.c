/* SPDX-License-Identifier: Apache-2.0 */
/* Per-request cost of the security module, one thread: authentication
 * (static token among many, ServiceAccount JWS, client certificate), RBAC
 * evaluation on the default policy plus a cluster's worth of bindings, and
 * secretbox seal/open. Each group also measures its floor in the same run
 * (one SHA-256; the system:masters short cut; bare AES-GCM) so that
 * tests/bench/bench-auth.sh can print ratios. Output: "name ns_per_op"
 * lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "apiserver/auth.h"

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Run fn until ~min_ms elapsed (at least 1000 calls); print ns/op. */
#define BENCH(name, min_ms, stmt) do { \
	long _n = 0, _batch = 1000; double _t0 = now_ns(), _t; int _bad = 0; \
	do { for (long _i = 0; _i < _batch; _i++) { if (!(stmt)) _bad++; } _n += _batch; \
	     _t = now_ns() - _t0; } while (_t < (min_ms) * 1e6); \
	printf("%s %.1f%s\n", name, _t / _n, _bad ? " (ERRORS)" : ""); fflush(stdout); } while (0)

static struct auth_user mkuser(const char *name, const char *group)
{
	struct auth_user u;

	memset(&u, 0, sizeof(u));
	snprintf(u.name, sizeof(u.name), "%s", name);
	if (group)
		snprintf(u.groups[u.n_groups++], sizeof(u.groups[0]), "%s", group);
	snprintf(u.groups[u.n_groups++], sizeof(u.groups[0]), "system:authenticated");
	return u;
}

int main(int argc, char **argv)
{
	int ms = argc > 1 ? atoi(argv[1]) : 300;
	int n_ns = argc > 2 ? atoi(argv[2]) : 1000;
	char dir[] = "/tmp/gannet-authbench-XXXXXX", p[512], cmd[600], tok_last[80] = "";
	struct gerr e = { 0 };
	struct authn *a = NULL;
	struct rbac *r = rbac_new();
	struct auth_user u;
	json_t *objs;
	size_t i;
	json_t *o;
	unsigned char *der = NULL, dig[32];
	int der_len;
	FILE *f;

	if (!mkdtemp(dir))
		return 1;
	log_level = LOG_LVL_WARN;
	if (pki_bootstrap(dir, "https://127.0.0.1:6443", NULL, 0, &e)) {
		fprintf(stderr, "bootstrap: %s\n", e.msg);
		return 1;
	}
	/* n_ns static tokens (one per node of a large cluster) */
	snprintf(p, sizeof(p), "%s/tokens.csv", dir);
	f = fopen(p, "w");
	for (int k = 0; k < n_ns; k++) {
		unsigned char rnd[16];

		RAND_bytes(rnd, sizeof(rnd));
		snprintf(tok_last, sizeof(tok_last), "tok");
		for (size_t j = 0; j < sizeof(rnd); j++)
			snprintf(tok_last + 3 + 2 * j, 3, "%02x", rnd[j]);
		fprintf(f, "%s,system:node:n%d,,system:nodes\n", tok_last, k);
	}
	fclose(f);
	if (authn_open(dir, p, &a, &e)) {
		fprintf(stderr, "authn_open: %s\n", e.msg);
		return 1;
	}
	snprintf(p, sizeof(p), "%s/pki/admin.crt", dir);
	f = fopen(p, "r");
	{
		X509 *x = PEM_read_X509(f, NULL, NULL, NULL);

		der_len = i2d_X509(x, &der);
		X509_free(x);
	}
	fclose(f);
	char *sa = authn_sa_token(a, "default", "builder");

	printf("param tokens %d namespaces %d\n", n_ns, n_ns);
	BENCH("authn_floor_sha256", ms, EVP_Digest(tok_last, strlen(tok_last), dig, NULL, EVP_sha256(), NULL));
	BENCH("authn_static_token", ms, !authn_authenticate(a, NULL, 0, tok_last, &u));
	BENCH("authn_sa_token", ms, !authn_authenticate(a, NULL, 0, sa, &u));
	BENCH("authn_client_cert", ms, !authn_authenticate(a, der, (size_t)der_len, NULL, &u));
	/* What a cache miss costs: parse + chain verification with OpenSSL. */
	{
		X509_STORE *st = X509_STORE_new();
		X509 *cax;

		snprintf(p, sizeof(p), "%s/pki/ca.crt", dir);
		f = fopen(p, "r");
		cax = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
		X509_STORE_add_cert(st, cax);
		BENCH("x509_verify_uncached", ms, ({
			const unsigned char *q = der;
			X509 *x = d2i_X509(NULL, &q, der_len);
			X509_STORE_CTX *c = X509_STORE_CTX_new();
			int ok = x && c && X509_STORE_CTX_init(c, st, x, NULL) &&
				 X509_verify_cert(c) == 1;
			X509_STORE_CTX_free(c);
			X509_free(x);
			ok; }));
		X509_free(cax);
		X509_STORE_free(st);
	}
	BENCH("authn_reject_bad_token", ms, authn_authenticate(a, NULL, 0, "nope-nope-nope", &u) != 0);

	/* RBAC: default policy, a RoleBinding to admin/edit/view in each of
	 * n_ns namespaces, one ClusterRoleBinding per node user. */
	objs = rbac_bootstrap_objects();
	json_array_foreach(objs, i, o)
		rbac_observe(r, NULL, o, false);
	json_decref(objs);
	for (int k = 0; k < n_ns; k++) {
		static const char *roles[] = { "admin", "edit", "view" };
		char buf[600];

		snprintf(buf, sizeof(buf),
			 "{\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"team\",\"namespace\":\"ns%d\"},"
			 "\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"%s\"},"
			 "\"subjects\":[{\"kind\":\"User\",\"name\":\"user%d\"}]}", k, roles[k % 3], k);
		o = json_loads(buf, 0, NULL);
		rbac_observe(r, NULL, o, false);
		json_decref(o);
	}
	{
		struct auth_user root = mkuser("admin", "system:masters");
		struct auth_user node = mkuser("system:node:n1", "system:nodes");
		struct auth_user owner = mkuser("user300", NULL);   /* admin of ns300 */
		struct auth_user nobody = mkuser("mallory", NULL);
		struct authz_attrs a_any = { "delete", "", "pods", NULL, "ns1", "p", NULL };
		struct authz_attrs a_node = { "watch", "", "pods", NULL, NULL, NULL, NULL };
		struct authz_attrs a_own = { "list", "apps", "deployments", NULL, "ns300", NULL, NULL };
		struct authz_attrs a_own_rb = { "create", "rbac.authorization.k8s.io", "rolebindings",
						NULL, "ns300", NULL, NULL };
		char reason[256];

		BENCH("authz_floor_masters", ms, rbac_authorize(r, &root, &a_any, reason, sizeof(reason)));
		BENCH("authz_node_crb", ms, rbac_authorize(r, &node, &a_node, reason, sizeof(reason)));
		BENCH("authz_rb_admin_via_view", ms, rbac_authorize(r, &owner, &a_own, reason, sizeof(reason)));
		BENCH("authz_rb_admin_direct", ms, rbac_authorize(r, &owner, &a_own_rb, reason, sizeof(reason)));
		BENCH("authz_deny", ms, !rbac_authorize(r, &nobody, &a_any, reason, sizeof(reason)));
	}

	/* Secretbox on a 2 KiB Secret vs bare AES-256-GCM of the same bytes. */
	{
		struct secretbox *sb = NULL;
		char plain[2048], *s = NULL, *out = NULL;
		size_t sl, ol;
		unsigned char key[32], iv[12], ct[2048 + 16], tag[16];
		int n;

		memset(plain, 'x', sizeof(plain));
		RAND_bytes(key, sizeof(key));
		snprintf(p, sizeof(p), "%s/secrets.key", dir);
		secretbox_open(p, &sb, &e);
		secretbox_seal(sb, plain, sizeof(plain), &s, &sl, &e);
		BENCH("box_floor_gcm_2k", ms, ({
			EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
			RAND_bytes(iv, sizeof(iv));
			int ok = EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, iv) == 1 &&
				 EVP_EncryptUpdate(c, ct, &n, (unsigned char *)plain, sizeof(plain)) == 1 &&
				 EVP_EncryptFinal_ex(c, ct + n, &n) == 1 &&
				 EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1;
			EVP_CIPHER_CTX_free(c);
			ok; }));
		BENCH("box_seal_2k", ms, ({
			char *x = NULL; size_t xl;
			int ok = !secretbox_seal(sb, plain, sizeof(plain), &x, &xl, NULL);
			free(x); ok; }));
		BENCH("box_open_2k", ms, ({
			int ok = !secretbox_open_msg(sb, s, sl, &out, &ol, NULL);
			free(out); ok; }));
		free(s);
		secretbox_close(sb);
	}

	free(sa);
	OPENSSL_free(der);
	authn_close(a);
	rbac_free(r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
