// SPDX-License-Identifier: Apache-2.0
/* gannet-runtime: command-line front end of the runtime library, for manual
 * use and the integration tests. Every command works on one state dir
 * (--state, or $GANNET_RUNTIME_STATE), like one node's agent would.
 *
 *   gannet-runtime --state DIR image list|import REF TARBALL|import-oci LAYOUT [REF]|rm REF
 *   gannet-runtime --state DIR run [opts] IMAGE [-- CMD ARGS...]   (prints the id)
 *   gannet-runtime --state DIR config [opts] IMAGE [-- CMD...]     (prints config.json)
 *   gannet-runtime --state DIR start|status|wait|kill|stop|rm|logs|exec|probe|list ... */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/runtime/runtime.h"

struct cmd {
	const char *name;
	int (*fn)(struct rt *r, int argc, char **argv, struct gerr *e);
	const char *usage;
};

static const char *state_dir, *cgroup_parent;
static long long log_max;

/* ---- run / config options -------------------------------------------- */

#define MAXV 64
struct run_args {
	struct rt_container_spec spec;
	const char *cmd[MAXV];
	const char *args[MAXV];
	struct rt_kv env[MAXV];
	struct rt_mount mounts[MAXV];
	const char *cap_add[MAXV], *cap_drop[MAXV];
	size_t ncap_add, ncap_drop;
	bool no_start, has_cmd;
};

static int parse_run(int argc, char **argv, struct run_args *a, struct gerr *e)
{
	static const struct option opts[] = {
		{ "id", 1, 0, 'i' }, { "name", 1, 0, 'n' }, { "netns", 1, 0, 'N' },
		{ "user", 1, 0, 'u' }, { "group", 1, 0, 'g' }, { "read-only", 0, 0, 'R' },
		{ "no-new-privs", 0, 0, 'P' }, { "non-root", 0, 0, 'O' },
		{ "privileged", 0, 0, 'X' }, { "cap-add", 1, 0, 'A' }, { "cap-drop", 1, 0, 'D' },
		{ "memory", 1, 0, 'm' }, { "cpu", 1, 0, 'c' }, { "cpu-request", 1, 0, 'q' },
		{ "pids", 1, 0, 'p' }, { "env", 1, 0, 'e' }, { "mount", 1, 0, 'v' },
		{ "workdir", 1, 0, 'w' }, { "log", 1, 0, 'l' }, { "no-start", 0, 0, 'S' },
		{ "stdin", 0, 0, 's' }, { "pod", 1, 0, 'o' }, { "tty", 0, 0, 'T' }, { "hostname", 1, 0, 'H' }, { "entrypoint-args", 0, 0, 'a' },
		{ 0, 0, 0, 0 },
	};
	size_t nenv = 0, nm = 0;
	bool args_only = false;
	int c;

	memset(a, 0, sizeof(*a));
	a->spec.env = a->env;
	a->spec.mounts = a->mounts;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'i': a->spec.id = optarg; break;
		case 'n': a->spec.name = optarg; break;
		case 'N': a->spec.netns_path = optarg; break;
		case 'H': a->spec.hostname = optarg; break;
		case 'u': a->spec.sec.has_uid = true; a->spec.sec.run_as_user = atoll(optarg); break;
		case 'g': a->spec.sec.has_gid = true; a->spec.sec.run_as_group = atoll(optarg); break;
		case 'R': a->spec.sec.read_only_root = RT_TRUE; break;
		case 'P': a->spec.sec.allow_privilege_escalation = RT_FALSE; break;
		case 'O': a->spec.sec.run_as_non_root = RT_TRUE; break;
		case 'X': a->spec.sec.privileged = RT_TRUE; break;
		case 'A': if (a->ncap_add < MAXV - 1) a->cap_add[a->ncap_add++] = optarg; break;
		case 'D': if (a->ncap_drop < MAXV - 1) a->cap_drop[a->ncap_drop++] = optarg; break;
		case 'm':
			if (rt_parse_memory(optarg, &a->spec.res.mem_limit_bytes))
				return gerr_set(e, -EINVAL, "bad memory quantity \"%s\"", optarg);
			break;
		case 'c':
			if (rt_parse_cpu(optarg, &a->spec.res.cpu_limit_milli))
				return gerr_set(e, -EINVAL, "bad cpu quantity \"%s\"", optarg);
			break;
		case 'q':
			if (rt_parse_cpu(optarg, &a->spec.res.cpu_request_milli))
				return gerr_set(e, -EINVAL, "bad cpu quantity \"%s\"", optarg);
			break;
		case 'p': a->spec.res.pids_limit = atoll(optarg); break;
		case 'e': {
			char *eq = strchr(optarg, '=');
			if (!eq || nenv >= MAXV)
				return gerr_set(e, -EINVAL, "--env wants K=V");
			*eq = '\0';
			a->env[nenv].name = optarg;
			a->env[nenv++].value = eq + 1;
			break;
		}
		case 'v': {
			char *c1 = strchr(optarg, ':');
			if (!c1 || nm >= MAXV)
				return gerr_set(e, -EINVAL, "--mount wants SRC:DST[:ro]");
			*c1 = '\0';
			char *c2 = strchr(c1 + 1, ':');
			if (c2)
				*c2 = '\0';
			a->mounts[nm].source = optarg;
			a->mounts[nm].dest = c1 + 1;
			a->mounts[nm++].readonly = c2 && !strcmp(c2 + 1, "ro");
			break;
		}
		case 'w': a->spec.working_dir = optarg; break;
		case 'l': a->spec.log_path = optarg; break;
		case 'S': a->no_start = true; break;
		case 's': a->spec.stdin_open = true; break;
		case 'T': a->spec.tty = true; break;
		case 'o': {
			/* NAMESPACE/NAME/UID */
			char *s1 = strchr(optarg, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
			if (!s2)
				return gerr_set(e, -EINVAL, "--pod wants NAMESPACE/NAME/UID");
			*s1 = *s2 = '\0';
			a->spec.pod_namespace = optarg;
			a->spec.pod_name = s1 + 1;
			a->spec.pod_uid = s2 + 1;
			break;
		}
		case 'a': args_only = true; break;
		default:
			return gerr_set(e, -EINVAL, "bad option");
		}
	}
	a->spec.nenv = nenv;
	a->spec.nmounts = nm;
	if (a->ncap_add)
		a->spec.sec.cap_add = a->cap_add;
	if (a->ncap_drop)
		a->spec.sec.cap_drop = a->cap_drop;
	if (optind >= argc)
		return gerr_set(e, -EINVAL, "no image");
	a->spec.image = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	/* After the image: the command, or with --entrypoint-args only args
	 * (the image entrypoint stays). */
	size_t n = 0;
	for (; optind < argc && n < MAXV - 1; optind++)
		(args_only ? a->args : a->cmd)[n++] = argv[optind];
	if (n) {
		if (args_only)
			a->spec.args = a->args;
		else
			a->spec.command = a->cmd;
	}
	return 0;
}

static int cmd_run(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct run_args a;
	char id[80];
	int rc = parse_run(argc, argv, &a, e);

	if (rc)
		return rc;
	rc = a.no_start ? rt_create(r, &a.spec, id, sizeof(id), e)
			: rt_run(r, &a.spec, id, sizeof(id), e);
	if (rc)
		return rc;
	printf("%s\n", id);
	return 0;
}

static int cmd_config(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct run_args a;
	struct rt_image_info img;
	json_t *cfg;
	int rc = parse_run(argc, argv, &a, e);

	if (rc)
		return rc;
	rc = rt_image_resolve(rt_images_of(r), a.spec.image, &img, e);
	if (rc)
		return rc;
	struct rt_oci_params p = { .rootfs = "rootfs", .cgroups_path = "gannet/config/x",
				   .image = &img.cfg, .image_rootfs = img.rootfs };
	rc = rt_oci_config(&a.spec, &p, &cfg, e);
	rt_image_info_free(&img);
	if (rc)
		return rc;
	json_dumpf(cfg, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(cfg);
	return 0;
}

/* ---- container commands ----------------------------------------------- */

static const char *state_name(enum rt_state s)
{
	static const char *const n[] = { "created", "running", "exited", "unknown" };
	return n[s];
}

static void print_status(const struct rt_status *st)
{
	char c[64] = "", s[64] = "", f[64] = "";
	struct tm tm;

	if (st->created.tv_sec)
		strftime(c, sizeof(c), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&st->created.tv_sec, &tm));
	if (st->started.tv_sec)
		strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&st->started.tv_sec, &tm));
	if (st->finished.tv_sec)
		strftime(f, sizeof(f), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&st->finished.tv_sec, &tm));
	json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:b,s:s,s:s,s:s,s:s,s:s}",
		"id", st->id, "name", st->name, "state", state_name(st->state),
		"pid", (int)st->pid, "exitCode", st->exit_code, "signal", st->signal,
		"oomKilled", st->oom_killed, "reason", st->reason, "createdAt", c,
		"startedAt", s, "finishedAt", f, "logPath", st->log_path);
	json_object_set_new(j, "image", json_string(st->image));
	json_object_set_new(j, "podUID", json_string(st->pod_uid));
	json_object_set_new(j, "podNamespace", json_string(st->pod_namespace));
	json_object_set_new(j, "podName", json_string(st->pod_name));
	json_dumpf(j, stdout, JSON_COMPACT);
	printf("\n");
	json_decref(j);
}

static int need(int argc, int n, struct gerr *e)
{
	return argc < n ? gerr_set(e, -EINVAL, "missing arguments") : 0;
}

static int cmd_start(struct rt *r, int argc, char **argv, struct gerr *e)
{
	return need(argc, 2, e) ?: rt_start(r, argv[1], e);
}

static int cmd_status(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct rt_status st;
	int rc = need(argc, 2, e) ?: rt_status(r, argv[1], &st, e);
	if (!rc)
		print_status(&st);
	return rc;
}

static int cmd_wait(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct rt_status st;
	int rc = need(argc, 2, e) ?: rt_wait(r, argv[1], argc > 2 ? atoi(argv[2]) : -1, &st, e);
	if (!rc)
		print_status(&st);
	return rc;
}

static int cmd_kill(struct rt *r, int argc, char **argv, struct gerr *e)
{
	int sig = SIGTERM;
	if (argc > 2) {
		sig = atoi(argv[2]);
		if (!sig)
			sig = !strcasecmp(argv[2], "KILL") ? SIGKILL : !strcasecmp(argv[2], "INT") ? SIGINT : SIGTERM;
	}
	return need(argc, 2, e) ?: rt_kill(r, argv[1], sig, e);
}

static int cmd_stop(struct rt *r, int argc, char **argv, struct gerr *e)
{
	return need(argc, 2, e) ?: rt_stop(r, argv[1], argc > 2 ? atoi(argv[2]) : 30, e);
}

static int cmd_stats(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct rt_stats st;
	int rc = need(argc, 2, e) ?: rt_stats(r, argv[1], &st, e);
	if (!rc)
		printf("{\"cpuUsageNs\":%llu,\"memoryUsageBytes\":%llu,\"memoryLimitBytes\":%llu,"
		       "\"pids\":%llu}\n", (unsigned long long)st.cpu_usage_ns,
		       (unsigned long long)st.memory_usage_bytes,
		       (unsigned long long)st.memory_limit_bytes, (unsigned long long)st.pids);
	return rc;
}

static int cmd_rm(struct rt *r, int argc, char **argv, struct gerr *e)
{
	return need(argc, 2, e) ?: rt_remove(r, argv[1], e);
}

static int cmd_list(struct rt *r, int argc, char **argv, struct gerr *e)
{
	char **ids;
	bool verbose = argc > 1 && !strcmp(argv[1], "-v");
	int rc = rt_list(r, &ids, e);

	if (rc)
		return rc;
	for (char **p = ids; *p; p++) {
		struct rt_status st;
		if (verbose && rt_status(r, *p, &st, NULL) == 0)
			print_status(&st);
		else
			printf("%s\n", *p);
	}
	rt_strv_free(ids);
	return 0;
}

static int cmd_logs(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct rt_log_opts o = { .tail = -1 };
	int c;

	optind = 1;
	static const struct option opts[] = {
		{ "follow", 0, 0, 'f' }, { "timestamps", 0, 0, 't' }, { "tail", 1, 0, 'n' },
		{ "stdout", 0, 0, 'o' }, { "stderr", 0, 0, 'e' }, { 0, 0, 0, 0 },
	};
	while ((c = getopt_long(argc, argv, "+ftn:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': o.follow = true; break;
		case 't': o.timestamps = true; break;
		case 'n': o.tail = atol(optarg); break;
		case 'o': o.stream = 1; break;
		case 'e': o.stream = 2; break;
		default: return gerr_set(e, -EINVAL, "bad option");
		}
	}
	if (optind >= argc)
		return gerr_set(e, -EINVAL, "missing container id");
	fflush(stdout);
	return rt_logs(r, argv[optind], &o, 1, e);
}

/* exec -i / -t: stream our stdin into the process and its output (or the
 * pty's) to our stdout, through rt_exec_spawn. */
static int exec_stream(struct rt *r, const char *id, const char *const *argv, bool tty,
		       struct gerr *e)
{
	pid_t pid;
	int io, out, status, rc;
	char buf[4096];

	rc = rt_exec_spawn(r, id, argv, tty, &pid, &io, &out, e);
	if (rc)
		return rc;
	int rd = tty ? io : out;
	bool in_open = true;
	for (;;) {
		struct pollfd p[2] = { { .fd = rd, .events = POLLIN },
				       { .fd = in_open ? 0 : -1, .events = POLLIN } };
		if (poll(p, 2, -1) < 0)
			break;
		if (p[1].revents) {
			ssize_t n = read(0, buf, sizeof(buf));
			if (n <= 0) {
				in_open = false;
				if (tty) {
					/* EOF on a terminal is ^D */
					if (write(io, "\x04", 1) < 0)
						break;
				} else {
					close(io);
				}
			} else if (write(io, buf, (size_t)n) < 0) {
				in_open = false;
			}
		}
		if (p[0].revents) {
			ssize_t n = read(rd, buf, sizeof(buf));
			if (n <= 0)
				break;   /* EIO on the pty master once the process is gone */
			if (write(1, buf, (size_t)n) < 0)
				break;
		}
	}
	waitpid(pid, &status, 0);
	if (tty)
		close(io);
	else
		close(out);
	fflush(stdout);
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

static int cmd_exec(struct rt *r, int argc, char **argv, struct gerr *e)
{
	char out[65536];
	int code, rc, timeout = 0, i = 1;

	if (i < argc && (!strcmp(argv[i], "-i") || !strcmp(argv[i], "-t"))) {
		bool tty = argv[i][1] == 't';
		if (need(argc, i + 3, e))
			return e->code;
		const char *id = argv[i + 1];
		i += 2;
		if (!strcmp(argv[i], "--"))
			i++;
		return exec_stream(r, id, (const char *const *)argv + i, tty, e);
	}
	if (i < argc && !strncmp(argv[i], "--timeout=", 10))
		timeout = atoi(argv[i++] + 10);
	if (need(argc, i + 2, e))
		return e->code;
	const char *id = argv[i++];
	if (!strcmp(argv[i], "--"))
		i++;
	rc = rt_exec(r, id, (const char *const *)argv + i, timeout, &code, out, sizeof(out), e);
	if (rc)
		return rc;
	fputs(out, stdout);
	fflush(stdout);
	exit(code);
}

static int cmd_probe(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct rt_probe p = { .timeout_sec = 1 };
	const char *netns = NULL, *id = NULL;
	char hostbuf[256], msg[512];
	bool ok;
	int c, rc;

	optind = 1;
	static const struct option opts[] = {
		{ "tcp", 1, 0, 't' }, { "http", 1, 0, 'h' }, { "exec", 0, 0, 'x' },
		{ "netns", 1, 0, 'n' }, { "timeout", 1, 0, 'T' }, { "id", 1, 0, 'i' },
		{ 0, 0, 0, 0 },
	};
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 't':
		case 'h': {
			/* HOST:PORT[/PATH] */
			snprintf(hostbuf, sizeof(hostbuf), "%s", optarg);
			char *slash = strchr(hostbuf, '/');
			static char path[256];
			if (slash) {
				snprintf(path, sizeof(path), "%s", slash);
				*slash = '\0';
				p.path = path;
			}
			char *colon = strrchr(hostbuf, ':');
			if (!colon)
				return gerr_set(e, -EINVAL, "want HOST:PORT");
			*colon = '\0';
			p.host = hostbuf;
			p.port = atoi(colon + 1);
			p.kind = c == 't' ? RT_PROBE_TCP : RT_PROBE_HTTP;
			break;
		}
		case 'x': p.kind = RT_PROBE_EXEC; break;
		case 'n': netns = optarg; break;
		case 'T': p.timeout_sec = atoi(optarg); break;
		case 'i': id = optarg; break;
		default: return gerr_set(e, -EINVAL, "bad option");
		}
	}
	if (p.kind == RT_PROBE_EXEC) {
		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
		p.command = (const char *const *)argv + optind;
	}
	rc = rt_probe_run(r, id, netns, &p, &ok, msg, sizeof(msg), e);
	if (rc)
		return rc;
	printf("%s: %s\n", ok ? "success" : "failure", msg);
	fflush(stdout);
	exit(ok ? 0 : 1);
}

/* ---- images ----------------------------------------------------------- */

static int cmd_image(struct rt *r, int argc, char **argv, struct gerr *e)
{
	struct rt_images *s = rt_images_of(r);

	if (need(argc, 2, e))
		return e->code;
	if (!strcmp(argv[1], "list")) {
		char **refs;
		int rc = rt_image_list(s, &refs, e);
		if (rc)
			return rc;
		for (char **p = refs; *p; p++)
			printf("%s\n", *p);
		rt_strv_free(refs);
		return 0;
	}
	if (!strcmp(argv[1], "import") && argc >= 4)
		return rt_image_import_tar(s, argv[2], argv[3], e);
	if (!strcmp(argv[1], "import-oci") && argc >= 3)
		return rt_image_import_oci(s, argc > 3 ? argv[3] : NULL, argv[2], e);
	if (!strcmp(argv[1], "rm") && argc >= 3)
		return rt_image_remove(s, argv[2], e);
	if (!strcmp(argv[1], "gc")) {
		int n = rt_image_gc(s, argc > 2 ? atoi(argv[2]) : 0, e);
		if (n < 0)
			return n;
		printf("%d removed\n", n);
		return 0;
	}
	if (!strcmp(argv[1], "inspect") && argc >= 3) {
		struct rt_image_info i;
		int rc = rt_image_resolve(s, argv[2], &i, e);
		if (rc)
			return rc;
		printf("%s %s\n", i.ref, i.rootfs);
		rt_image_info_free(&i);
		return 0;
	}
	return gerr_set(e, -EINVAL, "image: list | import REF TARBALL | import-oci LAYOUT [REF] | rm REF | inspect REF");
}

/* ---- volumes ---------------------------------------------------------- */

static int cmd_volume(struct rt *r, int argc, char **argv, struct gerr *e)
{
	char path[4096];
	int rc;

	(void)r;
	if (need(argc, 3, e))
		return e->code;
	if (!strcmp(argv[1], "empty-dir") && argc >= 4) {
		bool mem = argc > 4 && !strcmp(argv[4], "--memory");
		rc = rt_vol_empty_dir(argv[2], argv[3], mem, 0, path, sizeof(path), e);
	} else if (!strcmp(argv[1], "files") && argc >= 5) {
		/* files POD_DIR KIND NAME [--mode OCTAL] K=V... */
		int i = 5;
		mode_t mode = 0644;
		if (i + 1 < argc && !strcmp(argv[i], "--mode")) {
			mode = (mode_t)strtol(argv[i + 1], NULL, 8);
			i += 2;
		}
		struct rt_kv kv[64];
		size_t n = 0;
		for (; i < argc && n < 64; i++) {
			char *eq = strchr(argv[i], '=');
			if (!eq)
				return gerr_set(e, -EINVAL, "want KEY=VALUE");
			*eq = '\0';
			kv[n].name = argv[i];
			kv[n++].value = eq + 1;
		}
		rc = rt_vol_files(argv[2], argv[3], argv[4], kv, NULL, n,
				  mode, path, sizeof(path), e);
	} else if (!strcmp(argv[1], "pod-etc") && argc >= 4) {
		/* pod-etc POD_DIR HOSTNAME [IP] [--ns A]... [--search S]... [--ndots N] */
		const char *ns[16] = { 0 }, *search[16] = { 0 }, *ip = NULL;
		int nns = 0, nsearch = 0, ndots = 0;
		for (int i = 4; i < argc; i++) {
			if (!strcmp(argv[i], "--ns") && i + 1 < argc && nns < 15)
				ns[nns++] = argv[++i];
			else if (!strcmp(argv[i], "--search") && i + 1 < argc && nsearch < 15)
				search[nsearch++] = argv[++i];
			else if (!strcmp(argv[i], "--ndots") && i + 1 < argc)
				ndots = atoi(argv[++i]);
			else
				ip = argv[i];
		}
		rc = rt_vol_pod_etc(argv[2], argv[3], ip, ns, search, ndots, e);
		snprintf(path, sizeof(path), "%s/etc", argv[2]);
	} else if (!strcmp(argv[1], "host-path")) {
		rc = rt_vol_host_path(argv[2], argc > 3 ? argv[3] : "", path, sizeof(path), e);
	} else if (!strcmp(argv[1], "cleanup")) {
		rc = rt_vol_cleanup(argv[2], e);
		path[0] = '\0';
	} else {
		return gerr_set(e, -EINVAL, "volume: empty-dir POD_DIR NAME [--memory] | files POD_DIR KIND NAME [--mode M] K=V... | host-path PATH [TYPE] | cleanup POD_DIR");
	}
	if (!rc && path[0])
		printf("%s\n", path);
	return rc;
}

static const struct cmd cmds[] = {
	{ "volume", cmd_volume, "volume empty-dir POD_DIR NAME [--memory] | files POD_DIR KIND NAME [--mode M] K=V... | host-path PATH [TYPE] | pod-etc POD_DIR HOSTNAME [IP] [--ns A] [--search S] [--ndots N] | cleanup POD_DIR" },
	{ "image", cmd_image, "image list|import REF TARBALL|import-oci LAYOUT [REF]|rm REF|inspect REF|gc [MIN_AGE_SEC]" },
	{ "run", cmd_run, "run [--id ID] [--name N] [--netns PATH] [--user UID] [--group GID] [--read-only] [--no-new-privs] [--non-root] [--privileged] [--cap-add C] [--cap-drop C] [--memory Q] [--cpu Q] [--cpu-request Q] [--pids N] [--env K=V] [--mount SRC:DST[:ro]] [--workdir D] [--log PATH] [--stdin] [--tty] [--pod NS/NAME/UID] [--no-start] [--entrypoint-args] IMAGE [-- CMD...]" },
	{ "config", cmd_config, "config [run options] IMAGE [-- CMD...]" },
	{ "start", cmd_start, "start ID" },
	{ "status", cmd_status, "status ID" },
	{ "wait", cmd_wait, "wait ID [TIMEOUT_MS]" },
	{ "kill", cmd_kill, "kill ID [SIG]" },
	{ "stop", cmd_stop, "stop ID [GRACE_SEC]" },
	{ "rm", cmd_rm, "rm ID" },
	{ "stats", cmd_stats, "stats ID" },
	{ "list", cmd_list, "list [-v]" },
	{ "logs", cmd_logs, "logs [-f] [-t] [--tail N] [--stdout|--stderr] ID" },
	{ "exec", cmd_exec, "exec [--timeout=MS | -i | -t] ID [--] CMD..." },
	{ "probe", cmd_probe, "probe [--netns PATH] [--timeout S] (--tcp HOST:PORT | --http HOST:PORT/PATH | --id ID --exec -- CMD...)" },
};

static void usage(void)
{
	fprintf(stderr, "usage: gannet-runtime [-v] --state DIR [--cgroup-parent P] [--log-max BYTES] COMMAND ...\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(stderr, "  %s\n", cmds[i].usage);
}

int main(int argc, char **argv)
{
	struct gerr e = { 0 };
	struct rt *r = NULL;
	int i = 1, rc;

	log_set_prefix("gannet-runtime");
	state_dir = getenv("GANNET_RUNTIME_STATE");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-v"))
			log_level = LOG_LVL_DEBUG;
		else if (!strcmp(argv[i], "--state") && i + 1 < argc)
			state_dir = argv[++i];
		else if (!strcmp(argv[i], "--cgroup-parent") && i + 1 < argc)
			cgroup_parent = argv[++i];
		else if (!strcmp(argv[i], "--log-max") && i + 1 < argc)
			log_max = atoll(argv[++i]);
		else {
			usage();
			return 2;
		}
	}
	if (i >= argc || !state_dir) {
		usage();
		return 2;
	}
	const struct cmd *c = NULL;
	for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++)
		if (!strcmp(cmds[k].name, argv[i]))
			c = &cmds[k];
	if (!c) {
		usage();
		return 2;
	}
	struct rt_opts o = { .state_dir = state_dir, .cgroup_parent = cgroup_parent,
			     .log_max_bytes = log_max };
	rc = rt_open(&o, &r, &e);
	if (!rc)
		rc = c->fn(r, argc - i, argv + i, &e);
	if (rc) {
		fprintf(stderr, "gannet-runtime: %s: %s\n", argv[i],
			e.msg[0] ? e.msg : strerror(-rc));
		fflush(stdout);
	}
	rt_close(r);
	return rc ? 1 : 0;
}
