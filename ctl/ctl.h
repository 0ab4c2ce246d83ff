/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl internals: the command and option tables (xdp-tools
 * DEFINE_COMMAND style: every command lists the options it accepts, so
 * later commands such as scale, rollout, logs or flows slot in with one
 * table entry), the per-invocation context, and the helpers the command
 * files share. */
#ifndef GANNET_CTL_CTL_H
#define GANNET_CTL_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/apiclient.h"
#include "common/apiresources.h"
#include "common/kubeconfig.h"
#include "common/log.h"

/* Exit codes. */
#define CTL_EXIT_OK    0
#define CTL_EXIT_ERR   1   /* API, validation or connection error */
#define CTL_EXIT_USAGE 2   /* bad command line */

#define CTL_MAX_FILES 64
#define LAST_APPLIED_ANNOTATION "kubectl.kubernetes.io/last-applied-configuration"

enum ctl_opt_id {
	OPT_NONE = 0,
	OPT_ALL_NAMESPACES = 'A',
	OPT_FILE = 'f',
	OPT_HELP = 'h',
	OPT_SELECTOR = 'l',
	OPT_NAMESPACE = 'n',
	OPT_OUTPUT = 'o',
	OPT_RECURSIVE = 'R',
	OPT_VERBOSE = 'v',
	OPT_WATCH = 'w',
	OPT_KUBECONFIG = 256,
	OPT_CONTEXT,
	OPT_SERVER,
	OPT_REQUEST_TIMEOUT,
	OPT_WATCH_ONLY,
	OPT_OUTPUT_WATCH_EVENTS,
	OPT_IGNORE_NOT_FOUND,
	OPT_SHOW_LABELS,
	OPT_FIELD_SELECTOR,
	OPT_ALL,
	OPT_NO_HEADERS,
	OPT_DRY_RUN,
	OPT_INSECURE,
	OPT_TOKEN,
	OPT_RAW,
	OPT_CLIENT,
	OPT_REPLICAS,
	OPT_CURRENT_REPLICAS,
	OPT_RESOURCE_VERSION,
	OPT_TIMEOUT,
	OPT_REVISION,
	OPT_TO_REVISION,
	OPT_CONTAINER = 'c',      /* logs, exec */
	OPT_STDIN = 'i',
	OPT_TTY = 't',
	OPT_FOLLOW = 400,         /* logs -f is rewritten to --follow */
	OPT_TAIL,
	OPT_TIMESTAMPS,
	OPT_VERDICT = 420,        /* flows */
	OPT_POD,
	OPT_NODE,                 /* flows, dataplane */
	OPT_FROM,                 /* policy trace */
	OPT_TO,
	OPT_PORT,
	OPT_SINCE,                /* flows */
};

struct ctl_opts {
	const char *kubeconfig, *context, *server, *token;
	const char *namespace;     /* -n, NULL if not given */
	const char *files[CTL_MAX_FILES];
	int n_files;
	bool recursive;
	const char *output;        /* NULL, wide, yaml, json, name */
	const char *selector, *field_selector;
	bool all_namespaces, watch, watch_only, watch_events;
	bool ignore_not_found, show_labels, all, no_headers, dry_run, insecure;
	bool raw, client_only;
	long request_timeout_ms;   /* 0 = default; watches: none */
	int verbose;
	/* scale, rollout (-1 = not given) */
	long long replicas, current_replicas, revision, to_revision;
	const char *resource_version;
	long timeout_ms;           /* rollout status --timeout; 0 = forever */
	/* logs, exec (cmd_logs.c, cmd_exec.c) */
	const char *container, *tail;
	bool follow, timestamps, stdin_open, tty;
	/* flows, policy trace, dataplane (cmd_flows.c, cmd_policy.c, cmd_dataplane.c) */
	const char *verdict, *pod, *node, *from, *to, *port, *since;
};

struct ctl {
	struct ctl_opts o;
	struct kubeconfig kc;
	struct apiclient *api;
	struct api_resources rs;
	const char *ns;            /* effective namespace for this invocation */
	const char *cmd;           /* command name, for messages */
};

struct ctl_command {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
	const int *opts;           /* OPT_* ids this command accepts, 0-terminated */
	const char *args;          /* usage after the command name */
	const char *summary;
};

/* Connect: kubeconfig, API client, discovery. Each command calls it after
 * checking its arguments (so usage errors never need a server). Prints the
 * error and returns CTL_EXIT_ERR on failure. */
int ctl_connect(struct ctl *c);
void ctl_close(struct ctl *c);

/* Print an API error the way kubectl does:
 *   Error from server (NotFound): pods "x" not found */
void ctl_print_api_error(const struct api_resp *r, const char *context);

/* Resolve "pods", "po", "deploy.apps"... or print an error. */
const struct api_resource *ctl_resource(struct ctl *c, const char *name);

/* Manifests from -f arguments (files, directories, "-" = stdin); every
 * document is checked (apiVersion, kind, metadata.name) before anything is
 * sent. Fills docs (array of objects) and sources (parallel array of the
 * file each came from). Returns a CTL_EXIT_* code, errors printed. */
int ctl_read_manifests(struct ctl *c, json_t **docs, json_t **sources);

/* After ctl_connect(): map every document to its resource and check its
 * namespace; prints every problem and returns CTL_EXIT_ERR if any. *out
 * is a malloc'd array parallel to docs. */
int ctl_resolve_manifests(struct ctl *c, const json_t *docs, const json_t *sources,
			  const struct api_resource ***out);

/* Namespace to use for a manifest object of a namespaced kind: the
 * document's own, else -n, else the context's, else "default". NULL (and
 * an error printed) if -n conflicts with the document. */
const char *ctl_doc_namespace(struct ctl *c, const json_t *doc,
			      const char *source);

/* Commands. */
int cmd_apply(struct ctl *c, int argc, char **argv);
int cmd_get(struct ctl *c, int argc, char **argv);
int cmd_describe(struct ctl *c, int argc, char **argv);
int cmd_delete(struct ctl *c, int argc, char **argv);
int cmd_api_resources(struct ctl *c, int argc, char **argv);
int cmd_config(struct ctl *c, int argc, char **argv);
int cmd_version(struct ctl *c, int argc, char **argv);
int cmd_scale(struct ctl *c, int argc, char **argv);
int cmd_rollout(struct ctl *c, int argc, char **argv);
int cmd_set(struct ctl *c, int argc, char **argv);
int cmd_logs(struct ctl *c, int argc, char **argv);
int cmd_exec(struct ctl *c, int argc, char **argv);
/* kubectl's "logs -f" means follow while -f is --filename elsewhere. */
void ctl_logs_argv(int argc, char **argv);
int cmd_top(struct ctl *c, int argc, char **argv);

/* Streamed GET of path (ctl/stream.c) with the kubeconfig's credentials,
 * on its own libcurl handle (so several may run in parallel threads).
 * lines: cb gets each line (without '\n', NUL-terminated), else every
 * chunk as it arrives. cb returns nonzero to stop the transfer (not an
 * error). Returns 0, or -1 with errbuf set (HTTP errors included: FAILONERROR;
 * *http_code tells which). */
typedef int (*ctl_line_cb)(const char *line, size_t len, void *arg);
int ctl_stream(struct ctl *c, const char *path, bool lines, ctl_line_cb cb, void *arg,
	       long *http_code, char *errbuf, size_t errlen);

/* Commands of the networking side: flows, policy trace, dataplane. */
int cmd_flows(struct ctl *c, int argc, char **argv);
int cmd_policy(struct ctl *c, int argc, char **argv);
int cmd_dataplane(struct ctl *c, int argc, char **argv);

/* Targets from "TYPE[,TYPE] [NAME...]" or "TYPE/NAME..." arguments. */
struct ctl_target {
	const struct api_resource *res;
	const char *name;          /* NULL = all of that type */
};
/* Returns number of targets (>= 0) or -1 after printing a usage error;
 * *out is malloc'd. */
int ctl_parse_targets(struct ctl *c, int argc, char **argv,
		      struct ctl_target **out);

/* Named objects with their namespace, from "TYPE NAME...", "TYPE/NAME..."
 * or -f (ctl/targets.c). Connects. Returns the count, or -CTL_EXIT_* after
 * printing the error. */
struct ctl_named {
	const struct api_resource *res;
	char *name, *ns;           /* ns NULL for cluster-scoped kinds */
};
int ctl_named_targets(struct ctl *c, int argc, char **argv, struct ctl_named **out);
void ctl_named_free(struct ctl_named *t, int n);
/* GET the object (or its subresource sub, may be NULL); errors printed.
 * Returns a CTL_EXIT_* code. */
int ctl_get_object(struct ctl *c, const struct ctl_named *t, const char *sub,
		   json_t **obj);
/* PATCH (patch_type "merge", "json", "strategic") or another method with a
 * JSON body; *obj (optional) gets the answer. Errors printed; returns a
 * CTL_EXIT_* code. */
int ctl_send(struct ctl *c, const char *method, const struct ctl_named *t,
	     const char *sub, const char *patch_type, const json_t *body, json_t **obj);
/* One request to path (body may be NULL). A 2xx answer: CTL_EXIT_OK, *r
 * filled (the caller frees it). Otherwise the transport error or the
 * server's Status is printed, *r freed, CTL_EXIT_ERR. */
int ctl_call(struct ctl *c, const char *method, const char *path, const json_t *body,
	     struct api_resp *r);
/* GET a list and take its "items" (a new reference). Errors printed;
 * returns a CTL_EXIT_* code. */
int ctl_list(struct ctl *c, const char *path, json_t **items);
/* Appends the name of every Node to names. Errors printed; returns a
 * CTL_EXIT_* code. */
int ctl_node_names(struct ctl *c, json_t *names);

#endif
