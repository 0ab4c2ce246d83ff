/* SPDX-License-Identifier: Apache-2.0 */
/* Cluster DNS: a pure renderer from a snapshot of Services + Endpoints
 * (Kubernetes shapes, jansson) to dnsmasq input files, the pod resolv.conf
 * policy (dnsPolicy/dnsConfig → nameservers, search list, ndots), and a
 * manager for the node's dnsmasq processes.
 *
 * Why two files and two kinds of dnsmasq process (see docs/dns.md): dnsmasq
 * re-reads hosts files on its own (--hostsdir, inotify) but never re-reads
 * srv-host=/cname= options, not even on SIGHUP, and it cannot share its port
 * with a second instance (no SO_REUSEPORT). So
 *  - A/AAAA (+ automatic PTR) records go to a hosts file in a hostsdir that
 *    every instance watches: updates are visible in ~1 ms without a signal;
 *  - SRV and CNAME records go to a records file served by a "back" dnsmasq
 *    on 127.0.0.1:<port>; the "front" dnsmasq (the one pods query, never
 *    restarted) forwards the cluster domain to both back ports with
 *    --all-servers. Records change = start a new back on the other port,
 *    stop the old one: the service address never closes and the front's
 *    configuration never changes (changing its server list on SIGHUP
 *    drops replies in flight; measured in docs/dns.md). */
#ifndef GANNET_AGENT_DNS_H
#define GANNET_AGENT_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/log.h"
#include "common/names.h"

#define DNS_DEFAULT_DOMAIN  "cluster.local"
#define DNS_DEFAULT_IP      "10.96.0.10"
#define DNS_DEFAULT_NDOTS   5
#define DNS_DEFAULT_TTL     5          /* seconds, like CoreDNS' kubernetes plugin */

/* ---- validation (exported for the agent and the tests) ---- */

/* Names: name_dns1123_label / name_dns1123_subdomain (common/names.h). */
/* IANA service name (named ports): <= 15 chars, [a-z0-9-], at least one
 * letter, no leading/trailing or double '-'. */
bool dns_is_port_name(const char *s);

/* ---- renderer ---- */

/* Borrowed JSON arrays of API objects (NULL = empty). */
struct dns_snapshot {
	json_t *services;
	json_t *endpoints;
};

struct dns_render_opts {
	const char *domain;    /* cluster domain; NULL = cluster.local */
	int ttl;               /* SRV/CNAME TTL written per record; 0 = default */
};

/* Result; free with dns_files_free(). */
struct dns_files {
	char *hosts;           /* hosts-file text: "IP name [name...]" lines */
	size_t hosts_len;
	char *records;         /* dnsmasq options: srv-host=, cname= lines */
	size_t records_len;
	size_t n_a;            /* address records (name, IP) pairs */
	size_t n_srv;
	size_t n_cname;
	/* ["<ns>/<name>: reason", ...]: objects (or parts) skipped because a
	 * name or address is invalid; never an error of the whole render. */
	json_t *warnings;
};

/* Renders the snapshot. Output is deterministic: the same objects in any
 * order give byte-identical files (lines sorted, duplicates dropped).
 * Every name that reaches a file is validated (DNS-1123 / port name) and
 * every IP re-printed by inet_ntop, so API data cannot inject a line or an
 * option. Returns 0, or -EINVAL for a bad domain, -ENOMEM. */
int dns_render(const struct dns_snapshot *snap, const struct dns_render_opts *opts,
	       struct dns_files *out, struct gerr *err);
void dns_files_free(struct dns_files *f);

/* Sorts API objects (an array of objects and/or v1 Lists, or a single List,
 * or {"services": [...], "endpoints": [...]}) into a snapshot. *holder owns
 * the arrays snap points into. */
int dns_snapshot_from_docs(json_t *docs, json_t **holder, struct dns_snapshot *snap,
			   struct gerr *err);

/* ---- pod resolv.conf ---- */

#define DNS_MAX_NS     3               /* glibc MAXNS */
#define DNS_MAX_SEARCH 32              /* Kubernetes' limit */

/* NULL-terminated arrays in the shape rt_vol_pod_etc() takes. */
struct dns_resolv {
	const char *nameservers[DNS_MAX_NS + 1];
	const char *searches[DNS_MAX_SEARCH + 1];
	int ndots;                     /* 0 = resolver default */
	char *options_extra;           /* other dnsConfig options, "a b:1" or NULL */
	char *strs;                    /* storage the pointers point into */
	size_t strs_len, strs_cap;
};

struct dns_pod_opts {
	const char *domain;            /* NULL = cluster.local */
	const char *cluster_dns;       /* NULL = 10.96.0.10 */
	const char *host_resolv_conf;  /* for dnsPolicy Default; NULL = /etc/resolv.conf */
};

/* The pod's resolver settings following Kubernetes' dnsPolicy:
 * ClusterFirst (default): cluster_dns, "<ns>.svc.<d> svc.<d> <d>", ndots 5;
 * hostNetwork + ClusterFirst → Default; ClusterFirstWithHostNet = ClusterFirst;
 * Default: the host's nameservers and search list; None: dnsConfig only.
 * spec.dnsConfig nameservers/searches are appended (deduplicated, limits
 * enforced), options ndots overrides. Invalid values → -EINVAL. */
int dns_pod_resolv(const json_t *pod, const struct dns_pod_opts *opts,
		   struct dns_resolv *out, struct gerr *err);
void dns_resolv_free(struct dns_resolv *r);
/* resolv.conf text for r (malloc'd). */
char *dns_resolv_text(const struct dns_resolv *r);

/* ---- dnsmasq manager ---- */

struct dnsm_opts {
	const char *dir;               /* state dir (created 0755); required */
	const char *netns;             /* netns path to run in; NULL = current */
	const char *const *listen;     /* front listen addresses (NULL-terminated);
					* e.g. { "10.96.0.10", "<node ip>" } */
	int port;                      /* front port; 0 = 53 */
	int back_port;                 /* back ports are back_port and +1; 0 = 10053 */
	const char *domain;            /* NULL = cluster.local */
	const char *const *upstreams;  /* non-cluster names forwarded here; NULL = none */
	const char *bin;               /* NULL = /usr/sbin/dnsmasq */
	const char *user;              /* --user; NULL = dnsmasq's default (nobody) */
	int ttl;                       /* --local-ttl; 0 = DNS_DEFAULT_TTL */
	int grace_ms;                  /* old back kept after a switch; 0 = 50 */
};

struct dnsm {
	struct dnsm_opts o;
	char dir[900];
	char hostsdir[1000];
	char servers[1000];
	int active_port;               /* back port in use, 0 = none yet */
};

/* Sets up dir, dir/hosts.d/ and adopts running instances (pid files), so a
 * restarted agent keeps serving. No process is started here. One struct
 * dnsm (one dir) must be driven by one thread at a time. */
int dnsm_init(struct dnsm *m, const struct dnsm_opts *o, struct gerr *err);
/* Installs rendered files: hosts atomically (picked up by inotify), and if
 * the records changed or no back runs, switches to a new back instance.
 * Starts the front if it is not running. *changed_records (optional) tells
 * whether a back switch happened. */
int dnsm_apply(struct dnsm *m, const struct dns_files *f, bool *changed_records,
	       struct gerr *err);
/* pid of the front / active back instance, 0 if not running. */
pid_t dnsm_front_pid(struct dnsm *m);
pid_t dnsm_back_pid(struct dnsm *m);
/* SIGHUP to the front (re-reads servers-file and hosts, clears the cache). */
int dnsm_reload(struct dnsm *m, struct gerr *err);
/* Stops every instance (SIGTERM, then SIGKILL after 2 s). */
int dnsm_stop(struct dnsm *m, struct gerr *err);

#endif
