// SPDX-License-Identifier: Apache-2.0
/* Pure parts of the runtime: OCI runtime config generation from a
 * Kubernetes-shaped container spec (command/env/user/securityContext/
 * resources/mounts), Kubernetes quantity parsing, capability names and the
 * crash-loop back-off sequence. No process or mount side effects, so it is
 * unit-tested without root. */
#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/runtime/runtime.h"

/* ---- quantities ------------------------------------------------------- */

/* Parses "<number><suffix>" with a decimal mantissa; scale is the value of
 * one unit in the result's unit * 1000 so that "m" can be expressed. */
static int parse_quantity(const char *q, int64_t unit_milli, int64_t *out, bool allow_milli)
{
	static const struct { const char *sfx; long double mul; } sfx[] = {
		{ "Ki", 1024.0L }, { "Mi", 1048576.0L }, { "Gi", 1073741824.0L },
		{ "Ti", 1099511627776.0L }, { "Pi", 1125899906842624.0L },
		{ "k", 1e3L }, { "M", 1e6L }, { "G", 1e9L }, { "T", 1e12L }, { "P", 1e15L },
		{ "m", 1e-3L }, { "", 1.0L },
	};
	char *end;
	long double v;

	if (!q || !*q)
		return -EINVAL;
	errno = 0;
	v = strtold(q, &end);
	if (errno || end == q || v < 0)
		return -EINVAL;
	/* strtold accepts "1e3" exponents, which Kubernetes allows too. */
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (strcmp(end, sfx[i].sfx))
			continue;
		if (sfx[i].mul < 1 && !allow_milli)
			return -EINVAL;
		long double r = v * sfx[i].mul * 1000.0L / (long double)unit_milli;
		if (r > 9.2e18L)
			return -ERANGE;
		/* Round up like Kubernetes does for fractional values. */
		int64_t iv = (int64_t)r;
		if ((long double)iv < r)
			iv++;
		*out = iv;
		return 0;
	}
	return -EINVAL;
}

int rt_parse_memory(const char *q, int64_t *bytes)
{
	return parse_quantity(q, 1000, bytes, true);
}

int rt_parse_cpu(const char *q, int64_t *milli)
{
	return parse_quantity(q, 1, milli, true);
}

/* ---- capabilities ----------------------------------------------------- */

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
	"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
	"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
	"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
	"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
	"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

/* The default set of containerd/Docker (what Kubernetes users expect). */
static const int default_caps[] = {
	0 /* CHOWN */, 1 /* DAC_OVERRIDE */, 4 /* FSETID */, 3 /* FOWNER */,
	27 /* MKNOD */, 13 /* NET_RAW */, 6 /* SETGID */, 7 /* SETUID */,
	31 /* SETFCAP */, 8 /* SETPCAP */, 10 /* NET_BIND_SERVICE */,
	18 /* SYS_CHROOT */, 5 /* KILL */, 29 /* AUDIT_WRITE */,
};

int rt_cap_number(const char *name)
{
	if (!name)
		return -EINVAL;
	if (!strncasecmp(name, "CAP_", 4))
		name += 4;
	for (int i = 0; i < NCAPS; i++)
		if (!strcasecmp(cap_names[i] + 4, name))
			return i;
	return -EINVAL;
}

/* ---- back-off --------------------------------------------------------- */

unsigned rt_backoff_delay(unsigned restarts)
{
	unsigned d = 10;

	for (unsigned i = 0; i < restarts && d < 300; i++)
		d *= 2;
	return d > 300 ? 300 : d;
}

unsigned rt_backoff_next(struct rt_backoff *b, time_t now, long ran_sec)
{
	if (ran_sec >= RT_BACKOFF_RESET_SEC)
		b->restarts = 0;
	unsigned d = rt_backoff_delay(b->restarts);
	b->restarts++;
	b->last_finish = now;
	return d;
}

int rt_restart_policy_parse(const char *s, enum rt_restart_policy *out)
{
	if (!s || !*s || !strcmp(s, "Always"))
		*out = RT_RESTART_ALWAYS;
	else if (!strcmp(s, "OnFailure"))
		*out = RT_RESTART_ON_FAILURE;
	else if (!strcmp(s, "Never"))
		*out = RT_RESTART_NEVER;
	else
		return -EINVAL;
	return 0;
}

bool rt_should_restart(enum rt_restart_policy p, int exit_code)
{
	switch (p) {
	case RT_RESTART_ALWAYS:
		return true;
	case RT_RESTART_ON_FAILURE:
		return exit_code != 0;
	default:
		return false;
	}
}

bool rt_probe_record(struct rt_probe_tracker *t, bool ok, int success_threshold,
		     int failure_threshold)
{
	enum rt_probe_result before = t->result;

	if (success_threshold < 1)
		success_threshold = 1;
	if (failure_threshold < 1)
		failure_threshold = 1;
	if (ok) {
		t->failures = 0;
		if (++t->successes >= success_threshold)
			t->result = RT_PROBE_OK;
	} else {
		t->successes = 0;
		if (++t->failures >= failure_threshold)
			t->result = RT_PROBE_FAILED;
	}
	return t->result != before;
}

/* ---- user resolution -------------------------------------------------- */

static bool all_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Looks a user up by name (or by uid when name is NULL) in the image's
 * /etc/passwd. Returns 0 and fills uid/gid, or -ENOENT. */
static int passwd_lookup(const char *rootfs, const char *name, uid_t uid_in,
			 uid_t *uid, gid_t *gid)
{
	char path[4096];
	struct passwd *pw;
	FILE *f;
	int rc = -ENOENT;

	if (!rootfs)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/etc/passwd", rootfs);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	while ((pw = fgetpwent(f))) {
		if (name ? !strcmp(pw->pw_name, name) : pw->pw_uid == uid_in) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int group_lookup(const char *rootfs, const char *name, gid_t *gid)
{
	char path[4096];
	struct group *gr;
	FILE *f;
	int rc = -ENOENT;

	if (!rootfs)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/etc/group", rootfs);
	f = fopen(path, "re");
	if (!f)
		return -ENOENT;
	while ((gr = fgetgrent(f))) {
		if (!strcmp(gr->gr_name, name)) {
			*gid = gr->gr_gid;
			rc = 0;
			break;
		}
	}
	fclose(f);
	return rc;
}

static int resolve_user(const struct rt_container_spec *s, const struct rt_oci_params *p,
			uid_t *uid, gid_t *gid, struct gerr *e)
{
	const char *iu = p->image ? p->image->user : NULL;

	*uid = 0;
	*gid = 0;
	if (s->sec.has_uid) {
		if (s->sec.run_as_user < 0 || s->sec.run_as_user > 0x7fffffff)
			return gerr_set(e, -EINVAL, "runAsUser %lld out of range",
					(long long)s->sec.run_as_user);
		*uid = (uid_t)s->sec.run_as_user;
		uid_t u;
		gid_t g;
		/* As containerd: the primary group of that uid in the image. */
		if (passwd_lookup(p->image_rootfs, NULL, *uid, &u, &g) == 0)
			*gid = g;
	} else if (iu && *iu) {
		char buf[256], *grp;
		snprintf(buf, sizeof(buf), "%s", iu);
		grp = strchr(buf, ':');
		if (grp)
			*grp++ = '\0';
		if (all_digits(buf)) {
			*uid = (uid_t)strtoul(buf, NULL, 10);
			uid_t u;
			gid_t g;
			if (passwd_lookup(p->image_rootfs, NULL, *uid, &u, &g) == 0)
				*gid = g;
		} else if (passwd_lookup(p->image_rootfs, buf, 0, uid, gid)) {
			return gerr_set(e, -EINVAL, "image user \"%s\" not found in the image's /etc/passwd",
					buf);
		}
		if (grp && *grp) {
			if (all_digits(grp))
				*gid = (gid_t)strtoul(grp, NULL, 10);
			else if (group_lookup(p->image_rootfs, grp, gid))
				return gerr_set(e, -EINVAL, "image group \"%s\" not found in the image's /etc/group",
						grp);
		}
	}
	if (s->sec.has_gid) {
		if (s->sec.run_as_group < 0 || s->sec.run_as_group > 0x7fffffff)
			return gerr_set(e, -EINVAL, "runAsGroup %lld out of range",
					(long long)s->sec.run_as_group);
		*gid = (gid_t)s->sec.run_as_group;
	}
	if (s->sec.run_as_non_root == RT_TRUE && *uid == 0)
		return gerr_set(e, -EINVAL,
				"container has runAsNonRoot and image will run as root");
	return 0;
}

/* ---- config generation ------------------------------------------------ */

static void append_strv(json_t *a, const char *const *v)
{
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
}

static int env_set(json_t *env, const char *k, size_t klen, const char *kv)
{
	size_t i;
	json_t *it;

	json_array_foreach(env, i, it) {
		const char *s = json_string_value(it);
		if (!strncmp(s, k, klen) && s[klen] == '=')
			return json_array_set_new(env, i, json_string(kv));
	}
	return json_array_append_new(env, json_string(kv));
}

static bool env_has(json_t *env, const char *k)
{
	size_t i, kl = strlen(k);
	json_t *it;

	json_array_foreach(env, i, it) {
		const char *s = json_string_value(it);
		if (!strncmp(s, k, kl) && s[kl] == '=')
			return true;
	}
	return false;
}

static int build_caps(const struct rt_security *sec, json_t **out, struct gerr *e)
{
	bool set[64] = { false };
	json_t *a;

	if (sec->privileged == RT_TRUE) {
		for (int i = 0; i < NCAPS; i++)
			set[i] = true;
	} else {
		for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
			set[default_caps[i]] = true;
	}
	for (const char *const *d = sec->cap_drop; d && *d; d++) {
		if (!strcasecmp(*d, "ALL")) {
			memset(set, 0, sizeof(set));
			continue;
		}
		int n = rt_cap_number(*d);
		if (n < 0)
			return gerr_set(e, -EINVAL, "unknown capability \"%s\" in capabilities.drop", *d);
		set[n] = false;
	}
	for (const char *const *a2 = sec->cap_add; a2 && *a2; a2++) {
		if (!strcasecmp(*a2, "ALL")) {
			for (int i = 0; i < NCAPS; i++)
				set[i] = true;
			continue;
		}
		int n = rt_cap_number(*a2);
		if (n < 0)
			return gerr_set(e, -EINVAL, "unknown capability \"%s\" in capabilities.add", *a2);
		set[n] = true;
	}
	a = json_array();
	for (int i = 0; i < NCAPS; i++)
		if (set[i])
			json_array_append_new(a, json_string(cap_names[i]));
	*out = json_pack("{s:O,s:O,s:O}", "bounding", a, "effective", a, "permitted", a);
	json_decref(a);
	return 0;
}

static int build_resources(const struct rt_resources *r, bool privileged, json_t *res,
			   struct gerr *e)
{
	if (r->cpu_limit_milli < 0 || r->cpu_request_milli < 0 || r->mem_limit_bytes < 0 ||
	    r->mem_request_bytes < 0 || r->pids_limit < 0)
		return gerr_set(e, -EINVAL, "negative resource quantity");
	if (r->mem_limit_bytes && r->mem_request_bytes > r->mem_limit_bytes)
		return gerr_set(e, -EINVAL, "memory request %lld exceeds memory limit %lld",
				(long long)r->mem_request_bytes, (long long)r->mem_limit_bytes);
	if (r->cpu_limit_milli && r->cpu_request_milli > r->cpu_limit_milli)
		return gerr_set(e, -EINVAL, "cpu request %lldm exceeds cpu limit %lldm",
				(long long)r->cpu_request_milli, (long long)r->cpu_limit_milli);
	/* Below a few MiB the runtime itself (runc init) cannot start: report
	 * it as bad input rather than an opaque OOM at start. */
	if (r->mem_limit_bytes && r->mem_limit_bytes < 4 * 1048576)
		return gerr_set(e, -EINVAL, "memory limit %lld bytes is below the minimum of 4Mi",
				(long long)r->mem_limit_bytes);
	if (r->cpu_limit_milli && r->cpu_limit_milli < 10)
		return gerr_set(e, -EINVAL, "cpu limit %lldm is below the minimum of 10m",
				(long long)r->cpu_limit_milli);

	json_object_set_new(res, "devices", privileged ?
		json_pack("[{s:b,s:s}]", "allow", 1, "access", "rwm") :
		json_pack("[{s:b,s:s}]", "allow", 0, "access", "rwm"));
	if (r->mem_limit_bytes)
		json_object_set_new(res, "memory",
			json_pack("{s:I}", "limit", (json_int_t)r->mem_limit_bytes));
	int64_t req = r->cpu_request_milli ? r->cpu_request_milli : r->cpu_limit_milli;
	if (req || r->cpu_limit_milli) {
		json_t *cpu = json_object();
		if (req) {
			int64_t shares = req * 1024 / 1000;
			json_object_set_new(cpu, "shares", json_integer(shares < 2 ? 2 : shares));
		}
		if (r->cpu_limit_milli) {
			int64_t quota = r->cpu_limit_milli * 100000 / 1000;
			json_object_set_new(cpu, "quota", json_integer(quota < 1000 ? 1000 : quota));
			json_object_set_new(cpu, "period", json_integer(100000));
		}
		json_object_set_new(res, "cpu", cpu);
	}
	if (r->pids_limit)
		json_object_set_new(res, "pids",
			json_pack("{s:I}", "limit", (json_int_t)r->pids_limit));
	return 0;
}

static json_t *default_mounts(bool privileged)
{
	return json_pack(
		"[{s:s,s:s,s:s,s:[s,s,s]},"
		" {s:s,s:s,s:s,s:[s,s,s,s]},"
		" {s:s,s:s,s:s,s:[s,s,s,s,s,s]},"
		" {s:s,s:s,s:s,s:[s,s,s,s,s]},"
		" {s:s,s:s,s:s,s:[s,s,s]},"
		" {s:s,s:s,s:s,s:[s,s,s,s]},"
		" {s:s,s:s,s:s,s:[s,s,s,s,s]}]",
		"destination", "/proc", "type", "proc", "source", "proc",
		"options", "nosuid", "noexec", "nodev",
		"destination", "/dev", "type", "tmpfs", "source", "tmpfs",
		"options", "nosuid", "strictatime", "mode=755", "size=65536k",
		"destination", "/dev/pts", "type", "devpts", "source", "devpts",
		"options", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5",
		"destination", "/dev/shm", "type", "tmpfs", "source", "shm",
		"options", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k",
		"destination", "/dev/mqueue", "type", "mqueue", "source", "mqueue",
		"options", "nosuid", "noexec", "nodev",
		"destination", "/sys", "type", "sysfs", "source", "sysfs",
		"options", "nosuid", "noexec", "nodev", privileged ? "rw" : "ro",
		"destination", "/sys/fs/cgroup", "type", "cgroup", "source", "cgroup",
		"options", "nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro");
}

int rt_oci_config(const struct rt_container_spec *s, const struct rt_oci_params *p,
		  json_t **out, struct gerr *e)
{
	const struct rt_image_config *img = p->image;
	json_t *cfg = NULL, *args = NULL, *env = NULL, *caps = NULL, *proc, *mounts, *linux_,
	       *res, *ns, *user;
	bool priv = s->sec.privileged == RT_TRUE;
	uid_t uid;
	gid_t gid;
	int rc;

	*out = NULL;
	if (!p->rootfs)
		return gerr_set(e, -EINVAL, "no rootfs");

	/* Kubernetes semantics: command replaces the entrypoint, args the cmd;
	 * a command without args ignores the image's cmd. */
	args = json_array();
	if (s->command) {
		append_strv(args, s->command);
		if (s->args)
			append_strv(args, s->args);
	} else {
		if (img && img->entrypoint)
			append_strv(args, (const char *const *)img->entrypoint);
		if (s->args)
			append_strv(args, s->args);
		else if (img && img->cmd)
			append_strv(args, (const char *const *)img->cmd);
	}
	if (json_array_size(args) == 0) {
		rc = gerr_set(e, -EINVAL, "no command specified: neither the container nor image \"%s\" sets one",
			      s->image ? s->image : "");
		goto out;
	}
	if (!json_string_value(json_array_get(args, 0))[0]) {
		rc = gerr_set(e, -EINVAL, "empty command");
		goto out;
	}

	env = json_array();
	if (img && img->env)
		for (char **v = img->env; *v; v++) {
			const char *eq = strchr(*v, '=');
			if (eq)
				env_set(env, *v, (size_t)(eq - *v), *v);
		}
	for (size_t i = 0; i < s->nenv; i++) {
		const char *k = s->env[i].name, *v = s->env[i].value ? s->env[i].value : "";
		if (!k || !*k || strchr(k, '=')) {
			rc = gerr_set(e, -EINVAL, "invalid environment variable name \"%s\"", k ? k : "");
			goto out;
		}
		char *kv;
		if (asprintf(&kv, "%s=%s", k, v) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		env_set(env, k, strlen(k), kv);
		free(kv);
	}
	if (!env_has(env, "PATH"))
		json_array_append_new(env, json_string(
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
	const char *host = s->hostname ? s->hostname : (s->pod_name ? s->pod_name : "gannet");
	if (!env_has(env, "HOSTNAME")) {
		char *kv;
		if (asprintf(&kv, "HOSTNAME=%s", host) >= 0) {
			json_array_append_new(env, json_string(kv));
			free(kv);
		}
	}

	rc = resolve_user(s, p, &uid, &gid, e);
	if (rc)
		goto out;
	rc = build_caps(&s->sec, &caps, e);
	if (rc)
		goto out;

	const char *cwd = s->working_dir && *s->working_dir ? s->working_dir :
		(img && img->working_dir && *img->working_dir ? img->working_dir : "/");
	if (cwd[0] != '/') {
		rc = gerr_set(e, -EINVAL, "workingDir \"%s\" is not an absolute path", cwd);
		goto out;
	}

	user = json_pack("{s:I,s:I}", "uid", (json_int_t)uid, "gid", (json_int_t)gid);
	if (s->sec.nsupplemental) {
		json_t *g = json_array();
		for (size_t i = 0; i < s->sec.nsupplemental; i++)
			json_array_append_new(g, json_integer(s->sec.supplemental_groups[i]));
		json_object_set_new(user, "additionalGids", g);
	}
	/* No rlimits: raising RLIMIT_NOFILE needs CAP_SYS_RESOURCE, which the
	 * agent may lack; the container inherits the agent's limits. */
	proc = json_pack("{s:b,s:o,s:O,s:O,s:s,s:O,s:b}",
			 "terminal", s->tty, "user", user, "args", args, "env", env, "cwd", cwd,
			 "capabilities", caps,
			 /* Kubernetes: allowPrivilegeEscalation=false -> no_new_privs;
			  * unset keeps the default (allowed). */
			 "noNewPrivileges", s->sec.allow_privilege_escalation == RT_FALSE);

	mounts = default_mounts(priv);
	for (size_t i = 0; i < s->nmounts; i++) {
		const struct rt_mount *m = &s->mounts[i];
		if (!m->source || m->source[0] != '/' || !m->dest || m->dest[0] != '/') {
			json_decref(proc);
			json_decref(mounts);
			rc = gerr_set(e, -EINVAL, "mount %s -> %s: paths must be absolute",
				      m->source ? m->source : "", m->dest ? m->dest : "");
			goto out;
		}
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:[s,s,s]}",
			"destination", m->dest, "type", "bind", "source", m->source,
			"options", "rbind", "rprivate", m->readonly ? "ro" : "rw"));
	}

	res = json_object();
	rc = build_resources(&s->res, priv, res, e);
	if (rc) {
		json_decref(proc);
		json_decref(mounts);
		json_decref(res);
		goto out;
	}

	ns = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc",
		       "type", "uts", "type", "mount");
	if (s->netns_path)
		json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "network",
						    "path", s->netns_path));
	else
		json_array_append_new(ns, json_pack("{s:s}", "type", "network"));

	linux_ = json_pack("{s:o,s:o}", "resources", res, "namespaces", ns);
	if (p->cgroups_path)
		json_object_set_new(linux_, "cgroupsPath", json_string(p->cgroups_path));
	if (!priv) {
		json_object_set_new(linux_, "maskedPaths", json_pack("[s,s,s,s,s,s,s,s,s]",
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
			"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
			"/proc/sched_debug", "/sys/firmware"));
		json_object_set_new(linux_, "readonlyPaths", json_pack("[s,s,s,s,s,s]",
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
			"/proc/sysrq-trigger", "/proc/scsi"));
	}

	cfg = json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o,s:{s:s,s:s,s:s,s:s}}",
		"ociVersion", "1.0.2",
		"process", proc,
		"root", "path", p->rootfs, "readonly", s->sec.read_only_root == RT_TRUE,
		"hostname", host,
		"mounts", mounts,
		"linux", linux_,
		"annotations",
		"io.kubernetes.container.name", s->name ? s->name : "",
		"io.kubernetes.pod.name", s->pod_name ? s->pod_name : "",
		"io.kubernetes.pod.namespace", s->pod_namespace ? s->pod_namespace : "",
		"io.kubernetes.pod.uid", s->pod_uid ? s->pod_uid : "");
	if (!cfg) {
		rc = gerr_set(e, -ENOMEM, "building config.json failed");
		goto out;
	}
	*out = cfg;
	rc = 0;
out:
	json_decref(args);
	json_decref(env);
	json_decref(caps);
	return rc;
}
