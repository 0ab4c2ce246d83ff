/* SPDX-License-Identifier: Apache-2.0 */
/* gannetctl: the command-line client of the Gannet API server (and of any
 * Kubernetes-conformant one). Command and option tables, argument parsing,
 * connection setup and the helpers shared by all commands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "ctl/ctl.h"

/* ---- option table ----------------------------------------------------- */

struct ctl_option {
	int id;
	const char *name;
	int has_arg;
	const char *argname;
	const char *help;
};

static const struct ctl_option options[] = {
	{ OPT_NAMESPACE, "namespace", required_argument, "NS", "namespace (default: the context's, else \"default\")" },
	{ OPT_KUBECONFIG, "kubeconfig", required_argument, "FILE", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, " KUBECONFIG_SERVER_PATH ")" },
	{ OPT_CONTEXT, "context", required_argument, "NAME", "kubeconfig context to use" },
	{ OPT_SERVER, "server", required_argument, "URL", "override the cluster's server URL" },
	{ OPT_TOKEN, "token", required_argument, "TOKEN", "bearer token (overrides the kubeconfig user's)" },
	{ OPT_INSECURE, "insecure-skip-tls-verify", no_argument, NULL, "do not verify the server certificate" },
	{ OPT_REQUEST_TIMEOUT, "request-timeout", required_argument, "DUR", "bound each request (and a watch) e.g. 5s, 1m" },
	{ OPT_VERBOSE, "verbose", no_argument, NULL, "more logging (repeat for debug)" },
	{ OPT_HELP, "help", no_argument, NULL, "show help" },
	{ OPT_FILE, "filename", required_argument, "PATH", "manifest file, directory or - for stdin (repeatable)" },
	{ OPT_RECURSIVE, "recursive", no_argument, NULL, "descend into subdirectories of -f directories" },
	{ OPT_OUTPUT, "output", required_argument, "FMT", "output: wide, yaml, json, name" },
	{ OPT_SELECTOR, "selector", required_argument, "SEL", "label selector, e.g. app=web,tier!=db" },
	{ OPT_FIELD_SELECTOR, "field-selector", required_argument, "SEL", "field selector, e.g. spec.nodeName=n1" },
	{ OPT_ALL_NAMESPACES, "all-namespaces", no_argument, NULL, "list across all namespaces" },
	{ OPT_WATCH, "watch", no_argument, NULL, "after listing, watch for changes" },
	{ OPT_WATCH_ONLY, "watch-only", no_argument, NULL, "watch for changes without listing first" },
	{ OPT_OUTPUT_WATCH_EVENTS, "output-watch-events", no_argument, NULL, "print the event type (ADDED, MODIFIED, DELETED)" },
	{ OPT_SHOW_LABELS, "show-labels", no_argument, NULL, "add a LABELS column" },
	{ OPT_NO_HEADERS, "no-headers", no_argument, NULL, "omit the table header" },
	{ OPT_IGNORE_NOT_FOUND, "ignore-not-found", no_argument, NULL, "treat not found as success" },
	{ OPT_ALL, "all", no_argument, NULL, "every object of the type in the namespace" },
	{ OPT_DRY_RUN, "dry-run", no_argument, NULL, "print what would be done; send nothing that changes state" },
	{ OPT_RAW, "raw", no_argument, NULL, "show credentials instead of redacting them" },
	{ OPT_CLIENT, "client", no_argument, NULL, "client version only (no server contact)" },
	{ OPT_REPLICAS, "replicas", required_argument, "N", "the new desired number of replicas" },
	{ OPT_CURRENT_REPLICAS, "current-replicas", required_argument, "N", "precondition: only scale if spec.replicas is N now" },
	{ OPT_RESOURCE_VERSION, "resource-version", required_argument, "RV", "precondition: only act if the resourceVersion is RV" },
	{ OPT_TIMEOUT, "timeout", required_argument, "DUR", "give up after DUR (e.g. 30s, 5m); 0 = wait forever" },
	{ OPT_REVISION, "revision", required_argument, "N", "show the pod template of revision N" },
	{ OPT_TO_REVISION, "to-revision", required_argument, "N", "roll back to revision N (default: the previous one)" },
	{ OPT_CONTAINER, "container", required_argument, "NAME", "container of the pod (default: its only one)" },
	{ OPT_FOLLOW, "follow", no_argument, NULL, "(-f) keep streaming (logs, flows)" },
	{ OPT_TAIL, "tail", required_argument, "N", "only the last N lines" },
	{ OPT_TIMESTAMPS, "timestamps", no_argument, NULL, "prefix each line with its RFC 3339 time" },
	{ OPT_STDIN, "stdin", no_argument, NULL, "exec: stream stdin to the command" },
	{ OPT_TTY, "tty", no_argument, NULL, "exec: give the command a terminal (raw local tty when stdin is one)" },
	{ OPT_VERDICT, "verdict", required_argument, "V", "flows: only dropped or allowed verdicts" },
	{ OPT_POD, "pod", required_argument, "NS/NAME", "flows: only flows from or to this pod" },
	{ OPT_NODE, "node", required_argument, "NODE", "only this node (default: every node)" },
	{ OPT_FROM, "from", required_argument, "NS/POD", "policy trace: source (ns/pod, pod in -n, IPv4 or host)" },
	{ OPT_TO, "to", required_argument, "NS/POD", "policy trace: destination (ns/pod, pod in -n, IPv4 or host)" },
	{ OPT_SINCE, "since", required_argument, "WHEN", "flows: only flows since WHEN (30s, 5m, RFC 3339 time); with -f, replay them first" },
	{ OPT_PORT, "port", required_argument, "PORT[/PROTO]", "policy trace: destination port, e.g. 80/TCP (default TCP)" },
};

#define GLOBAL_OPTS OPT_NAMESPACE, OPT_KUBECONFIG, OPT_CONTEXT, OPT_SERVER, \
	OPT_TOKEN, OPT_INSECURE, OPT_REQUEST_TIMEOUT, OPT_VERBOSE, OPT_HELP

/* ---- command table ---------------------------------------------------- */

#define DEFINE_COMMAND(cname, fn_, args_, summary_, ...)                     \
	static const int cname##_opts[] = { __VA_ARGS__, GLOBAL_OPTS, 0 };  \
	static const struct ctl_command cname##_cmd = {                      \
		.name = #cname, .fn = fn_, .opts = cname##_opts,             \
		.args = args_, .summary = summary_ }

DEFINE_COMMAND(apply, cmd_apply, "-f FILE|DIR|- [-f ...]",
	       "Create or update objects from manifests",
	       OPT_FILE, OPT_RECURSIVE, OPT_OUTPUT, OPT_DRY_RUN);
DEFINE_COMMAND(get, cmd_get, "TYPE[,TYPE...] [NAME...] | TYPE/NAME...",
	       "List or show objects",
	       OPT_OUTPUT, OPT_SELECTOR, OPT_FIELD_SELECTOR, OPT_ALL_NAMESPACES,
	       OPT_WATCH, OPT_WATCH_ONLY, OPT_OUTPUT_WATCH_EVENTS, OPT_SHOW_LABELS,
	       OPT_NO_HEADERS, OPT_IGNORE_NOT_FOUND, OPT_FILE, OPT_RECURSIVE);
DEFINE_COMMAND(describe, cmd_describe, "TYPE [NAME...] | TYPE/NAME...",
	       "Show details of objects",
	       OPT_SELECTOR, OPT_ALL_NAMESPACES, OPT_FILE, OPT_RECURSIVE);
DEFINE_COMMAND(delete, cmd_delete, "TYPE NAME... | TYPE/NAME... | -f FILE | TYPE -l SEL | TYPE --all",
	       "Delete objects",
	       OPT_FILE, OPT_RECURSIVE, OPT_SELECTOR, OPT_ALL, OPT_IGNORE_NOT_FOUND,
	       OPT_OUTPUT, OPT_DRY_RUN);
DEFINE_COMMAND(scale, cmd_scale, "--replicas=N TYPE NAME... | TYPE/NAME... | -f FILE | TYPE -l SEL | TYPE --all",
	       "Set the replica count of deployments and replica sets (scale subresource)",
	       OPT_REPLICAS, OPT_CURRENT_REPLICAS, OPT_RESOURCE_VERSION, OPT_FILE,
	       OPT_RECURSIVE, OPT_SELECTOR, OPT_ALL, OPT_OUTPUT, OPT_DRY_RUN);
DEFINE_COMMAND(rollout, cmd_rollout,
	       "status|history|undo|pause|resume|restart TYPE NAME | TYPE/NAME | -f FILE",
	       "Manage the rollout of deployments (and daemon sets: status, restart)",
	       OPT_TIMEOUT, OPT_REVISION, OPT_TO_REVISION, OPT_FILE, OPT_RECURSIVE,
	       OPT_OUTPUT, OPT_DRY_RUN);
DEFINE_COMMAND(set, cmd_set, "image TYPE NAME|TYPE/NAME|-f FILE CONTAINER=IMAGE... (or *=IMAGE)",
	       "Update the container images of a pod template",
	       OPT_FILE, OPT_RECURSIVE, OPT_OUTPUT, OPT_DRY_RUN);
DEFINE_COMMAND(top, cmd_top, "nodes|pods [NAME...]",
	       "Resource requests and limits per node or pod (no usage metrics yet)",
	       OPT_SELECTOR, OPT_ALL_NAMESPACES, OPT_NO_HEADERS);
DEFINE_COMMAND(api_resources, cmd_api_resources, "",
	       "List the resource types the server serves",
	       OPT_OUTPUT);
DEFINE_COMMAND(logs, cmd_logs, "POD | TYPE/NAME",
	       "Print the logs of a container (through the API server, from the node's agent)",
	       OPT_CONTAINER, OPT_FOLLOW, OPT_TAIL, OPT_TIMESTAMPS);
DEFINE_COMMAND(exec, cmd_exec, "POD [-c CONTAINER] -- COMMAND [ARG...]",
	       "Run a command in a container (non-interactive: output, then its exit code)",
	       OPT_CONTAINER, OPT_STDIN, OPT_TTY);

DEFINE_COMMAND(flows, cmd_flows, "[-f] [--verdict dropped|allowed] [--pod NS/NAME] [--node NODE] [--since WHEN]",
	       "Show policy verdict and drop events of the nodes' datapaths (-f: follow every node)",
	       OPT_FOLLOW, OPT_VERDICT, OPT_POD, OPT_NODE, OPT_SINCE, OPT_OUTPUT, OPT_NO_HEADERS);
DEFINE_COMMAND(policy, cmd_policy, "trace --from NS/POD --to NS/POD --port PORT[/PROTO]",
	       "Explain which NetworkPolicies allow or deny a connection",
	       OPT_FROM, OPT_TO, OPT_PORT, OPT_OUTPUT);
DEFINE_COMMAND(dataplane, cmd_dataplane, "services [--node NODE]",
	       "Show what a node's BPF maps hold (services with backends and counters)",
	       OPT_NODE, OPT_OUTPUT, OPT_NO_HEADERS);

DEFINE_COMMAND(config, cmd_config, "view|current-context|get-contexts|use-context NAME",
	       "Show or select kubeconfig contexts (no server needed)",
	       OPT_RAW, OPT_NO_HEADERS);
DEFINE_COMMAND(version, cmd_version, "",
	       "Print the client and server versions",
	       OPT_CLIENT);

static const struct ctl_command *const commands[] = {
	&apply_cmd, &get_cmd, &describe_cmd, &delete_cmd, &scale_cmd, &rollout_cmd,
	&set_cmd, &top_cmd, &api_resources_cmd, &config_cmd, &version_cmd,
	&logs_cmd, &exec_cmd, &flows_cmd, &policy_cmd, &dataplane_cmd,
};

static const struct ctl_option *find_opt(int id)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (options[i].id == id)
			return &options[i];
	return NULL;
}

static bool cmd_accepts(const struct ctl_command *cmd, int id)
{
	for (const int *p = cmd->opts; *p; p++)
		if (*p == id)
			return true;
	return false;
}

static void usage(FILE *f, const struct ctl_command *cmd)
{
	if (!cmd) {
		fprintf(f, "Usage: gannetctl [OPTIONS] COMMAND [ARGS]\n\nCommands:\n");
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
			char name[32];

			snprintf(name, sizeof(name), "%s", commands[i]->name);
			for (char *p = name; *p; p++)
				if (*p == '_')
					*p = '-';
			fprintf(f, "  %-15s %s\n", name, commands[i]->summary);
		}
		fprintf(f, "\nRun 'gannetctl COMMAND --help' for a command's options.\n"
			"Exit status: 0 ok, 1 API/validation/connection error, 2 usage error.\n");
		return;
	}
	fprintf(f, "Usage: gannetctl %s %s [OPTIONS]\n%s\n\nOptions:\n",
		cmd->name, cmd->args, cmd->summary);
	for (const int *p = cmd->opts; *p; p++) {
		const struct ctl_option *o = find_opt(*p);
		char lhs[64];

		if (!o)
			continue;
		if (o->id < 256)
			snprintf(lhs, sizeof(lhs), "-%c, --%s%s%s", o->id, o->name,
				 o->argname ? " " : "", o->argname ? o->argname : "");
		else
			snprintf(lhs, sizeof(lhs), "    --%s%s%s", o->name,
				 o->argname ? " " : "", o->argname ? o->argname : "");
		fprintf(f, "  %-34s %s\n", lhs, o->help);
	}
}

static int set_option(struct ctl_opts *o, int id, const char *arg)
{
	switch (id) {
	case OPT_NAMESPACE: o->namespace = arg; break;
	case OPT_KUBECONFIG: o->kubeconfig = arg; break;
	case OPT_CONTEXT: o->context = arg; break;
	case OPT_SERVER: o->server = arg; break;
	case OPT_TOKEN: o->token = arg; break;
	case OPT_INSECURE: o->insecure = true; break;
	case OPT_REQUEST_TIMEOUT:
		o->request_timeout_ms = duration_parse_ms(arg);
		if (o->request_timeout_ms < 0) {
			fprintf(stderr, "error: invalid --request-timeout \"%s\"\n", arg);
			return -1;
		}
		break;
	case OPT_VERBOSE: o->verbose++; break;
	case OPT_FILE:
		if (o->n_files >= CTL_MAX_FILES) {
			fprintf(stderr, "error: too many -f arguments (max %d)\n", CTL_MAX_FILES);
			return -1;
		}
		o->files[o->n_files++] = arg;
		break;
	case OPT_RECURSIVE: o->recursive = true; break;
	case OPT_OUTPUT:
		if (strcmp(arg, "wide") && strcmp(arg, "yaml") && strcmp(arg, "json") &&
		    strcmp(arg, "name")) {
			fprintf(stderr, "error: unsupported output format \"%s\" (wide, yaml, json, name)\n", arg);
			return -1;
		}
		o->output = arg;
		break;
	case OPT_SELECTOR: o->selector = arg; break;
	case OPT_FIELD_SELECTOR: o->field_selector = arg; break;
	case OPT_ALL_NAMESPACES: o->all_namespaces = true; break;
	case OPT_WATCH: o->watch = true; break;
	case OPT_WATCH_ONLY: o->watch = o->watch_only = true; break;
	case OPT_OUTPUT_WATCH_EVENTS: o->watch_events = true; break;
	case OPT_SHOW_LABELS: o->show_labels = true; break;
	case OPT_NO_HEADERS: o->no_headers = true; break;
	case OPT_IGNORE_NOT_FOUND: o->ignore_not_found = true; break;
	case OPT_ALL: o->all = true; break;
	case OPT_DRY_RUN: o->dry_run = true; break;
	case OPT_RAW: o->raw = true; break;
	case OPT_CLIENT: o->client_only = true; break;
	case OPT_REPLICAS:
	case OPT_CURRENT_REPLICAS:
	case OPT_REVISION:
	case OPT_TO_REVISION: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(arg, &end, 10);
		if (!*arg || *end || errno || v < 0 || v > 0x7fffffff) {
			fprintf(stderr, "error: invalid value \"%s\" for --%s\n", arg, find_opt(id)->name);
			return -1;
		}
		if (id == OPT_REPLICAS)
			o->replicas = v;
		else if (id == OPT_CURRENT_REPLICAS)
			o->current_replicas = v;
		else if (id == OPT_REVISION)
			o->revision = v;
		else
			o->to_revision = v;
		break;
	}
	case OPT_RESOURCE_VERSION: o->resource_version = arg; break;
	case OPT_CONTAINER: o->container = arg; break;
	case OPT_FOLLOW: o->follow = true; break;
	case OPT_TAIL: o->tail = arg; break;
	case OPT_TIMESTAMPS: o->timestamps = true; break;
	case OPT_STDIN: o->stdin_open = true; break;
	case OPT_TTY: o->tty = true; break;
	case OPT_VERDICT:
		if (strcmp(arg, "dropped") && strcmp(arg, "allowed")) {
			fprintf(stderr, "error: --verdict must be dropped or allowed\n");
			return -1;
		}
		o->verdict = arg;
		break;
	case OPT_POD: o->pod = arg; break;
	case OPT_NODE: o->node = arg; break;
	case OPT_FROM: o->from = arg; break;
	case OPT_TO: o->to = arg; break;
	case OPT_PORT: o->port = arg; break;
	case OPT_SINCE: o->since = arg; break;
	case OPT_TIMEOUT:
		o->timeout_ms = duration_parse_ms(arg);
		if (o->timeout_ms < 0) {
			fprintf(stderr, "error: invalid --timeout \"%s\"\n", arg);
			return -1;
		}
		break;
	default: return -1;
	}
	return 0;
}

/* Build getopt tables from the command's option ids and parse. Options
 * may come before or after positional arguments (getopt permutes). */
static int parse_opts(const struct ctl_command *cmd, struct ctl_opts *o,
		      int argc, char **argv, bool *help)
{
	struct option lopts[sizeof(options) / sizeof(options[0]) + 1];
	char sopts[128];
	size_t nl = 0, ns = 0;
	int ch;

	/* Leading ':' makes getopt report a missing argument as ':'. */
	sopts[ns++] = ':';
	for (const int *p = cmd->opts; *p; p++) {
		const struct ctl_option *d = find_opt(*p);

		if (!d)
			continue;
		lopts[nl].name = d->name;
		lopts[nl].has_arg = d->has_arg;
		lopts[nl].flag = NULL;
		lopts[nl].val = d->id;
		nl++;
		if (d->id < 256) {
			sopts[ns++] = (char)d->id;
			if (d->has_arg == required_argument)
				sopts[ns++] = ':';
		}
	}
	sopts[ns] = 0;
	memset(&lopts[nl], 0, sizeof(lopts[nl]));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, sopts, lopts, NULL)) != -1) {
		if (ch == OPT_HELP) {
			*help = true;
			continue;
		}
		if (ch == '?') {
			if (optopt && optopt < 256)
				fprintf(stderr, "error: unknown option -%c for \"%s\"\n", optopt, cmd->name);
			else
				fprintf(stderr, "error: unknown option %s for \"%s\"\n",
					argv[optind - 1], cmd->name);
			return -1;
		}
		if (ch == ':') {
			fprintf(stderr, "error: option %s needs an argument\n", argv[optind - 1]);
			return -1;
		}
		if (!cmd_accepts(cmd, ch) || set_option(o, ch, optarg))
			return -1;
	}
	return optind;
}

/* ---- shared helpers --------------------------------------------------- */

int ctl_connect(struct ctl *c)
{
	struct apiclient_opts ao = { .timeout_ms = c->o.request_timeout_ms,
				      .print_warnings = true };
	struct gerr err = { 0 };
	char *paths;
	int ret;

	paths = kubeconfig_locate(c->o.kubeconfig, &err);
	if (!paths) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	ret = kubeconfig_load(paths, c->o.context, &c->kc, &err);
	free(paths);
	if (ret) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	if (c->o.server) {
		free(c->kc.server);
		c->kc.server = strdup(c->o.server);
	}
	if (c->o.token) {
		free(c->kc.token);
		c->kc.token = strdup(c->o.token);
		/* An explicit token replaces the user's certificate. */
		free(c->kc.cert.data);
		free(c->kc.key.data);
		memset(&c->kc.cert, 0, sizeof(c->kc.cert));
		memset(&c->kc.key, 0, sizeof(c->kc.key));
	}
	if (c->o.insecure)
		c->kc.insecure = true;
	c->ns = c->o.namespace ? c->o.namespace :
		c->kc.namespace ? c->kc.namespace : "default";
	ret = apiclient_new(&c->kc, &ao, &c->api, &err);
	if (ret) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	ret = apires_discover(c->api, &c->rs, &err);
	if (ret) {
		fprintf(stderr, "error: %s\n", err.msg);
		return CTL_EXIT_ERR;
	}
	return CTL_EXIT_OK;
}

void ctl_close(struct ctl *c)
{
	apiclient_free(c->api);
	c->api = NULL;
	apires_free(&c->rs);
	kubeconfig_free(&c->kc);
}

void ctl_print_api_error(const struct api_resp *r, const char *context)
{
	if (context && *context)
		fprintf(stderr, "Error from server (%s): %s: %s\n", r->reason, context,
			r->message);
	else
		fprintf(stderr, "Error from server (%s): %s\n", r->reason, r->message);
}

const struct api_resource *ctl_resource(struct ctl *c, const char *name)
{
	const struct api_resource *r = apires_find(&c->rs, name);

	if (!r)
		fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n", name);
	return r;
}

int ctl_parse_targets(struct ctl *c, int argc, char **argv,
		      struct ctl_target **out)
{
	struct ctl_target *t = NULL;
	int n = 0, cap = 0;
	const struct api_resource *types[16];
	int ntypes = 0;

	*out = NULL;
	if (argc == 0)
		return 0;
	/* TYPE/NAME form: every argument must have it. */
	if (strchr(argv[0], '/')) {
		t = calloc((size_t)argc, sizeof(*t));
		if (!t)
			return -1;
		for (int i = 0; i < argc; i++) {
			char type[128], *slash = strchr(argv[i], '/');

			if (!slash || !slash[1]) {
				fprintf(stderr, "error: there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (got \"%s\")\n", argv[i]);
				free(t);
				return -1;
			}
			snprintf(type, sizeof(type), "%.*s", (int)(slash - argv[i]), argv[i]);
			t[n].res = ctl_resource(c, type);
			if (!t[n].res) {
				free(t);
				return -1;
			}
			t[n++].name = slash + 1;
		}
		*out = t;
		return n;
	}
	/* TYPE[,TYPE...] [NAME...]; "all" is kubectl's category of the
	 * workload kinds. */
	char *list = strdup(strcmp(argv[0], "all") ? argv[0] :
			    "pods,services,daemonsets,deployments,replicasets");
	char *save = NULL, *tok;

	if (!list)
		return -1;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (ntypes == 16)
			break;
		types[ntypes] = ctl_resource(c, tok);
		if (!types[ntypes]) {
			free(list);
			return -1;
		}
		ntypes++;
	}
	free(list);
	if (argc > 1 && ntypes > 1) {
		fprintf(stderr, "error: names cannot be given with several resource types; use TYPE/NAME\n");
		return -1;
	}
	cap = ntypes + argc;
	t = calloc((size_t)cap, sizeof(*t));
	if (!t)
		return -1;
	if (argc == 1) {
		for (int i = 0; i < ntypes; i++)
			t[n++].res = types[i];
	} else {
		for (int i = 1; i < argc; i++) {
			if (strchr(argv[i], '/')) {
				fprintf(stderr, "error: arguments in resource/name form must have a single resource and name\n");
				free(t);
				return -1;
			}
			t[n].res = types[0];
			t[n++].name = argv[i];
		}
	}
	*out = t;
	return n;
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const struct ctl_command *cmd = NULL;
	struct ctl c = { 0 };
	bool help = false;
	char name[64];
	int i, ret, first;

	log_set_prefix("gannetctl");
	log_level = LOG_LVL_WARN;
	/* Find the command word: the first argument that is neither an option
	 * nor the value of a global option taking one (kubectl accepts
	 * "gannetctl -n ns get pods"). */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout, NULL);
			return CTL_EXIT_OK;
		}
		if (!strcmp(a, "-n") || !strcmp(a, "--namespace") ||
		    !strcmp(a, "--kubeconfig") || !strcmp(a, "--context") ||
		    !strcmp(a, "--server") || !strcmp(a, "--token") ||
		    !strcmp(a, "--request-timeout"))
			i++;
	}
	if (i >= argc) {
		usage(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	snprintf(name, sizeof(name), "%s", argv[i]);
	for (char *p = name; *p; p++)
		if (*p == '-')
			*p = '_';
	for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
		if (!strcmp(commands[k]->name, name))
			cmd = commands[k];
	if (!cmd) {
		fprintf(stderr, "error: unknown command \"%s\" for \"gannetctl\"\n", argv[i]);
		usage(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	/* Drop the command word, keep everything else for getopt. */
	for (int k = i; k + 1 < argc; k++)
		argv[k] = argv[k + 1];
	argc--;
	c.cmd = cmd->name;
	c.o.replicas = c.o.current_replicas = c.o.revision = c.o.to_revision = -1;
	if (cmd == &logs_cmd || cmd == &flows_cmd)
		ctl_logs_argv(argc, argv);
	first = parse_opts(cmd, &c.o, argc, argv, &help);
	if (first < 0) {
		fprintf(stderr, "See 'gannetctl %s --help' for usage.\n", cmd->name);
		return CTL_EXIT_USAGE;
	}
	if (help) {
		usage(stdout, cmd);
		return CTL_EXIT_OK;
	}
	if (c.o.verbose)
		log_level = c.o.verbose > 1 ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	/* Commands check their arguments first, then call ctl_connect(), so
	 * that usage errors never need a reachable server. */
	ret = cmd->fn(&c, argc - first, argv + first);
	ctl_close(&c);
	return ret;
}
