/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-apiserver: Kubernetes-style API server. Lifecycle: PKI bootstrap
 * (CA, serving cert, admin kubeconfig) -> store -> authn/RBAC/secretbox ->
 * bootstrap objects (default and kube-system namespaces, default RBAC) ->
 * watch cache (feeding RBAC) -> HTTPS. /readyz turns 200 once all are up. */
#include "apiserver/apiserver.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gannet-apiserver [options]\n"
		"  --data-dir DIR            state, PKI and kubeconfig (default /var/lib/gannet)\n"
		"  --listen ADDR:PORT        HTTPS listen address (default 127.0.0.1:6443)\n"
		"  --store URI               sqlite:<path> (default sqlite:<data-dir>/state.db) or etcd:<url>\n"
		"  --token-file FILE         static bearer tokens (token,user,uid,g1|g2)\n"
		"  --encryption-key-file F   AES-GCM key for Secrets (default <data-dir>/pki/encryption.key)\n"
		"  --tls-san NAME            extra SAN for the serving certificate (repeatable)\n"
		"  --max-body BYTES          request body limit (default 3145728)\n"
		"  --watch-cache-size N      events kept for watch resume (default 10000)\n"
		"  --bookmark-interval MS    idle time before a watch bookmark (default 10000)\n"
		"  -v                        more logging\n");
}

static char *read_file(const char *path, struct gerr *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		gerr_set(err, -errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
		} else {
			free(buf);
			buf = NULL;
			gerr_set(err, -EIO, "%s: read failed", path);
		}
	}
	fclose(f);
	return buf;
}

static void rbac_feed(const struct wc_event *ev, void *arg)
{
	struct apiserver *as = arg;

	if (strcmp(ev->kind->group, "rbac.authorization.k8s.io"))
		return;
	rbac_observe(as->rbac, ev->kind->kind, ev->obj, ev->type == STORE_EV_DELETE);
}

static int load_rbac(struct apiserver *as, struct gerr *err)
{
	for (size_t i = 0; i < reg_n_kinds; i++) {
		const struct api_kind *k = &reg_kinds[i];
		struct store_list l = { 0 };
		char prefix[256];
		int ret;

		if (strcmp(k->group, "rbac.authorization.k8s.io"))
			continue;
		reg_prefix(k, NULL, prefix, sizeof(prefix));
		ret = store_list(as->store, prefix, NULL, 0, &l, err);
		if (ret)
			return ret;
		for (size_t j = 0; j < l.n; j++) {
			json_t *obj = NULL;

			if (as_decode(as, k, l.items[j].value, l.items[j].len, l.items[j].mod_rev,
				      &obj, NULL) == 0) {
				rbac_observe(as->rbac, k->kind, obj, false);
				json_decref(obj);
			}
		}
		store_list_free(&l);
	}
	return 0;
}

static int bootstrap_objects(struct apiserver *as, struct gerr *err)
{
	const char *nss[] = { "default", "kube-system", "kube-public", "kube-node-lease" };
	json_t *objs, *o;
	size_t i;
	int ret = 0;

	for (i = 0; i < sizeof(nss) / sizeof(nss[0]); i++) {
		o = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "Namespace",
			      "metadata", "name", nss[i]);
		ret = as_ensure(as, o, err);
		json_decref(o);
		if (ret)
			return ret;
	}
	objs = rbac_bootstrap_objects();
	json_array_foreach(objs, i, o) {
		ret = as_ensure(as, o, err);
		if (ret)
			break;
	}
	json_decref(objs);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-dir", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "store", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "encryption-key-file", required_argument, NULL, 'k' },
		{ "tls-san", required_argument, NULL, 'S' },
		{ "max-body", required_argument, NULL, 'm' },
		{ "watch-cache-size", required_argument, NULL, 'w' },
		{ "bookmark-interval", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct apiserver as;
	const char *sans[16];
	size_t n_sans = 0;
	char key_file[600] = "", url[128], path[700];
	char *cert = NULL, *key = NULL, *ca = NULL;
	struct gerr err = { 0 };
	sigset_t set;
	int c, sig, ret = 1;

	snprintf(as.data_dir, sizeof(as.data_dir), "/var/lib/gannet");
	snprintf(as.listen_addr, sizeof(as.listen_addr), "127.0.0.1");
	as.listen_port = 6443;
	as.max_body = 3 * 1024 * 1024;
	as.bookmark_ms = 10000;
	as.watch_cache_size = 10000;
	log_set_prefix("apiserver");
	/* One thread per connection: without a cap glibc gives busy threads
	 * their own malloc arenas, and resident memory grows with them. */
	mallopt(M_ARENA_MAX, 2);
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(as.data_dir, sizeof(as.data_dir), "%s", optarg);
			break;
		case 'l': {
			const char *colon = strrchr(optarg, ':');

			if (!colon) {
				fprintf(stderr, "--listen wants ADDR:PORT\n");
				return 2;
			}
			snprintf(as.listen_addr, sizeof(as.listen_addr), "%.*s",
				 (int)(colon - optarg), optarg);
			as.listen_port = atoi(colon + 1);
			break;
		}
		case 's':
			snprintf(as.store_uri, sizeof(as.store_uri), "%s", optarg);
			break;
		case 't':
			snprintf(as.token_file, sizeof(as.token_file), "%s", optarg);
			break;
		case 'k':
			snprintf(key_file, sizeof(key_file), "%s", optarg);
			break;
		case 'S':
			if (n_sans < 16)
				sans[n_sans++] = optarg;
			break;
		case 'm':
			as.max_body = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			as.watch_cache_size = strtoull(optarg, NULL, 10);
			break;
		case 'b':
			as.bookmark_ms = atoi(optarg);
			break;
		case 'v':
			log_level++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!*as.store_uri)
		snprintf(as.store_uri, sizeof(as.store_uri), "sqlite:%s/state.db", as.data_dir);
	if (!*key_file)
		snprintf(key_file, sizeof(key_file), "%s/pki/encryption.key", as.data_dir);
	if (mkdir(as.data_dir, 0700) && errno != EEXIST) {
		pr_err("cannot create %s: %s", as.data_dir, strerror(errno));
		return 1;
	}
	/* Signals are handled synchronously by the main thread (sigwait);
	 * block them before any thread starts. SIGPIPE: a client that went
	 * away must not kill the server. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	snprintf(url, sizeof(url), "https://%s:%d", as.listen_addr, as.listen_port);
	if (pki_bootstrap(as.data_dir, url, sans, n_sans, &err))
		goto fail;
	snprintf(path, sizeof(path), "%s/pki/server.crt", as.data_dir);
	cert = read_file(path, &err);
	snprintf(path, sizeof(path), "%s/pki/server.key", as.data_dir);
	key = cert ? read_file(path, &err) : NULL;
	snprintf(path, sizeof(path), "%s/pki/ca.crt", as.data_dir);
	ca = key ? read_file(path, &err) : NULL;
	if (!ca)
		goto fail;
	if (store_open(as.store_uri, &as.store, &err))
		goto fail;
	if (authn_open(as.data_dir, *as.token_file ? as.token_file : NULL, &as.authn, &err))
		goto fail;
	as.rbac = rbac_new();
	if (!as.rbac) {
		gerr_set(&err, -ENOMEM, "rbac: out of memory");
		goto fail;
	}
	if (secretbox_open(key_file, &as.sb, &err))
		goto fail;
	if (bootstrap_objects(&as, &err))
		goto fail;
	if (wc_start(&as, as.watch_cache_size, &as.wc, &err))
		goto fail;
	wc_add_observer(as.wc, rbac_feed, &as);
	if (load_rbac(&as, &err) || wc_run(as.wc, &err))
		goto fail;
	if (http_start(&as, cert, key, ca, &err))
		goto fail;
	as.ready = 1;
	pr_info("serving on %s (store %s, data %s)", url, as.store_uri, as.data_dir);
	sigwait(&set, &sig);
	pr_info("signal %d: shutting down", sig);
	as.stopping = 1;
	wc_stop(as.wc);
	http_stop(&as);
	ret = 0;
	goto out;
fail:
	pr_err("%s", err.msg);
out:
	wc_free(as.wc);
	if (as.store)
		store_close(as.store);
	if (as.authn)
		authn_close(as.authn);
	rbac_free(as.rbac);
	if (as.sb)
		secretbox_close(as.sb);
	free(cert);
	free(key);
	free(ca);
	return ret;
}
