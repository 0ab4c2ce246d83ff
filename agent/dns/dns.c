// SPDX-License-Identifier: Apache-2.0
/* Cluster DNS renderer (Services + Endpoints → dnsmasq hosts file and
 * srv-host/cname records) and the pod resolv.conf policy. Pure: no I/O
 * except reading the host's resolv.conf for dnsPolicy Default. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/dns/dns.h"

/* ------------------------------------------------------------ validation */

bool dns_is_port_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bool letter = false;
	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'a' && c <= 'z')
			letter = true;
		else if (!(c >= '0' && c <= '9') && c != '-')
			return false;
	}
	return letter;
}

/* Canonical text of an IP (v4 or v6) or false. Re-printing means whatever
 * the API stored, only inet_ntop's output reaches the file. */
static bool canon_ip(const char *s, char *out, size_t len, int *family)
{
	unsigned char a[16];
	if (!s)
		return false;
	if (inet_pton(AF_INET, s, a) == 1) {
		*family = AF_INET;
		return inet_ntop(AF_INET, a, out, len) != NULL;
	}
	if (inet_pton(AF_INET6, s, a) == 1) {
		*family = AF_INET6;
		return inet_ntop(AF_INET6, a, out, len) != NULL;
	}
	return false;
}

/* ------------------------------------------------------------ line sets */

struct lines {
	char **v;
	size_t n, cap;
};

static int lines_add(struct lines *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int lines_add(struct lines *l, const char *fmt, ...)
{
	va_list ap;
	char *s;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	va_start(ap, fmt);
	int r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	l->v[l->n++] = s;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts, drops duplicates, joins with '\n' after a header. Returns the
 * number of distinct lines via *count. */
static int lines_join(struct lines *l, const char *header, char **out, size_t *len,
		      size_t *count)
{
	FILE *f = open_memstream(out, len);
	size_t distinct = 0;
	if (!f)
		return -ENOMEM;
	fputs(header, f);
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (size_t i = 0; i < l->n; i++) {
		if (i && !strcmp(l->v[i], l->v[i - 1]))
			continue;
		fprintf(f, "%s\n", l->v[i]);
		distinct++;
	}
	if (fclose(f))
		return -ENOMEM;
	*count = distinct;
	return 0;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* ------------------------------------------------------------ renderer */

struct rctx {
	const char *domain;
	int ttl;
	struct lines hosts, srv, cname;
	json_t *warnings;
	size_t srv_n, cname_n;
};

static void warn(struct rctx *c, const char *ns, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void warn(struct rctx *c, const char *ns, const char *name, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* The names are the invalid input: keep control characters out of
	 * the logs these warnings end up in. */
	char *t = NULL;
	if (asprintf(&t, "%s/%s: %s", ns ? ns : "?", name ? name : "?", msg) < 0)
		return;
	for (char *p = t; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	json_array_append_new(c->warnings, json_string(t));
	free(t);
}

static const char *jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static const char *proto_label(const char *p)
{
	if (!p || !strcmp(p, "TCP"))
		return "_tcp";
	if (!strcmp(p, "UDP"))
		return "_udp";
	if (!strcmp(p, "SCTP"))
		return "_sctp";
	return NULL;
}

static const json_t *find_endpoints(const struct dns_snapshot *s, const char *ns,
				    const char *name)
{
	size_t i;
	json_t *ep;
	json_array_foreach(s->endpoints, i, ep) {
		json_t *md = json_object_get(ep, "metadata");
		const char *n = jstr(md, "name"), *e = jstr(md, "namespace");
		if (n && !strcmp(n, name) && !strcmp(e ? e : "default", ns))
			return ep;
	}
	return NULL;
}

/* The DNS name of one endpoint of a headless service: its hostname if it
 * has a valid one, else the dashed IP (CoreDNS' convention). */
static bool endpoint_label(const json_t *addr, const char *ip, char *out, size_t len)
{
	const char *h = jstr(addr, "hostname");
	if (h && name_dns1123_label(h)) {
		snprintf(out, len, "%s", h);
		return true;
	}
	snprintf(out, len, "%s", ip);
	for (char *p = out; *p; p++)
		if (*p == '.' || *p == ':')
			*p = '-';
	return name_dns1123_label(out);
}

static int render_headless(struct rctx *c, const struct dns_snapshot *s, const json_t *svc,
			   const char *ns, const char *name, const char *fqdn)
{
	const json_t *ep = find_endpoints(s, ns, name);
	bool not_ready = json_is_true(json_object_get(json_object_get(svc, "spec"),
						     "publishNotReadyAddresses"));
	size_t i, j, k;
	json_t *sub, *addr, *port;
	int rc = 0;

	json_array_foreach(json_object_get(ep, "subsets"), i, sub) {
		for (int pass = 0; pass < (not_ready ? 2 : 1); pass++) {
			json_t *addrs = json_object_get(sub, pass ? "notReadyAddresses" : "addresses");
			json_array_foreach(addrs, j, addr) {
				char ip[INET6_ADDRSTRLEN], lbl[80];
				int fam;
				if (!canon_ip(jstr(addr, "ip"), ip, sizeof(ip), &fam)) {
					warn(c, ns, name, "endpoint address \"%s\" is not an IP",
					     jstr(addr, "ip") ? jstr(addr, "ip") : "");
					continue;
				}
				if ((rc = lines_add(&c->hosts, "%s %s", ip, fqdn)))
					return rc;
				const char *h = jstr(addr, "hostname");
				if (h && !name_dns1123_label(h))
					warn(c, ns, name, "endpoint hostname \"%s\" is not a DNS-1123 label", h);
				if (!endpoint_label(addr, ip, lbl, sizeof(lbl)))
					continue;
				if ((rc = lines_add(&c->hosts, "%s %s.%s", ip, lbl, fqdn)))
					return rc;
				json_array_foreach(json_object_get(sub, "ports"), k, port) {
					const char *pn = jstr(port, "name");
					const char *pl = proto_label(jstr(port, "protocol"));
					json_int_t pnum = json_integer_value(json_object_get(port, "port"));
					if (!pn || !*pn)
						continue;
					if (!dns_is_port_name(pn) || !pl || pnum < 1 || pnum > 65535) {
						warn(c, ns, name, "endpoint port \"%s\" skipped (invalid name, protocol or number)", pn);
						continue;
					}
					if ((rc = lines_add(&c->srv, "srv-host=_%s.%s.%s,%s.%s,%d,0,100",
							    pn, pl, fqdn, lbl, fqdn, (int)pnum)))
						return rc;
				}
			}
		}
	}
	return 0;
}

static int render_service(struct rctx *c, const struct dns_snapshot *s, const json_t *svc)
{
	json_t *md = json_object_get(svc, "metadata"), *spec = json_object_get(svc, "spec");
	const char *name = jstr(md, "name"), *ns = jstr(md, "namespace");
	char fqdn[400];
	size_t i;
	json_t *v;
	int rc;

	if (!ns)
		ns = "default";
	/* Service names are DNS-1035 labels (must start with a letter); we
	 * accept any DNS-1123 label, which is what reaches DNS either way. */
	if (!name_dns1123_label(name) || !name_dns1123_label(ns)) {
		warn(c, ns, name, "service or namespace name is not a DNS-1123 label");
		return 0;
	}
	snprintf(fqdn, sizeof(fqdn), "%s.%s.svc.%s", name, ns, c->domain);

	const char *type = jstr(spec, "type");
	if (type && !strcmp(type, "ExternalName")) {
		char ext[260];
		const char *e = jstr(spec, "externalName");
		size_t n = e ? strlen(e) : 0;
		/* A trailing dot (absolute name) is allowed in the API. */
		if (n && n < sizeof(ext) && e[n - 1] == '.')
			n--;
		snprintf(ext, sizeof(ext), "%.*s", (int)n, e ? e : "");
		if (!name_dns1123_subdomain(ext)) {
			warn(c, ns, name, "externalName \"%s\" is not a DNS-1123 subdomain",
			     e ? e : "");
			return 0;
		}
		c->cname_n++;
		return lines_add(&c->cname, "cname=%s,%s,%d", fqdn, ext, c->ttl);
	}

	const char *cip = jstr(spec, "clusterIP");
	if (cip && !strcmp(cip, "None"))
		return render_headless(c, s, svc, ns, name, fqdn);
	if (!cip || !*cip)
		return 0;   /* not allocated yet: no record */

	/* clusterIPs (dual stack) includes clusterIP; fall back to it alone. */
	json_t *ips = json_object_get(spec, "clusterIPs");
	json_t *one = NULL;
	if (!json_array_size(ips)) {
		one = json_pack("[s]", cip);
		ips = one;
	}
	bool any = false;
	json_array_foreach(ips, i, v) {
		char ip[INET6_ADDRSTRLEN];
		int fam;
		if (!canon_ip(json_string_value(v), ip, sizeof(ip), &fam)) {
			warn(c, ns, name, "clusterIP \"%s\" is not an IP",
			     json_string_value(v) ? json_string_value(v) : "");
			continue;
		}
		if ((rc = lines_add(&c->hosts, "%s %s", ip, fqdn))) {
			json_decref(one);
			return rc;
		}
		any = true;
	}
	json_decref(one);
	if (!any)
		return 0;
	json_array_foreach(json_object_get(spec, "ports"), i, v) {
		const char *pn = jstr(v, "name");
		const char *pl = proto_label(jstr(v, "protocol"));
		json_int_t pnum = json_integer_value(json_object_get(v, "port"));
		if (!pn || !*pn)
			continue;   /* only named ports get SRV records */
		if (!dns_is_port_name(pn) || !pl || pnum < 1 || pnum > 65535) {
			warn(c, ns, name, "port \"%s\" skipped (invalid name, protocol or number)", pn);
			continue;
		}
		if ((rc = lines_add(&c->srv, "srv-host=_%s.%s.%s,%s,%d,0,100", pn, pl, fqdn,
				    fqdn, (int)pnum)))
			return rc;
	}
	return 0;
}

int dns_render(const struct dns_snapshot *snap, const struct dns_render_opts *opts,
	       struct dns_files *out, struct gerr *err)
{
	struct rctx c = { 0 };
	size_t i, n;
	json_t *svc;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	c.domain = opts && opts->domain ? opts->domain : DNS_DEFAULT_DOMAIN;
	c.ttl = opts && opts->ttl > 0 ? opts->ttl : DNS_DEFAULT_TTL;
	if (!name_dns1123_subdomain(c.domain))
		return gerr_set(err, -EINVAL, "cluster domain \"%s\" is not a DNS-1123 subdomain",
				c.domain);
	c.warnings = json_array();
	if (!c.warnings)
		return -ENOMEM;
	json_array_foreach(snap ? snap->services : NULL, i, svc)
		if ((rc = render_service(&c, snap, svc)))
			goto out;

	if ((rc = lines_join(&c.hosts, "# gannet cluster DNS: A/AAAA records (generated)\n",
			     &out->hosts, &out->hosts_len, &out->n_a)))
		goto out;
	/* srv and cname lines sort into one file; count them separately. */
	for (i = 0; i < c.cname.n; i++) {
		if ((rc = lines_add(&c.srv, "%s", c.cname.v[i])))
			goto out;
	}
	if ((rc = lines_join(&c.srv, "# gannet cluster DNS: SRV/CNAME records (generated)\n",
			     &out->records, &out->records_len, &n)))
		goto out;
	out->n_cname = c.cname_n;
	out->n_srv = n - c.cname_n;
	out->warnings = c.warnings;
	c.warnings = NULL;
out:
	lines_free(&c.hosts);
	lines_free(&c.srv);
	lines_free(&c.cname);
	json_decref(c.warnings);
	if (rc) {
		dns_files_free(out);
		return gerr_set(err, rc, "rendering DNS records: %s", strerror(-rc));
	}
	return 0;
}

void dns_files_free(struct dns_files *f)
{
	free(f->hosts);
	free(f->records);
	json_decref(f->warnings);
	memset(f, 0, sizeof(*f));
}

static int add_doc(json_t *holder, json_t *doc)
{
	const char *kind = jstr(doc, "kind");
	size_t i;
	json_t *it;
	if (!json_is_object(doc))
		return 0;
	if (json_is_array(json_object_get(doc, "items"))) {
		json_array_foreach(json_object_get(doc, "items"), i, it) {
			/* items of a typed list (ServiceList) carry no kind */
			if (!jstr(it, "kind") && kind && !strcmp(kind, "ServiceList"))
				json_array_append(json_object_get(holder, "services"), it);
			else if (!jstr(it, "kind") && kind && !strcmp(kind, "EndpointsList"))
				json_array_append(json_object_get(holder, "endpoints"), it);
			else
				add_doc(holder, it);
		}
		return 0;
	}
	if (kind && !strcmp(kind, "Service"))
		return json_array_append(json_object_get(holder, "services"), doc);
	if (kind && !strcmp(kind, "Endpoints"))
		return json_array_append(json_object_get(holder, "endpoints"), doc);
	return 0;
}

int dns_snapshot_from_docs(json_t *docs, json_t **holder, struct dns_snapshot *snap,
			   struct gerr *err)
{
	json_t *h = json_pack("{s:[],s:[]}", "services", "endpoints");
	size_t i;
	json_t *d;
	if (!h)
		return -ENOMEM;
	if (json_is_object(docs) && (json_object_get(docs, "services") ||
				     json_object_get(docs, "endpoints"))) {
		json_array_extend(json_object_get(h, "services"), json_object_get(docs, "services"));
		json_array_extend(json_object_get(h, "endpoints"), json_object_get(docs, "endpoints"));
	} else if (json_is_array(docs)) {
		json_array_foreach(docs, i, d) {
			if (json_is_object(d) && (json_object_get(d, "services") ||
						  json_object_get(d, "endpoints"))) {
				json_array_extend(json_object_get(h, "services"),
						  json_object_get(d, "services"));
				json_array_extend(json_object_get(h, "endpoints"),
						  json_object_get(d, "endpoints"));
			} else {
				add_doc(h, d);
			}
		}
	} else if (json_is_object(docs)) {
		add_doc(h, docs);
	} else {
		json_decref(h);
		return gerr_set(err, -EINVAL, "snapshot: expected objects, a List or an array");
	}
	*holder = h;
	snap->services = json_object_get(h, "services");
	snap->endpoints = json_object_get(h, "endpoints");
	return 0;
}

/* ------------------------------------------------------------ resolv.conf */

static const char *rstr(struct dns_resolv *r, const char *s, size_t n)
{
	if (r->strs_len + n + 1 > r->strs_cap)
		return NULL;
	char *p = r->strs + r->strs_len;
	memcpy(p, s, n);
	p[n] = '\0';
	r->strs_len += n + 1;
	return p;
}

static int add_ns(struct dns_resolv *r, const char *s, struct gerr *err)
{
	char ip[INET6_ADDRSTRLEN];
	int fam, n = 0;
	if (!canon_ip(s, ip, sizeof(ip), &fam))
		return gerr_set(err, -EINVAL, "nameserver \"%s\" is not an IP", s ? s : "");
	for (; r->nameservers[n]; n++)
		if (!strcmp(r->nameservers[n], ip))
			return 0;
	if (n >= DNS_MAX_NS)
		return gerr_set(err, -EINVAL, "more than %d nameservers", DNS_MAX_NS);
	if (!(r->nameservers[n] = rstr(r, ip, strlen(ip))))
		return -ENOMEM;
	return 0;
}

static int add_search(struct dns_resolv *r, const char *s, struct gerr *err)
{
	int n = 0;
	size_t total = 0;
	/* A trailing dot is legal in resolv.conf and in dnsConfig. */
	size_t len = s ? strlen(s) : 0;
	char buf[256];
	if (len && s[len - 1] == '.')
		len--;
	if (len >= sizeof(buf))
		return gerr_set(err, -EINVAL, "search domain too long");
	memcpy(buf, s ? s : "", len);
	buf[len] = '\0';
	if (!name_dns1123_subdomain(buf))
		return gerr_set(err, -EINVAL, "search domain \"%s\" is not a DNS-1123 subdomain",
				s ? s : "");
	for (; r->searches[n]; n++) {
		if (!strcmp(r->searches[n], buf))
			return 0;
		total += strlen(r->searches[n]) + 1;
	}
	/* Kubernetes: at most 32 domains, 2048 characters. */
	if (n >= DNS_MAX_SEARCH || total + len > 2048)
		return gerr_set(err, -EINVAL, "search list too long");
	if (!(r->searches[n] = rstr(r, buf, len)))
		return -ENOMEM;
	return 0;
}

static int read_host_resolv(struct dns_resolv *r, const char *path, struct gerr *err)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int rc = 0;
	if (!f)
		return gerr_set(err, -errno, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *kw = strtok_r(line, " \t\r\n", &save), *v;
		if (!kw || kw[0] == '#' || kw[0] == ';')
			continue;
		if (!strcmp(kw, "nameserver")) {
			v = strtok_r(NULL, " \t\r\n", &save);
			/* The host may list more than glibc uses; keep the first 3
			 * and skip what is not an IP, as the resolver does. */
			if (v && r->nameservers[DNS_MAX_NS - 1] == NULL)
				add_ns(r, v, NULL);
		} else if (!strcmp(kw, "search") || !strcmp(kw, "domain")) {
			memset(r->searches, 0, sizeof(r->searches));
			while ((v = strtok_r(NULL, " \t\r\n", &save)))
				add_search(r, v, NULL);
		} else if (!strcmp(kw, "options")) {
			while ((v = strtok_r(NULL, " \t\r\n", &save)))
				if (!strncmp(v, "ndots:", 6))
					r->ndots = atoi(v + 6);
		}
	}
	fclose(f);
	return rc;
}

int dns_pod_resolv(const json_t *pod, const struct dns_pod_opts *opts,
		   struct dns_resolv *r, struct gerr *err)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *ns = jstr(json_object_get(pod, "metadata"), "namespace");
	const char *domain = opts && opts->domain ? opts->domain : DNS_DEFAULT_DOMAIN;
	const char *cdns = opts && opts->cluster_dns ? opts->cluster_dns : DNS_DEFAULT_IP;
	const char *policy = jstr(spec, "dnsPolicy");
	const json_t *cfg = json_object_get(spec, "dnsConfig");
	char buf[600];
	size_t i;
	json_t *v;
	int rc;

	memset(r, 0, sizeof(*r));
	r->strs_cap = 8192;
	r->strs = malloc(r->strs_cap);
	if (!r->strs)
		return -ENOMEM;
	if (!ns)
		ns = "default";
	if (!policy || !*policy)
		policy = "ClusterFirst";
	if (!name_dns1123_label(ns) || !name_dns1123_subdomain(domain)) {
		rc = gerr_set(err, -EINVAL, "namespace \"%s\" or domain \"%s\" invalid", ns, domain);
		goto out;
	}
	/* hostNetwork pods with ClusterFirst fall back to Default (kubelet). */
	if (!strcmp(policy, "ClusterFirst") &&
	    json_is_true(json_object_get(spec, "hostNetwork")))
		policy = "Default";

	if (!strcmp(policy, "ClusterFirst") || !strcmp(policy, "ClusterFirstWithHostNet")) {
		if ((rc = add_ns(r, cdns, err)))
			goto out;
		const char *s[3] = { buf, buf + 200, buf + 400 };
		snprintf(buf, 200, "%s.svc.%s", ns, domain);
		snprintf(buf + 200, 200, "svc.%s", domain);
		snprintf(buf + 400, 200, "%s", domain);
		for (int k = 0; k < 3; k++)
			if ((rc = add_search(r, s[k], err)))
				goto out;
		r->ndots = DNS_DEFAULT_NDOTS;
	} else if (!strcmp(policy, "Default")) {
		if ((rc = read_host_resolv(r, opts && opts->host_resolv_conf ?
					   opts->host_resolv_conf : "/etc/resolv.conf", err)))
			goto out;
	} else if (!strcmp(policy, "None")) {
		if (!cfg) {
			rc = gerr_set(err, -EINVAL, "dnsPolicy None requires dnsConfig");
			goto out;
		}
	} else {
		rc = gerr_set(err, -EINVAL, "unknown dnsPolicy \"%s\"", policy);
		goto out;
	}

	json_array_foreach(json_object_get(cfg, "nameservers"), i, v)
		if ((rc = add_ns(r, json_string_value(v), err)))
			goto out;
	json_array_foreach(json_object_get(cfg, "searches"), i, v)
		if ((rc = add_search(r, json_string_value(v), err)))
			goto out;
	FILE *f = NULL;
	char *extra = NULL;
	size_t elen = 0;
	json_array_foreach(json_object_get(cfg, "options"), i, v) {
		const char *name = jstr(v, "name"), *val = jstr(v, "value");
		if (!name || !*name || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name) ||
		    (val && strspn(val, "0123456789") != strlen(val))) {
			rc = gerr_set(err, -EINVAL, "dnsConfig option \"%s\" invalid", name ? name : "");
			if (f)
				fclose(f);
			free(extra);
			goto out;
		}
		if (!strcmp(name, "ndots")) {
			r->ndots = val ? atoi(val) : 1;
			if (r->ndots > 15)
				r->ndots = 15;
			continue;
		}
		if (!f && !(f = open_memstream(&extra, &elen))) {
			rc = -ENOMEM;
			goto out;
		}
		fprintf(f, "%s%s%s%s", ftell(f) ? " " : "", name, val ? ":" : "", val ? val : "");
	}
	if (f) {
		fclose(f);
		r->options_extra = extra;
	}
	rc = 0;
out:
	if (rc)
		dns_resolv_free(r);
	return rc;
}

void dns_resolv_free(struct dns_resolv *r)
{
	free(r->strs);
	free(r->options_extra);
	memset(r, 0, sizeof(*r));
}

char *dns_resolv_text(const struct dns_resolv *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	if (r->searches[0]) {
		fputs("search", f);
		for (int i = 0; r->searches[i]; i++)
			fprintf(f, " %s", r->searches[i]);
		fputc('\n', f);
	}
	for (int i = 0; r->nameservers[i]; i++)
		fprintf(f, "nameserver %s\n", r->nameservers[i]);
	if (r->ndots > 0 || r->options_extra) {
		fputs("options", f);
		if (r->ndots > 0)
			fprintf(f, " ndots:%d", r->ndots);
		if (r->options_extra)
			fprintf(f, " %s", r->options_extra);
		fputc('\n', f);
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}
