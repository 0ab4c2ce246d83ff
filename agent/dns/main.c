// SPDX-License-Identifier: Apache-2.0
/* gannet-dns-render: the cluster DNS module from the command line, for
 * debugging and the test suites. A snapshot is YAML or JSON: objects of any
 * kind (only Services and Endpoints are used), v1 Lists, or
 * {"services": [...], "endpoints": [...]}.
 *
 *   gannet-dns-render render [-d DOMAIN] [-o DIR] SNAPSHOT|-
 *           print (or write DIR/hosts and DIR/records.conf) the files
 *   gannet-dns-render apply --dir DIR --listen ADDR [--netns PATH] SNAPSHOT|-
 *           render, install and start/update the node's dnsmasq instances
 *   gannet-dns-render stop --dir DIR
 *   gannet-dns-render resolv [--namespace NS] [--pod POD] [--dns IP]
 *           print a pod's resolv.conf (dnsPolicy/dnsConfig of POD) */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/dns/dns.h"
#include "common/fileutil.h"
#include "common/yamljson.h"

#define MAX_LIST 8

struct cli {
	const char *domain, *out_dir, *dir, *netns, *user, *bin, *ns, *pod, *dns_ip,
		*host_resolv;
	const char *listen[MAX_LIST + 1], *upstream[MAX_LIST + 1];
	int nlisten, nupstream, port, back_port, ttl;
	bool quiet;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gannet-dns-render render [-d DOMAIN] [-o DIR] [-q] SNAPSHOT|-\n"
		"       gannet-dns-render apply --dir DIR -l ADDR [-l ADDR] [--netns PATH]\n"
		"                [--port N] [--back-port N] [--upstream IP] [--user U] SNAPSHOT|-\n"
		"       gannet-dns-render stop --dir DIR [--back-port N]\n"
		"       gannet-dns-render resolv [-n NS] [--pod POD.yaml] [--dns IP] [-d DOMAIN]\n"
		"                [--host-resolv FILE] [-o DIR]\n"
		"  -d, --domain D      cluster domain (default %s)\n"
		"  -o, --out DIR       write hosts and records.conf into DIR\n"
		"      --ttl N         record TTL (default %d)\n"
		"  -l, --listen ADDR   front listen address (repeatable)\n"
		"      --dnsmasq BIN   dnsmasq executable\n"
		"  -v, --verbose       more logging\n",
		DNS_DEFAULT_DOMAIN, DNS_DEFAULT_TTL);
}

static int load(const char *path, json_t **docs, struct gerr *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = fu_read_file(strcmp(path, "-") ? path : "/dev/stdin", &buf, &len);

	if (rc)
		return gerr_set(err, rc, "%s: %s", path, strerror(-rc));
	rc = yj_parse(buf, len, NULL, docs, err);
	free(buf);
	if (rc)
		gerr_wrap(err, "%s", path);
	return rc;
}

static int write_file(const char *dir, const char *name, const char *data, size_t len,
		      struct gerr *err)
{
	char p[1100];
	int rc;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	rc = fu_write_atomic(p, data, len, 0644, 0);
	return rc ? gerr_set(err, rc, "%s: %s", p, strerror(-rc)) : 0;
}

static int render(struct cli *c, const char *path, struct dns_files *out, struct gerr *err)
{
	json_t *docs = NULL, *holder = NULL;
	struct dns_snapshot snap;
	struct dns_render_opts ro = { .domain = c->domain, .ttl = c->ttl };
	int rc;
	if ((rc = load(path, &docs, err)))
		return rc;
	/* yj_parse gives one element per document; a single document that is
	 * itself an array (JSON list of objects) is unwrapped. */
	json_t *in = docs;
	if (json_array_size(docs) == 1 && json_is_array(json_array_get(docs, 0)))
		in = json_array_get(docs, 0);
	if (!(rc = dns_snapshot_from_docs(in, &holder, &snap, err)))
		rc = dns_render(&snap, &ro, out, err);
	if (!rc) {
		size_t i;
		json_t *w;
		json_array_foreach(out->warnings, i, w)
			pr_warn("warning: %s\n", json_string_value(w));
	}
	json_decref(holder);
	json_decref(docs);
	return rc;
}

static int cmd_render(struct cli *c, const char *path, struct gerr *err)
{
	struct dns_files f;
	int rc = render(c, path, &f, err);
	if (rc)
		return rc;
	if (c->out_dir) {
		if (!(rc = write_file(c->out_dir, "hosts", f.hosts, f.hosts_len, err)))
			rc = write_file(c->out_dir, "records.conf", f.records, f.records_len, err);
	} else if (!c->quiet) {
		fwrite(f.hosts, 1, f.hosts_len, stdout);
		fwrite(f.records, 1, f.records_len, stdout);
	}
	fprintf(stderr, "%zu address records, %zu SRV, %zu CNAME, %zu warnings\n", f.n_a, f.n_srv,
		f.n_cname, json_array_size(f.warnings));
	dns_files_free(&f);
	return rc;
}

static void mopts(struct cli *c, struct dnsm_opts *o)
{
	*o = (struct dnsm_opts){
		.dir = c->dir, .netns = c->netns, .listen = c->listen, .port = c->port,
		.back_port = c->back_port, .domain = c->domain, .upstreams = c->upstream,
		.bin = c->bin, .user = c->user, .ttl = c->ttl,
	};
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmd_apply(struct cli *c, const char *path, struct gerr *err)
{
	struct dnsm m;
	struct dnsm_opts o;
	struct dns_files f;
	bool changed;
	int rc;
	if (!c->dir)
		return gerr_set(err, -EINVAL, "apply needs --dir");
	mopts(c, &o);
	if ((rc = render(c, path, &f, err)))
		return rc;
	double t0 = now_ms();
	if (!(rc = dnsm_init(&m, &o, err)) && !(rc = dnsm_apply(&m, &f, &changed, err)))
		printf("front %d back %d port %d records %s (%.1f ms)\n", (int)dnsm_front_pid(&m),
		       (int)dnsm_back_pid(&m), m.active_port, changed ? "switched" : "unchanged",
		       now_ms() - t0);
	dns_files_free(&f);
	return rc;
}

static int cmd_stop(struct cli *c, struct gerr *err)
{
	struct dnsm m;
	struct dnsm_opts o;
	static const char *const any[] = { "127.0.0.1", NULL };
	int rc;
	if (!c->dir)
		return gerr_set(err, -EINVAL, "stop needs --dir");
	mopts(c, &o);
	o.listen = any;   /* not used to stop; init insists on one */
	if ((rc = dnsm_init(&m, &o, err)))
		return rc;
	return dnsm_stop(&m, err);
}

static int cmd_resolv(struct cli *c, struct gerr *err)
{
	json_t *docs = NULL, *pod;
	struct dns_resolv r;
	struct dns_pod_opts po = { .domain = c->domain, .cluster_dns = c->dns_ip,
				   .host_resolv_conf = c->host_resolv };
	int rc;
	if (c->pod) {
		if ((rc = load(c->pod, &docs, err)))
			return rc;
		pod = json_deep_copy(json_array_get(docs, 0));
	} else {
		pod = json_object();
	}
	if (!pod) {
		json_decref(docs);
		return -ENOMEM;
	}
	if (c->ns) {
		json_t *md = json_object_get(pod, "metadata");
		if (!md)
			json_object_set_new(pod, "metadata", md = json_object());
		json_object_set_new(md, "namespace", json_string(c->ns));
	}
	rc = dns_pod_resolv(pod, &po, &r, err);
	if (!rc) {
		char *t = dns_resolv_text(&r);
		if (t && c->out_dir)
			rc = write_file(c->out_dir, "resolv.conf", t, strlen(t), err);
		else if (t)
			fputs(t, stdout);
		free(t);
		dns_resolv_free(&r);
	}
	json_decref(pod);
	json_decref(docs);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "domain", 1, 0, 'd' }, { "out", 1, 0, 'o' }, { "quiet", 0, 0, 'q' },
		{ "listen", 1, 0, 'l' }, { "namespace", 1, 0, 'n' }, { "verbose", 0, 0, 'v' },
		{ "dir", 1, 0, 1 }, { "netns", 1, 0, 2 }, { "port", 1, 0, 3 },
		{ "back-port", 1, 0, 4 }, { "upstream", 1, 0, 5 }, { "user", 1, 0, 6 },
		{ "dnsmasq", 1, 0, 7 }, { "ttl", 1, 0, 8 }, { "pod", 1, 0, 9 },
		{ "dns", 1, 0, 10 }, { "host-resolv", 1, 0, 11 }, { "help", 0, 0, 'h' },
		{ 0 },
	};
	struct cli c = { 0 };
	struct gerr e = { 0 };
	int opt, rc;

	log_set_prefix("gannet-dns-render");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	argv++;
	argc--;
	while ((opt = getopt_long(argc, argv, "d:o:ql:n:vh", lo, NULL)) != -1) {
		switch (opt) {
		case 'd': c.domain = optarg; break;
		case 'o': c.out_dir = optarg; break;
		case 'q': c.quiet = true; break;
		case 'l':
			if (c.nlisten < MAX_LIST)
				c.listen[c.nlisten++] = optarg;
			break;
		case 'n': c.ns = optarg; break;
		case 'v': log_level = LOG_LVL_DEBUG; break;
		case 1: c.dir = optarg; break;
		case 2: c.netns = optarg; break;
		case 3: c.port = atoi(optarg); break;
		case 4: c.back_port = atoi(optarg); break;
		case 5:
			if (c.nupstream < MAX_LIST)
				c.upstream[c.nupstream++] = optarg;
			break;
		case 6: c.user = optarg; break;
		case 7: c.bin = optarg; break;
		case 8: c.ttl = atoi(optarg); break;
		case 9: c.pod = optarg; break;
		case 10: c.dns_ip = optarg; break;
		case 11: c.host_resolv = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *path = optind < argc ? argv[optind] : NULL;
	if (!strcmp(cmd, "render") && path)
		rc = cmd_render(&c, path, &e);
	else if (!strcmp(cmd, "apply") && path)
		rc = cmd_apply(&c, path, &e);
	else if (!strcmp(cmd, "stop"))
		rc = cmd_stop(&c, &e);
	else if (!strcmp(cmd, "resolv"))
		rc = cmd_resolv(&c, &e);
	else {
		usage(stderr);
		return 2;
	}
	if (rc) {
		pr_err("%s\n", e.msg[0] ? e.msg : strerror(-rc));
		return 1;
	}
	return 0;
}
