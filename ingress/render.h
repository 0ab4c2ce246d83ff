/* SPDX-License-Identifier: Apache-2.0 */
/* Ingress → nginx configuration renderer. A pure function of a snapshot of
 * API objects (Ingresses, IngressClasses, Services, Endpoints, Secrets as
 * jansson values) and the controller's options: it returns the complete
 * nginx.conf text plus a per-Ingress status (errors/warnings). The only side
 * effect is writing TLS certificate files into opts->cert_dir (if set).
 *
 * Guarantees the controller relies on:
 *  - one Ingress's bad input never breaks the others: invalid rules are
 *    dropped with an error in that Ingress's status, and routes whose
 *    Service/Secret is missing render `return 503` for that route only;
 *  - the output is deterministic: the same snapshot (in any array order)
 *    yields byte-identical text, so an unchanged world causes no reload. */
#ifndef GANNET_INGRESS_RENDER_H
#define GANNET_INGRESS_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/log.h"

#define ING_DEFAULT_CLASS      "gannet"
#define ING_DEFAULT_CONTROLLER "gannet.io/ingress-nginx"

/* JSON arrays of API objects (each may be NULL = empty). Borrowed. */
struct ing_snapshot {
	json_t *ingresses;
	json_t *ingress_classes;
	json_t *services;
	json_t *endpoints;
	json_t *secrets;
};

/* Certificates verified and written by earlier renders, by "ns/secret":
 * a long-running caller keeps one across renders so that an unchanged
 * Secret (same uid and resourceVersion) is not decoded, checked with
 * OpenSSL and rewritten on every render. Zero-initialise; free with
 * ing_cert_cache_free(). Not thread-safe: one render at a time. */
struct ing_cert_cache {
	json_t *by_secret;        /* "ns/name" -> {"ver", "path", "sha"} | {"ver", "bad"} */
};
void ing_cert_cache_free(struct ing_cert_cache *cc);

struct ing_render_opts {
	const char *class_name;   /* our IngressClass name (default "gannet") */
	const char *controller;   /* IngressClass spec.controller we implement */
	bool is_default_class;    /* also take Ingresses that name no class */
	/* Listen addresses as nginx accepts them ("80", "10.0.0.1:8080",
	 * "[::]:80"); NULL-terminated arrays. No HTTP listener → "80". */
	const char *const *listen_http;
	const char *const *listen_https;  /* none → HTTPS not served */
	int https_port;           /* port put in HTTP→HTTPS redirects (443) */
	const char *cert_dir;     /* absolute dir for PEM files; NULL = TLS off */
	int worker_processes;     /* 0 → 1 */
	bool access_log;          /* log requests to logs/access.log */
	struct ing_cert_cache *cert_cache;  /* NULL = parse every Secret each time */
};

/* Result; free with ing_result_free(). */
struct ing_result {
	char *conf;               /* NUL-terminated nginx.conf text */
	size_t conf_len;
	/* {"<ns>/<name>": {"errors": [..], "warnings": [..], "hosts": [..]}}
	 * for every Ingress this controller owns (others are absent). */
	json_t *status;
	json_t *cert_files;       /* array of paths written in cert_dir */
};

/* Fills *out. Returns 0, or -errno for failures of the whole render (bad
 * options, out of memory, cert_dir not writable); per-Ingress problems are
 * never an error here, they are in out->status. */
int ing_render(const struct ing_snapshot *snap, const struct ing_render_opts *opts,
	       struct ing_result *out, struct gerr *err);
void ing_result_free(struct ing_result *r);

/* Sorts a list of API objects (array, or a v1 List, or multi-document
 * input as an array) into a snapshot by kind. Returns a new object holding
 * the arrays {"ingresses", "ingressClasses", "services", "endpoints",
 * "secrets"}; snap points into it (valid while the object lives). Also
 * accepts an object already in that shape. */
int ing_snapshot_from_docs(json_t *docs, json_t **holder, struct ing_snapshot *snap,
			   struct gerr *err);

/* {"loadBalancer": {"ingress": [{"ip": ...} | {"hostname": ...}]}} for the
 * addresses (NULL-terminated) where the controller serves; the caller puts
 * it as .status of each Ingress that rendered without errors or warnings
 * it cares about. */
json_t *ing_lb_status(const char *const *addrs);

/* Removes *.pem files of cert_dir not listed in keep (cert_files of the
 * render now live). Call only after nginx runs the new config. Returns the
 * number removed or -errno. */
int ing_prune_certs(const char *cert_dir, json_t *keep, struct gerr *err);

/* Helpers exposed for tests: does path p match Ingress path (type, value)? */
bool ing_path_matches(const char *path_type, const char *ing_path, const char *p);
/* Does host h match rule host r (exact, or "*.x" = exactly one label)? */
bool ing_host_matches(const char *r, const char *h);

#endif
