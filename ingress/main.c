/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-ingress-render: renders the nginx configuration for a snapshot of
 * API objects (YAML or JSON: a list of objects of any kind, a v1 List, or
 * {"ingresses": [...], "services": [...], ...}) and optionally validates it,
 * applies it to an nginx instance in a private prefix, or stops that
 * instance. For debugging the controller and for the test suites.
 *
 *   gannet-ingress-render [options] SNAPSHOT          print nginx.conf
 *   gannet-ingress-render -p DIR --check SNAPSHOT     + nginx -t
 *   gannet-ingress-render -p DIR --apply SNAPSHOT     + start/reload nginx
 *   gannet-ingress-render -p DIR --stop               graceful stop */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileutil.h"
#include "common/yamljson.h"
#include "ingress/nginx.h"
#include "ingress/render.h"

#define MAX_LISTEN 8

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gannet-ingress-render [options] SNAPSHOT|-\n"
		"       gannet-ingress-render -p PREFIX --stop\n"
		"  -c, --class NAME        IngressClass name (default %s)\n"
		"      --controller NAME   IngressClass controller (default %s)\n"
		"  -d, --default-class     also take Ingresses without a class\n"
		"  -l, --listen ADDR       HTTP listen address (repeatable; default 80)\n"
		"  -s, --listen-tls ADDR   HTTPS listen address (repeatable)\n"
		"      --https-port N      port used in HTTP->HTTPS redirects (443)\n"
		"      --cert-dir DIR      where PEM files go (default PREFIX/certs)\n"
		"  -p, --prefix DIR        private nginx prefix directory\n"
		"      --nginx BIN         nginx executable (default nginx)\n"
		"      --check             validate with nginx -t (needs -p)\n"
		"      --apply             validate, install, start or reload (needs -p)\n"
		"      --stop              stop the nginx of PREFIX\n"
		"      --status FILE       write per-Ingress status JSON to FILE\n"
		"  -q, --quiet             do not print the configuration\n"
		"  -v, --verbose           more logging\n",
		ING_DEFAULT_CLASS, ING_DEFAULT_CONTROLLER);
}

static int load(const char *path, json_t **docs, struct gerr *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = fu_read_file(strcmp(path, "-") ? path : "/dev/stdin", &buf, &len);
	if (rc)
		return gerr_set(err, rc, "%s: %s", path, strerror(-rc));
	rc = yj_parse(buf, len, NULL, docs, err);
	free(buf);
	if (rc)
		gerr_wrap(err, "%s", path);
	return rc;
}

int main(int argc, char **argv)
{
	enum { O_CONTROLLER = 256, O_HTTPS_PORT, O_CERT_DIR, O_NGINX, O_CHECK, O_APPLY,
	       O_STOP, O_STATUS };
	static const struct option lopts[] = {
		{ "class", required_argument, NULL, 'c' },
		{ "controller", required_argument, NULL, O_CONTROLLER },
		{ "default-class", no_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "listen-tls", required_argument, NULL, 's' },
		{ "https-port", required_argument, NULL, O_HTTPS_PORT },
		{ "cert-dir", required_argument, NULL, O_CERT_DIR },
		{ "prefix", required_argument, NULL, 'p' },
		{ "nginx", required_argument, NULL, O_NGINX },
		{ "check", no_argument, NULL, O_CHECK },
		{ "apply", no_argument, NULL, O_APPLY },
		{ "stop", no_argument, NULL, O_STOP },
		{ "status", required_argument, NULL, O_STATUS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *http[MAX_LISTEN + 1] = { 0 }, *https[MAX_LISTEN + 1] = { 0 };
	const char *prefix = NULL, *nginx_bin = NULL, *status_file = NULL;
	struct ing_render_opts o = { .https_port = 443 };
	int nh = 0, ns = 0, opt, rc;
	bool check = false, apply = false, stop = false, quiet = false, changed = false;
	struct gerr err = { 0 };
	struct ing_snapshot snap;
	struct ing_result res = { 0 };
	json_t *docs = NULL, *holder = NULL;
	struct ngxm m;

	log_set_prefix("gannet-ingress");
	while ((opt = getopt_long(argc, argv, "c:dl:s:p:qvh", lopts, NULL)) != -1) {
		switch (opt) {
		case 'c': o.class_name = optarg; break;
		case O_CONTROLLER: o.controller = optarg; break;
		case 'd': o.is_default_class = true; break;
		case 'l':
			if (nh == MAX_LISTEN) { fprintf(stderr, "too many -l\n"); return 2; }
			http[nh++] = optarg;
			break;
		case 's':
			if (ns == MAX_LISTEN) { fprintf(stderr, "too many -s\n"); return 2; }
			https[ns++] = optarg;
			break;
		case O_HTTPS_PORT: o.https_port = atoi(optarg); break;
		case O_CERT_DIR: o.cert_dir = optarg; break;
		case 'p': prefix = optarg; break;
		case O_NGINX: nginx_bin = optarg; break;
		case O_CHECK: check = true; break;
		case O_APPLY: apply = true; break;
		case O_STOP: stop = true; break;
		case O_STATUS: status_file = optarg; break;
		case 'q': quiet = true; break;
		case 'v': log_level = LOG_LVL_DEBUG; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if ((check || apply || stop) && !prefix) {
		fprintf(stderr, "--check/--apply/--stop need -p PREFIX\n");
		return 2;
	}
	if (prefix && ngxm_init(&m, prefix, nginx_bin, &err)) {
		pr_err("%s\n", err.msg);
		return 1;
	}
	if (stop) {
		if (ngxm_stop(&m, &err)) {
			pr_err("%s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	o.listen_http = http;
	o.listen_https = https;
	if (!o.cert_dir && prefix && ns)
		o.cert_dir = m.cert_dir;

	rc = load(argv[optind], &docs, &err);
	if (!rc)
		rc = ing_snapshot_from_docs(docs, &holder, &snap, &err);
	if (!rc)
		rc = ing_render(&snap, &o, &res, &err);
	if (rc) {
		pr_err("%s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (!quiet)
		fwrite(res.conf, 1, res.conf_len, stdout);
	if (status_file && json_dump_file(res.status, status_file, JSON_INDENT(2) | JSON_SORT_KEYS)) {
		pr_err("write %s failed\n", status_file);
		rc = 1;
		goto out;
	}
	if (check && ngxm_validate(&m, res.conf, res.conf_len, &err)) {
		pr_err("%s\n", err.msg);
		rc = 3;
		goto out;
	}
	if (apply) {
		if (ngxm_apply(&m, res.conf, res.conf_len, &changed, &err)) {
			pr_err("%s\n", err.msg);
			rc = err.code == -EINVAL ? 3 : 1;
			goto out;
		}
		fprintf(stderr, "gannet-ingress: %s\n", changed ? "applied" : "unchanged");
		/* Certificates of Secrets no longer used, now that nginx runs
		 * the config that no longer names them. */
		if (o.cert_dir && ing_prune_certs(o.cert_dir, res.cert_files, &err) < 0)
			pr_warn("%s\n", err.msg);
	}
out:
	ing_result_free(&res);
	json_decref(holder);
	json_decref(docs);
	return rc;
}
