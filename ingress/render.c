/* SPDX-License-Identifier: Apache-2.0 */
/* Ingress → nginx.conf renderer (see render.h). Works in two passes: first
 * every owned Ingress (oldest first, so conflicts resolve like
 * ingress-nginx) is folded into a model of hosts → locations → upstreams
 * kept in jansson objects; then the model is printed with every collection
 * sorted, which is what makes the output byte-identical for equal input.
 *
 * Kubernetes path semantics map onto nginx locations without regexes:
 *   Exact /a            → location = /a
 *   Prefix /a (or /a/)  → location = /a  +  location ^~ /a/
 *   Prefix /            → location /
 * nginx picks `=` first and otherwise the longest prefix, which is exactly
 * "Exact beats Prefix, longest Prefix wins, element-wise" (/a/ never
 * matches /ab). Wildcard hosts become `~^[^.]+\.rest$` server names so they
 * match one label only, and nginx already ranks exact names above regexes. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/fileutil.h"
#include "common/names.h"
#include "ingress/render.h"

/* Priorities of location slots: an Exact path owns its `=` slot even when a
 * Prefix path of the same value wants it. */
#define PRIO_PREFIX 1
#define PRIO_EXACT  2

struct rctx {
	const struct ing_snapshot *snap;
	const struct ing_render_opts *o;
	json_t *hosts;      /* host ("" = catch-all) → host model */
	json_t *upstreams;  /* name → array of "ip:port" */
	json_t *certs;      /* "ns/secret" → {"path", "sha"} or false */
	json_t *status;
	json_t *cert_files;
	struct gerr *err;
	int fatal;          /* first -errno of a whole-render failure */
};

/* ---------------------------------------------------------------- helpers */

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char *obj_ns(json_t *o)
{
	const char *ns = jstr(json_object_get(o, "metadata"), "namespace");
	return ns && *ns ? ns : "default";
}

static const char *obj_name(json_t *o)
{
	const char *n = jstr(json_object_get(o, "metadata"), "name");
	return n ? n : "";
}

static const char *obj_annot(json_t *o, const char *k)
{
	return jstr(json_object_get(json_object_get(o, "metadata"), "annotations"), k);
}

static json_t *find_obj(json_t *arr, const char *ns, const char *name)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		if (!strcmp(obj_ns(o), ns) && !strcmp(obj_name(o), name))
			return o;
	}
	return NULL;
}

static void add_msg(json_t *st, const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends a message to st[kind] once (identical messages are not repeated:
 * the same missing Service behind ten paths is one problem). */
static void add_msg(json_t *st, const char *kind, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	json_t *arr = json_object_get(st, kind), *v;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_array_foreach(arr, i, v) {
		if (!strcmp(json_string_value(v), buf))
			return;
	}
	json_array_append_new(arr, json_string(buf));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Keys of obj in byte order; caller frees the array (not the strings). */
static const char **sorted_keys(json_t *obj, size_t *n)
{
	const char **keys = calloc(json_object_size(obj) + 1, sizeof(*keys));
	const char *k;
	json_t *v;
	size_t i = 0;

	if (!keys)
		return NULL;
	json_object_foreach(obj, k, v)
		keys[i++] = k;
	qsort(keys, i, sizeof(*keys), cmp_str);
	*n = i;
	return keys;
}

/* DNS-1123 subdomain with an optional leading "*." (Ingress host rules). */
static bool valid_host(const char *h)
{
	return name_dns1123_subdomain(strncmp(h, "*.", 2) ? h : h + 2);
}

/* Paths go into nginx unquoted, so only characters that can neither end a
 * token nor start a variable/regex are accepted; "." and ".." segments are
 * refused because nginx normalises them away and the location would never
 * match. */
static bool valid_path(const char *p)
{
	if (p[0] != '/' || strlen(p) > 1024)
		return false;
	for (const char *c = p; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr("/-._~@:!&'()*+,=%", *c))
			return false;
		if (c[0] == '/' && c[1] == '/')
			return false;
		if (c[0] == '/' && c[1] == '.' && (c[2] == '/' || !c[2] ||
			(c[2] == '.' && (c[3] == '/' || !c[3]))))
			return false;
	}
	return true;
}

static bool valid_ip(const char *ip)
{
	if (!*ip || strlen(ip) > 45)
		return false;
	for (const char *c = ip; *c; c++) {
		if (!isxdigit((unsigned char)*c) && *c != '.' && *c != ':')
			return false;
	}
	return true;
}

static bool valid_listen(const char *l)
{
	if (!*l || strlen(l) > 64)
		return false;
	for (const char *c = l; *c; c++) {
		if (!isalnum((unsigned char)*c) && !strchr(".:[]-", *c))
			return false;
	}
	return true;
}

/* Names used in file names: DNS labels/subdomains only. */
static bool valid_name(const char *n)
{
	if (!*n || strlen(n) > 253)
		return false;
	for (const char *c = n; *c; c++) {
		if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && !strchr(".-", *c))
			return false;
	}
	return true;
}

bool ing_host_matches(const char *r, const char *h)
{
	if (!strncmp(r, "*.", 2)) {
		size_t rl = strlen(r + 1), hl = strlen(h);
		/* The wildcard stands for exactly one non-empty label. */
		if (hl <= rl || strcasecmp(h + hl - rl, r + 1))
			return false;
		return !memchr(h, '.', hl - rl);
	}
	return !strcasecmp(r, h);
}

bool ing_path_matches(const char *path_type, const char *ing_path, const char *p)
{
	size_t n;

	if (!strcmp(path_type, "Exact"))
		return !strcmp(ing_path, p);
	n = strlen(ing_path);
	while (n > 1 && ing_path[n - 1] == '/')
		n--;
	if (n == 1 && ing_path[0] == '/')
		return p[0] == '/';
	return !strncmp(ing_path, p, n) && (p[n] == '\0' || p[n] == '/');
}

/* ------------------------------------------------------------ ownership */

/* Same rules as ingress-nginx: spec.ingressClassName names our class (or a
 * class whose controller is ours), else the legacy annotation, else no
 * class at all and we are the default class. */
static bool owns(struct rctx *c, json_t *ing)
{
	const char *cls = jstr(json_object_get(ing, "spec"), "ingressClassName");
	const char *ann = obj_annot(ing, "kubernetes.io/ingress.class");
	json_t *ic;
	size_t i;

	if (cls) {
		if (!strcmp(cls, c->o->class_name))
			return true;
		json_array_foreach(c->snap->ingress_classes, i, ic) {
			const char *ctl = jstr(json_object_get(ic, "spec"), "controller");
			if (!strcmp(obj_name(ic), cls) && ctl && !strcmp(ctl, c->o->controller))
				return true;
		}
		return false;
	}
	if (ann)
		return !strcmp(ann, c->o->class_name);
	if (c->o->is_default_class)
		return true;
	json_array_foreach(c->snap->ingress_classes, i, ic) {
		const char *def = obj_annot(ic, "ingressclass.kubernetes.io/is-default-class");
		const char *ctl = jstr(json_object_get(ic, "spec"), "controller");
		if (def && !strcmp(def, "true") && ctl && !strcmp(ctl, c->o->controller))
			return true;
	}
	return false;
}

/* ------------------------------------------------------------- backends */

/* Resolves an Ingress backend to an upstream name (created on first use).
 * Returns NULL when the route must answer 503; the reason is in st. */
static const char *resolve_backend(struct rctx *c, json_t *st, const char *ns,
				   json_t *be, const char *where)
{
	json_t *svcref = json_object_get(be, "service"), *port, *svc, *sp = NULL, *v;
	json_t *ep, *subset, *servers;
	const char *svcname, *pname = NULL, *spname;
	long long pnum = -1, spnum, tpnum = -1;
	char upname[300], addr[80];
	size_t i, j, k;

	if (json_is_object(svcref)) {
		svcname = jstr(svcref, "name");
		port = json_object_get(svcref, "port");
		if (json_is_integer(json_object_get(port, "number")))
			pnum = json_integer_value(json_object_get(port, "number"));
		pname = jstr(port, "name");
	} else if (jstr(be, "serviceName")) {
		/* extensions/v1beta1 shape kept in old manifests. */
		svcname = jstr(be, "serviceName");
		port = json_object_get(be, "servicePort");
		add_msg(st, "warnings", "legacy serviceName/servicePort backend converted to service.name/service.port");
		if (json_is_integer(port)) {
			pnum = json_integer_value(port);
		} else if (json_is_string(port)) {
			char *end;
			long long n = strtoll(json_string_value(port), &end, 10);
			if (*json_string_value(port) && !*end)
				pnum = n;
			else
				pname = json_string_value(port);
		}
	} else if (json_object_get(be, "resource")) {
		add_msg(st, "errors", "%s: resource backends are not supported (503)", where);
		return NULL;
	} else {
		add_msg(st, "errors", "%s: backend names no service (503)", where);
		return NULL;
	}
	if (!svcname || !*svcname || (pnum < 0 && (!pname || !*pname))) {
		add_msg(st, "errors", "%s: backend needs a service name and a port number or name (503)", where);
		return NULL;
	}
	/* Names end up in upstream names: API validation should have
	 * caught anything else, but the config must not depend on it. */
	svc = valid_name(svcname) ? find_obj(c->snap->services, ns, svcname) : NULL;
	if (!svc) {
		add_msg(st, "errors", "service %s/%s not found (503)", ns, svcname);
		return NULL;
	}
	v = json_object_get(svc, "spec");
	if (jstr(v, "type") && !strcmp(jstr(v, "type"), "ExternalName")) {
		add_msg(st, "errors", "service %s/%s: ExternalName services are not supported (503)", ns, svcname);
		return NULL;
	}
	json_array_foreach(json_object_get(v, "ports"), i, port) {
		if (pnum >= 0 ? json_integer_value(json_object_get(port, "port")) == pnum
			      : (jstr(port, "name") && !strcmp(jstr(port, "name"), pname))) {
			sp = port;
			break;
		}
	}
	if (!sp) {
		if (pnum >= 0)
			add_msg(st, "errors", "service %s/%s has no port %lld (503)", ns, svcname, pnum);
		else
			add_msg(st, "errors", "service %s/%s has no port named %s (503)", ns, svcname, pname);
		return NULL;
	}
	if (jstr(sp, "protocol") && strcmp(jstr(sp, "protocol"), "TCP")) {
		add_msg(st, "errors", "service %s/%s port %lld is %s, not TCP (503)", ns, svcname,
			(long long)json_integer_value(json_object_get(sp, "port")), jstr(sp, "protocol"));
		return NULL;
	}
	spname = jstr(sp, "name") ? jstr(sp, "name") : "";
	spnum = json_integer_value(json_object_get(sp, "port"));
	v = json_object_get(sp, "targetPort");
	/* A named targetPort is resolved through the Endpoints port of the
	 * same Service port name below. */
	if (json_is_integer(v))
		tpnum = json_integer_value(v);
	else if (!json_is_string(v))
		tpnum = spnum;

	snprintf(upname, sizeof(upname), "up_%s_%s_%lld", ns, svcname, spnum);
	if (json_object_get(c->upstreams, upname))
		return json_object_iter_key(json_object_iter_at(c->upstreams, upname));

	/* Endpoints carry the Service port's name; a single unnamed port
	 * matches by being alone. A numeric targetPort is the fallback when
	 * the Endpoints object lists no ports (hand-written snapshots). */
	servers = json_array();
	ep = find_obj(c->snap->endpoints, ns, svcname);
	json_array_foreach(json_object_get(ep, "subsets"), i, subset) {
		json_t *ports = json_object_get(subset, "ports"), *ap, *addr_o;
		long long epport = -1;

		json_array_foreach(ports, j, ap) {
			const char *n = jstr(ap, "name") ? jstr(ap, "name") : "";
			if (!strcmp(n, spname)) {
				epport = json_integer_value(json_object_get(ap, "port"));
				break;
			}
		}
		if (epport < 0 && json_array_size(ports) == 1 && !*spname)
			epport = json_integer_value(json_object_get(json_array_get(ports, 0), "port"));
		if (epport < 0 && !json_array_size(ports) && tpnum > 0)
			epport = tpnum;
		if (epport <= 0 || epport > 65535)
			continue;
		json_array_foreach(json_object_get(subset, "addresses"), k, addr_o) {
			const char *ip = jstr(addr_o, "ip");
			if (!ip || !valid_ip(ip))
				continue;
			snprintf(addr, sizeof(addr), strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, epport);
			json_array_append_new(servers, json_string(addr));
		}
	}
	if (!json_array_size(servers)) {
		json_decref(servers);
		add_msg(st, "warnings", "service %s/%s port %lld has no ready endpoints (503)", ns, svcname, spnum);
		return NULL;
	}
	json_object_set_new(c->upstreams, upname, servers);
	return json_object_iter_key(json_object_iter_at(c->upstreams, upname));
}

/* ------------------------------------------------------------------ TLS */

/* Secret data is base64 (what the API returns); stringData is accepted for
 * hand-written snapshots. Returns a malloc'd buffer or NULL. */
static unsigned char *secret_field(json_t *sec, const char *k, size_t *len)
{
	const char *b64 = jstr(json_object_get(sec, "data"), k), *raw;
	unsigned char *out;
	size_t n;
	int r;

	if (!b64) {
		raw = jstr(json_object_get(sec, "stringData"), k);
		if (!raw)
			return NULL;
		*len = strlen(raw);
		return (unsigned char *)strndup(raw, *len);
	}
	n = strlen(b64);
	if (!n || n % 4)
		return NULL;
	out = malloc(n / 4 * 3 + 1);
	if (!out)
		return NULL;
	r = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n);
	if (r < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as data. */
	if (b64[n - 1] == '=')
		r--;
	if (b64[n - 2] == '=')
		r--;
	*len = (size_t)r;
	out[r] = 0;
	return out;
}

/* Checks that the PEMs parse and belong together: a broken certificate
 * would fail `nginx -t` and take every other Ingress down with it. */
static bool pem_pair_ok(const unsigned char *crt, size_t crtlen,
			const unsigned char *key, size_t keylen)
{
	BIO *b1 = BIO_new_mem_buf(crt, (int)crtlen), *b2 = BIO_new_mem_buf(key, (int)keylen);
	X509 *x = b1 ? PEM_read_bio_X509(b1, NULL, NULL, NULL) : NULL;
	EVP_PKEY *pk = b2 ? PEM_read_bio_PrivateKey(b2, NULL, NULL, NULL) : NULL;
	bool ok = x && pk && X509_check_private_key(x, pk) == 1;

	X509_free(x);
	EVP_PKEY_free(pk);
	BIO_free(b1);
	BIO_free(b2);
	return ok;
}

/* The PEM file nginx reads: certificate chain, then key. The joined copy
 * holds the private key, so it is wiped before it is freed. */
static int write_pem(const char *path, const void *crt, size_t crtlen,
		     const void *key, size_t keylen)
{
	size_t n = crtlen + 1 + keylen;
	char *buf = malloc(n);
	int rc;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, crt, crtlen);
	buf[crtlen] = '\n';
	memcpy(buf + crtlen + 1, key, keylen);
	rc = fu_write_atomic(path, buf, n, 0600, 0);
	OPENSSL_cleanse(buf, n);
	free(buf);
	return rc;
}

/* "<uid>/<resourceVersion>" of a stored Secret, or NULL when it has none
 * (snapshots from files): what the certificate cache is keyed on. */
static const char *secret_version(json_t *sec, char *buf, size_t len)
{
	json_t *md = json_object_get(sec, "metadata");
	const char *rv = jstr(md, "resourceVersion"), *uid = jstr(md, "uid");

	if (!rv || !*rv)
		return NULL;
	snprintf(buf, len, "%s/%s", uid ? uid : "", rv);
	return buf;
}

static void cache_put(struct rctx *c, const char *key, const char *ver, json_t *entry)
{
	if (!c->o->cert_cache || !ver || !entry) {
		json_decref(entry);
		return;
	}
	if (!c->o->cert_cache->by_secret)
		c->o->cert_cache->by_secret = json_object();
	json_object_set_new(entry, "ver", json_string(ver));
	json_object_set_new(c->o->cert_cache->by_secret, key, entry);
}

/* Returns the cert model {"path", "sha"} for ns/secret, writing the PEM file
 * once per render, or NULL (reason in st). With a cache, a Secret whose
 * uid and resourceVersion did not change since an earlier render is not
 * decoded, parsed with OpenSSL or rewritten again (the verdict and the
 * file are reused, as long as the file is still there). */
static json_t *prepare_cert(struct rctx *c, json_t *st, const char *ns, const char *name)
{
	char key[512], path[4096], sha[65], vbuf[160];
	const char *ver = NULL;
	json_t *ce;
	unsigned char *crt = NULL, *pkey = NULL, md[32];
	size_t crtlen = 0, keylen = 0;
	json_t *sec, *m = NULL;
	const char *type;
	unsigned int mdlen = 0;
	EVP_MD_CTX *mctx;
	int rc;

	snprintf(key, sizeof(key), "%s/%s", ns, name);
	m = json_object_get(c->certs, key);
	if (m) {
		if (json_is_false(m)) {
			add_msg(st, "errors", "secret %s missing or not kubernetes.io/tls with a valid tls.crt/tls.key (routes of its hosts answer 503)", key);
			return NULL;
		}
		return m;
	}
	m = NULL;
	sec = valid_name(name) && valid_name(ns) ? find_obj(c->snap->secrets, ns, name) : NULL;
	ver = sec ? secret_version(sec, vbuf, sizeof(vbuf)) : NULL;
	ce = ver && c->o->cert_cache ? json_object_get(c->o->cert_cache->by_secret, key) : NULL;
	if (ce && !strcmp(jstr(ce, "ver") ?: "", ver)) {
		const char *cpath = jstr(ce, "path");

		if (json_is_true(json_object_get(ce, "bad"))) {
			json_object_set_new(c->certs, key, json_false());
			add_msg(st, "errors", "secret %s missing or not kubernetes.io/tls with a valid tls.crt/tls.key (routes of its hosts answer 503)", key);
			return NULL;
		}
		if (cpath && !access(cpath, R_OK)) {
			m = json_pack("{s:s, s:s}", "path", cpath, "sha", jstr(ce, "sha") ?: "");
			json_object_set_new(c->certs, key, m);
			json_array_append_new(c->cert_files, json_string(cpath));
			return m;
		}
	}
	type = jstr(sec, "type");
	if (sec && type && !strcmp(type, "kubernetes.io/tls")) {
		crt = secret_field(sec, "tls.crt", &crtlen);
		pkey = secret_field(sec, "tls.key", &keylen);
	}
	if (!crt || !pkey || !pem_pair_ok(crt, crtlen, pkey, keylen)) {
		json_object_set_new(c->certs, key, json_false());
		cache_put(c, key, ver, json_pack("{s:b}", "bad", 1));
		add_msg(st, "errors", "secret %s missing or not kubernetes.io/tls with a valid tls.crt/tls.key (routes of its hosts answer 503)", key);
		goto out;
	}
	mctx = EVP_MD_CTX_new();
	if (!mctx || EVP_DigestInit_ex(mctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(mctx, crt, crtlen) != 1 || EVP_DigestUpdate(mctx, pkey, keylen) != 1 ||
	    EVP_DigestFinal_ex(mctx, md, &mdlen) != 1) {
		EVP_MD_CTX_free(mctx);
		c->fatal = c->fatal ? c->fatal : -ENOMEM;
		goto out;
	}
	EVP_MD_CTX_free(mctx);
	for (unsigned int i = 0; i < mdlen; i++)
		sprintf(sha + 2 * i, "%02x", md[i]);
	snprintf(path, sizeof(path), "%s/%s_%s.pem", c->o->cert_dir, ns, name);
	rc = write_pem(path, crt, crtlen, pkey, keylen);
	if (rc) {
		gerr_set(c->err, rc, "write %s: %s", path, strerror(-rc));
		c->fatal = c->fatal ? c->fatal : rc;
		goto out;
	}
	m = json_pack("{s:s, s:s}", "path", path, "sha", sha);
	cache_put(c, key, ver, json_pack("{s:s, s:s}", "path", path, "sha", sha));
	json_object_set_new(c->certs, key, m);
	json_array_append_new(c->cert_files, json_string(path));
out:
	free(crt);
	free(pkey);
	return m;
}

/* ---------------------------------------------------------------- model */

static json_t *get_host(struct rctx *c, const char *host)
{
	json_t *h = json_object_get(c->hosts, host);

	if (!h) {
		h = json_pack("{s:{}}", "locs");
		json_object_set_new(c->hosts, host, h);
	}
	return h;
}

static json_t *target(const char *up, const char *owner)
{
	return up ? json_pack("{s:s, s:s}", "up", up, "owner", owner)
		  : json_pack("{s:n, s:s}", "up", "owner", owner);
}

static void set_loc(json_t *h, const char *mod, const char *path, int prio,
		    const char *up, const char *owner)
{
	char k[2300];
	json_t *t = target(up, owner);

	snprintf(k, sizeof(k), "%s %s", path, mod);
	json_object_set_new(t, "mod", json_string(mod));
	json_object_set_new(t, "path", json_string(path));
	json_object_set_new(t, "prio", json_integer(prio));
	json_object_set_new(json_object_get(h, "locs"), k, t);
}

static json_t *get_loc(json_t *h, const char *mod, const char *path)
{
	char k[2300];

	snprintf(k, sizeof(k), "%s %s", path, mod);
	return json_object_get(json_object_get(h, "locs"), k);
}

static void add_path(struct rctx *c, json_t *st, const char *host, json_t *h,
		     const char *type, const char *path, const char *up, const char *owner)
{
	const char *hn = *host ? host : "(any host)";
	json_t *prev;

	if (!strcmp(type, "Exact")) {
		prev = get_loc(h, "=", path);
		if (prev && json_integer_value(json_object_get(prev, "prio")) == PRIO_EXACT) {
			add_msg(st, "warnings", "host %s: Exact path %s already defined by %s; ignored",
				hn, path, jstr(prev, "owner"));
			return;
		}
		set_loc(h, "=", path, PRIO_EXACT, up, owner);
		return;
	}
	/* Prefix and ImplementationSpecific: trailing slashes do not count. */
	char norm[1100];
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	snprintf(norm, sizeof(norm), "%.*s", (int)n, path);
	if (!strcmp(norm, "/")) {
		prev = get_loc(h, "", "/");
		if (prev) {
			add_msg(st, "warnings", "host %s: Prefix path / already defined by %s; ignored",
				hn, jstr(prev, "owner"));
			return;
		}
		set_loc(h, "", "/", PRIO_PREFIX, up, owner);
		return;
	}
	char sub[1104];
	snprintf(sub, sizeof(sub), "%s/", norm);
	prev = get_loc(h, "^~", sub);
	if (prev) {
		add_msg(st, "warnings", "host %s: Prefix path %s already defined by %s; ignored",
			hn, norm, jstr(prev, "owner"));
		return;
	}
	set_loc(h, "^~", sub, PRIO_PREFIX, up, owner);
	if (!get_loc(h, "=", norm))
		set_loc(h, "=", norm, PRIO_PREFIX, up, owner);
}

static json_t *ing_backend(json_t *spec, json_t *st)
{
	json_t *db = json_object_get(spec, "defaultBackend");

	if (!db && (db = json_object_get(spec, "backend")))
		add_msg(st, "warnings", "legacy spec.backend converted to spec.defaultBackend");
	return db;
}

static void fold_ingress(struct rctx *c, json_t *ing)
{
	const char *ns = obj_ns(ing), *name = obj_name(ing);
	json_t *spec = json_object_get(ing, "spec"), *st, *tlsmap, *tls, *rule, *p, *v;
	json_t *db;
	const char *db_up = NULL;
	char owner[600], where[1400];
	size_t i, j;
	bool tls_on = c->o->cert_dir && c->o->listen_https && c->o->listen_https[0];

	snprintf(owner, sizeof(owner), "%s/%s", ns, name);
	st = json_pack("{s:[], s:[], s:[]}", "errors", "warnings", "hosts");
	json_object_set_new(c->status, owner, st);
	if (!valid_name(ns) || !valid_name(name)) {
		add_msg(st, "errors", "invalid namespace or name; Ingress ignored");
		return;
	}
	tlsmap = json_object();

	json_array_foreach(json_object_get(spec, "tls"), i, tls) {
		const char *sn = jstr(tls, "secretName");
		json_t *cert, *hv;

		if (!tls_on) {
			add_msg(st, "warnings", "TLS is not enabled on this controller; spec.tls ignored");
			break;
		}
		if (!sn || !*sn) {
			add_msg(st, "errors", "spec.tls[%zu] has no secretName; ignored", i);
			continue;
		}
		if (!json_array_size(json_object_get(tls, "hosts")))
			add_msg(st, "warnings", "spec.tls[%zu] lists no hosts; ignored", i);
		cert = prepare_cert(c, st, ns, sn);
		json_array_foreach(json_object_get(tls, "hosts"), j, hv) {
			const char *h = json_string_value(hv);
			if (h && !json_object_get(tlsmap, h))
				json_object_set_new(tlsmap, h, cert ? json_incref(cert) : json_false());
		}
	}

	db = ing_backend(spec, st);
	if (db) {
		db_up = resolve_backend(c, st, ns, db, "defaultBackend");
		json_t *any = get_host(c, "");
		if (!json_object_get(any, "dflt"))
			json_object_set_new(any, "dflt", target(db_up, owner));
	}

	json_array_foreach(json_object_get(spec, "rules"), i, rule) {
		const char *host = jstr(rule, "host") ? jstr(rule, "host") : "";
		json_t *h, *cert;

		if (*host && !valid_host(host)) {
			add_msg(st, "errors", "rules[%zu]: invalid host \"%.200s\"; rule ignored", i, host);
			continue;
		}
		h = get_host(c, host);
		if (*host) {
			bool seen = false;
			json_array_foreach(json_object_get(st, "hosts"), j, v)
				seen |= !strcmp(json_string_value(v), host);
			if (!seen)
				json_array_append_new(json_object_get(st, "hosts"), json_string(host));
		}
		cert = *host ? json_object_get(tlsmap, host) : NULL;
		if (cert) {
			json_t *cur = json_object_get(h, "tls");
			/* A usable certificate beats a broken claim. */
			if (!cur || (json_is_false(cur) && json_is_object(cert))) {
				json_object_set(h, "tls", cert);
				json_object_set_new(h, "tls_owner", json_string(owner));
			} else if (!json_equal(cur, cert)) {
				add_msg(st, "warnings", "host %s: TLS already configured by %s; this spec.tls entry ignored",
					host, jstr(h, "tls_owner"));
			}
		}
		if (db && !json_object_get(h, "dflt"))
			json_object_set_new(h, "dflt", target(db_up, owner));

		json_array_foreach(json_object_get(json_object_get(rule, "http"), "paths"), j, p) {
			const char *path = jstr(p, "path"), *type = jstr(p, "pathType");
			const char *up;

			if (!type) {
				add_msg(st, "warnings", "pathType missing; treated as ImplementationSpecific");
				type = "ImplementationSpecific";
			}
			if (strcmp(type, "Exact") && strcmp(type, "Prefix") &&
			    strcmp(type, "ImplementationSpecific")) {
				add_msg(st, "errors", "rules[%zu].paths[%zu]: invalid pathType \"%.100s\"; path ignored",
					i, j, type);
				continue;
			}
			if (!path || !*path) {
				if (strcmp(type, "ImplementationSpecific")) {
					add_msg(st, "errors", "rules[%zu].paths[%zu]: %s path needs a value; path ignored",
						i, j, type);
					continue;
				}
				path = "/";
			}
			if (!valid_path(path)) {
				add_msg(st, "errors", "rules[%zu].paths[%zu]: invalid path \"%.200s\" (must start with / and use URL path characters); path ignored",
					i, j, path);
				continue;
			}
			snprintf(where, sizeof(where), "host %s path %s", *host ? host : "*", path);
			up = resolve_backend(c, st, ns, json_object_get(p, "backend"), where);
			add_path(c, st, host, h, type, path, up, owner);
		}
	}
	json_decref(tlsmap);
}

/* Oldest first (then namespace/name): the first Ingress to claim a
 * host/path keeps it, as in ingress-nginx. */
static int cmp_ing(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *tx = jstr(json_object_get(x, "metadata"), "creationTimestamp");
	const char *ty = jstr(json_object_get(y, "metadata"), "creationTimestamp");
	int r = strcmp(tx ? tx : "", ty ? ty : "");

	if (!r)
		r = strcmp(obj_ns(x), obj_ns(y));
	if (!r)
		r = strcmp(obj_name(x), obj_name(y));
	return r;
}

/* --------------------------------------------------------------- output */

static void emit_target(FILE *f, json_t *t, bool tls_bad)
{
	const char *up = jstr(t, "up");

	fprintf(f, "\t\t\t# %s\n", jstr(t, "owner"));
	if (up && !tls_bad)
		fprintf(f, "\t\t\tproxy_pass http://%s;\n", up);
	else
		fprintf(f, "\t\t\treturn 503;\n");
}

static void emit_locations(FILE *f, json_t *h, bool tls_bad)
{
	json_t *locs = json_object_get(h, "locs"), *dflt = json_object_get(h, "dflt");
	size_t n = 0;
	const char **keys = sorted_keys(locs, &n);
	bool have_root = false;

	for (size_t i = 0; keys && i < n; i++) {
		json_t *t = json_object_get(locs, keys[i]);
		const char *mod = jstr(t, "mod");

		if (!*mod)
			have_root = true;
		fprintf(f, "\t\tlocation %s%s%s {\n", mod, *mod ? " " : "", jstr(t, "path"));
		emit_target(f, t, tls_bad);
		fprintf(f, "\t\t}\n");
	}
	free(keys);
	if (have_root)
		return;
	fprintf(f, "\t\tlocation / {\n");
	if (dflt)
		emit_target(f, dflt, tls_bad);
	else
		fprintf(f, "\t\t\treturn 404;\n");
	fprintf(f, "\t\t}\n");
}

static void emit_server_name(FILE *f, const char *host)
{
	if (strncmp(host, "*.", 2)) {
		fprintf(f, "\t\tserver_name %s;\n", host);
		return;
	}
	/* One label exactly, unlike nginx's own "*." which matches several. */
	fprintf(f, "\t\tserver_name ~^[^.]+");
	for (const char *p = host + 1; *p; p++)
		fprintf(f, *p == '.' ? "\\." : "%c", *p);
	fprintf(f, "$;\n");
}

static void emit(struct rctx *c, FILE *f)
{
	const struct ing_render_opts *o = c->o;
	static const char *const def_http[] = { "80", NULL };
	const char *const *lh = o->listen_http && o->listen_http[0] ? o->listen_http : def_http;
	const char *const *ls = c->o->cert_dir && o->listen_https && o->listen_https[0] ?
		o->listen_https : NULL;
	const char **keys;
	size_t n = 0;
	bool any_tls = false;
	json_t *h, *v;
	const char *k;

	fprintf(f, "# Generated by gannet-ingress from the API snapshot; do not edit.\n"
		"worker_processes %d;\n"
		"pid nginx.pid;\n"
		"error_log logs/error.log notice;\n"
		/* Small-response tuning: enough connections for many
		 * keep-alive clients plus their upstream connections. */
		"worker_rlimit_nofile 16384;\n"
		"events {\n\tworker_connections 8192;\n}\n"
		"http {\n"
		"\t%s\n"
		"\tclient_body_temp_path tmp/body;\n\tproxy_temp_path tmp/proxy;\n"
		"\tfastcgi_temp_path tmp/fastcgi;\n\tuwsgi_temp_path tmp/uwsgi;\n\tscgi_temp_path tmp/scgi;\n"
		"\tserver_tokens off;\n"
		"\tserver_names_hash_bucket_size 128;\n"
		"\tkeepalive_timeout 60s;\n"
		"\tkeepalive_requests 100000;\n"
		"\ttcp_nodelay on;\n"
		/* Keep-alive to upstreams needs HTTP/1.1 and an empty
		 * Connection header unless the client is upgrading. */
		"\tmap $http_upgrade $connection_upgrade {\n\t\tdefault upgrade;\n\t\t'' '';\n\t}\n"
		"\tproxy_http_version 1.1;\n"
		"\tproxy_set_header Upgrade $http_upgrade;\n"
		"\tproxy_set_header Connection $connection_upgrade;\n"
		"\tproxy_set_header Host $host;\n"
		"\tproxy_set_header X-Real-IP $remote_addr;\n"
		"\tproxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
		"\tproxy_set_header X-Forwarded-Host $host;\n"
		"\tproxy_set_header X-Forwarded-Port $server_port;\n"
		"\tproxy_set_header X-Forwarded-Proto $scheme;\n"
		/* A pod torn down mid-rollout can swallow SYNs for a
		 * moment: 2 s (one SYN retransmit) then the next upstream,
		 * rather than holding the request 5 s. proxy_next_upstream
		 * retries connect errors, resets and timeouts (only before
		 * a response started, and never a non-idempotent request
		 * already sent), which covers pods stopping before the
		 * reload drops them. */
		"\tproxy_connect_timeout 2s;\n"
		"\tproxy_next_upstream error timeout;\n"
		"\tssl_protocols TLSv1.2 TLSv1.3;\n"
		"\tssl_session_cache shared:SSL:1m;\n",
		o->worker_processes > 0 ? o->worker_processes : 1,
		o->access_log ? "access_log logs/access.log;" : "access_log off;");

	keys = sorted_keys(c->upstreams, &n);
	for (size_t i = 0; keys && i < n; i++) {
		json_t *srv = json_object_get(c->upstreams, keys[i]);
		size_t m = json_array_size(srv);
		const char **addrs = calloc(m + 1, sizeof(*addrs));
		size_t j;

		json_array_foreach(srv, j, v)
			addrs[j] = json_string_value(v);
		qsort(addrs, m, sizeof(*addrs), cmp_str);
		fprintf(f, "\tupstream %s {\n", keys[i]);
		for (j = 0; j < m; j++) {
			if (j && !strcmp(addrs[j], addrs[j - 1]))
				continue;
			/* max_fails=0: endpoint readiness is the API's job;
			 * nginx must not mark a pod down for a 30 s period. */
			fprintf(f, "\t\tserver %s max_fails=0;\n", addrs[j]);
		}
		/* Idle keep-alive connections per worker; a higher request
		 * count per connection avoids reconnects under load. */
		fprintf(f, "\t\tkeepalive 64;\n\t\tkeepalive_requests 100000;\n"
			"\t\tkeepalive_timeout 60s;\n\t}\n");
		free(addrs);
	}
	free(keys);

	json_object_foreach(c->hosts, k, h) {
		if (*k && ls && json_is_object(json_object_get(h, "tls")))
			any_tls = true;
	}

	/* Catch-all server: rules without host and the default backend. */
	fprintf(f, "\tserver {\n");
	for (const char *const *l = lh; *l; l++)
		fprintf(f, "\t\tlisten %s default_server;\n", *l);
	fprintf(f, "\t\tserver_name _;\n");
	h = json_object_get(c->hosts, "");
	if (h) {
		emit_locations(f, h, false);
	} else {
		fprintf(f, "\t\tlocation / {\n\t\t\treturn 404;\n\t\t}\n");
	}
	fprintf(f, "\t}\n");
	if (any_tls) {
		/* Unknown SNI names get no certificate at all. */
		fprintf(f, "\tserver {\n");
		for (const char *const *l = ls; *l; l++)
			fprintf(f, "\t\tlisten %s ssl default_server;\n", *l);
		fprintf(f, "\t\tserver_name _;\n\t\tssl_reject_handshake on;\n\t}\n");
	}

	keys = sorted_keys(c->hosts, &n);
	for (size_t i = 0; keys && i < n; i++) {
		json_t *tls;
		bool tls_ok, tls_bad;

		if (!*keys[i])
			continue;
		h = json_object_get(c->hosts, keys[i]);
		tls = json_object_get(h, "tls");
		tls_ok = ls && json_is_object(tls);
		tls_bad = json_is_false(tls);
		fprintf(f, "\tserver {\n");
		for (const char *const *l = lh; *l; l++)
			fprintf(f, "\t\tlisten %s;\n", *l);
		if (tls_ok)
			for (const char *const *l = ls; *l; l++)
				fprintf(f, "\t\tlisten %s ssl;\n", *l);
		emit_server_name(f, keys[i]);
		if (tls_ok) {
			fprintf(f, "\t\t# cert sha256 %s\n", jstr(tls, "sha"));
			fprintf(f, "\t\tssl_certificate %s;\n\t\tssl_certificate_key %s;\n",
				jstr(tls, "path"), jstr(tls, "path"));
			if (o->https_port && o->https_port != 443)
				fprintf(f, "\t\tif ($scheme = http) {\n\t\t\treturn 308 https://$host:%d$request_uri;\n\t\t}\n",
					o->https_port);
			else
				fprintf(f, "\t\tif ($scheme = http) {\n\t\t\treturn 308 https://$host$request_uri;\n\t\t}\n");
		}
		emit_locations(f, h, tls_bad);
		fprintf(f, "\t}\n");
	}
	free(keys);
	fprintf(f, "}\n");
}

/* ---------------------------------------------------------------- entry */

int ing_render(const struct ing_snapshot *snap, const struct ing_render_opts *opts,
	       struct ing_result *out, struct gerr *err)
{
	struct ing_render_opts o = *opts;
	struct rctx c = { .snap = snap, .o = &o, .err = err };
	json_t **ings = NULL, *ing;
	size_t n, i;
	FILE *f = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!o.class_name)
		o.class_name = ING_DEFAULT_CLASS;
	if (!o.controller)
		o.controller = ING_DEFAULT_CONTROLLER;
	for (const char *const *l = o.listen_http; l && *l; l++)
		if (!valid_listen(*l))
			return gerr_set(err, -EINVAL, "invalid listen address \"%s\"", *l);
	for (const char *const *l = o.listen_https; l && *l; l++)
		if (!valid_listen(*l))
			return gerr_set(err, -EINVAL, "invalid listen address \"%s\"", *l);
	if (o.cert_dir && (o.cert_dir[0] != '/' || strpbrk(o.cert_dir, " \t;{}\"'$\\")))
		return gerr_set(err, -EINVAL, "cert dir must be an absolute path without spaces or nginx metacharacters");

	c.hosts = json_object();
	c.upstreams = json_object();
	c.certs = json_object();
	c.status = json_object();
	c.cert_files = json_array();
	n = json_array_size(snap->ingresses);
	ings = calloc(n + 1, sizeof(*ings));
	if (!c.hosts || !c.upstreams || !c.certs || !c.status || !c.cert_files || !ings) {
		rc = gerr_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	json_array_foreach(snap->ingresses, i, ing)
		ings[i] = ing;
	qsort(ings, n, sizeof(*ings), cmp_ing);
	for (i = 0; i < n; i++) {
		if (owns(&c, ings[i]))
			fold_ingress(&c, ings[i]);
	}
	if (c.fatal) {
		rc = c.fatal;
		gerr_set(err, rc, "render failed");
		goto out;
	}
	/* Forget cached certificates of Secrets no TLS section named this
	 * time (deleted Secrets, Ingresses gone). */
	if (o.cert_cache && o.cert_cache->by_secret) {
		const char *k;
		json_t *v;
		void *tmp;

		json_object_foreach_safe(o.cert_cache->by_secret, tmp, k, v)
			if (!json_object_get(c.certs, k))
				json_object_del(o.cert_cache->by_secret, k);
	}
	f = open_memstream(&out->conf, &out->conf_len);
	if (!f) {
		rc = gerr_set(err, -errno, "open_memstream: %s", strerror(errno));
		goto out;
	}
	emit(&c, f);
	if (fclose(f)) {
		rc = gerr_set(err, -ENOMEM, "render: out of memory");
		goto out;
	}
	out->status = c.status;
	out->cert_files = c.cert_files;
	c.status = c.cert_files = NULL;
out:
	if (rc) {
		free(out->conf);
		out->conf = NULL;
	}
	free(ings);
	json_decref(c.hosts);
	json_decref(c.upstreams);
	json_decref(c.certs);
	json_decref(c.status);
	json_decref(c.cert_files);
	return rc;
}

void ing_cert_cache_free(struct ing_cert_cache *cc)
{
	json_decref(cc->by_secret);
	cc->by_secret = NULL;
}

void ing_result_free(struct ing_result *r)
{
	if (!r)
		return;
	free(r->conf);
	json_decref(r->status);
	json_decref(r->cert_files);
	memset(r, 0, sizeof(*r));
}

static int classify(json_t *o, json_t *holder)
{
	const char *kind = jstr(o, "kind");
	static const struct { const char *kind, *key; } map[] = {
		{ "Ingress", "ingresses" }, { "IngressClass", "ingressClasses" },
		{ "Service", "services" }, { "Endpoints", "endpoints" },
		{ "Secret", "secrets" },
	};
	json_t *it;
	size_t i;

	if (!kind)
		return 0;
	if (json_is_array(json_object_get(o, "items"))) {
		json_array_foreach(json_object_get(o, "items"), i, it) {
			/* List items from the API carry no kind; infer it from
			 * "IngressList" and friends. */
			if (!jstr(it, "kind") && strlen(kind) > 4 &&
			    !strcmp(kind + strlen(kind) - 4, "List")) {
				json_t *cp = json_copy(it);
				char k[64];
				snprintf(k, sizeof(k), "%.*s", (int)strlen(kind) - 4, kind);
				json_object_set_new(cp, "kind", json_string(k));
				classify(cp, holder);
				json_decref(cp);
			} else {
				classify(it, holder);
			}
		}
		return 0;
	}
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(kind, map[i].kind))
			return json_array_append(json_object_get(holder, map[i].key), o);
	}
	return 0;
}

int ing_snapshot_from_docs(json_t *docs, json_t **holder_out, struct ing_snapshot *snap,
			   struct gerr *err)
{
	json_t *holder = json_pack("{s:[], s:[], s:[], s:[], s:[]}", "ingresses",
				   "ingressClasses", "services", "endpoints", "secrets");
	json_t *d;
	size_t i;

	if (!holder)
		return gerr_set(err, -ENOMEM, "out of memory");
	if (json_is_object(docs))
		docs = json_pack("[O]", docs);
	else
		json_incref(docs);
	json_array_foreach(docs, i, d) {
		if (json_is_object(d) && !jstr(d, "kind")) {
			/* Already shaped {"ingresses": [...], ...}. */
			const char *k;
			json_t *arr;
			json_object_foreach(d, k, arr) {
				json_t *dst = json_object_get(holder, k), *x;
				size_t j;
				if (!dst || !json_is_array(arr))
					continue;
				json_array_foreach(arr, j, x)
					json_array_append(dst, x);
			}
		} else {
			classify(d, holder);
		}
	}
	json_decref(docs);
	snap->ingresses = json_object_get(holder, "ingresses");
	snap->ingress_classes = json_object_get(holder, "ingressClasses");
	snap->services = json_object_get(holder, "services");
	snap->endpoints = json_object_get(holder, "endpoints");
	snap->secrets = json_object_get(holder, "secrets");
	*holder_out = holder;
	return 0;
}

json_t *ing_lb_status(const char *const *addrs)
{
	json_t *arr = json_array(), *e;

	for (const char *const *a = addrs; a && *a; a++) {
		/* Addresses are IPs or DNS names, as in status.loadBalancer. */
		bool ip = valid_ip(*a) && (strchr(*a, ':') || strspn(*a, "0123456789.") == strlen(*a));
		e = json_pack("{s:s}", ip ? "ip" : "hostname", *a);
		json_array_append_new(arr, e);
	}
	return json_pack("{s:{s:o}}", "loadBalancer", "ingress", arr);
}

int ing_prune_certs(const char *cert_dir, json_t *keep, struct gerr *err)
{
	DIR *d = opendir(cert_dir);
	struct dirent *e;
	char path[4200];
	int removed = 0;

	if (!d)
		return gerr_set(err, -errno, "opendir %s: %s", cert_dir, strerror(errno));
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), i;
		bool kept = false;
		json_t *v;

		if (n < 5 || strcmp(e->d_name + n - 4, ".pem"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", cert_dir, e->d_name);
		json_array_foreach(keep, i, v)
			kept |= !strcmp(json_string_value(v), path);
		if (!kept && !unlink(path))
			removed++;
	}
	closedir(d);
	return removed;
}
