// SPDX-License-Identifier: Apache-2.0
/* Manager of the node's cluster DNS dnsmasq processes: one "front" that
 * pods query (never restarted: A records arrive through its --hostsdir)
 * and one "back" on 127.0.0.1 that serves the srv-host=/cname= records,
 * which dnsmasq only reads at start. The front forwards the cluster domain
 * to BOTH back ports with --all-servers, so a change of records starts a
 * new back on the other port, then stops the old one, without touching the
 * front: the front never sees its server list change (changing it on
 * SIGHUP loses the replies to queries in flight, and dnsmasq then parks
 * identical queries on the lost one for ~2 s), a dead port costs nothing
 * (its ICMP error is ignored, the live back answers), and --cache-size=0
 * means no stale forwarded answer outlives a switch. Processes run in the node's
 * network namespace (setns in the forked child before exec) and daemonize:
 * dnsmasq's launcher exits only after the daemon has bound its sockets and
 * with a non-zero status if it could not, so a successful spawn means the
 * instance answers. State (pid files, files) lives in one directory so a
 * restarted agent adopts the running instances. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/dns/dns.h"
#include "common/fileutil.h"

#define DNSM_DEFAULT_BIN       "/usr/sbin/dnsmasq"
#define DNSM_DEFAULT_BACK_PORT 10053

/* ------------------------------------------------------------ files */

static char *slurp(const char *path, size_t *len)
{
	char *buf;

	return fu_read_file(path, &buf, len) ? NULL : buf;
}

/* The temporary file goes to m->dir, then is renamed over path: dnsmasq's
 * inotify sees one complete file (a temp file inside the hostsdir would be
 * read half done). 0644 whatever the umask: dnsmasq's unprivileged user
 * reads it. No fsync: the files are rebuilt from the API at every start. */
static int write_atomic(struct dnsm *m, const char *path, const char *data, size_t len)
{
	return fu_write_atomic_via(m->dir, path, data, len, 0644, 0);
}

static bool same_content(const char *path, const char *data, size_t len)
{
	size_t n;
	char *old = slurp(path, &n);
	bool same = old && n == len && !memcmp(old, data, len);
	free(old);
	return same;
}

/* ------------------------------------------------------------ processes */

/* A pid from a pid file that is a live (not zombie) dnsmasq, else 0. */
static pid_t live_pid(const char *pidfile)
{
	char s[32];
	pid_t pid = fu_read_small(pidfile, s, sizeof(s)) > 0 ? (pid_t)atoi(s) : 0;

	if (pid <= 0)
		return 0;
	/* the name guards against a recycled pid */
	if (!fu_proc_alive(pid, "dnsmasq")) {
		/* We might be its subreaper: reap the zombie (that pid only). */
		waitpid(pid, NULL, WNOHANG);
		return 0;
	}
	return pid;
}

static int stop_pidfile(const char *pidfile)
{
	pid_t pid = live_pid(pidfile);
	if (!pid) {
		unlink(pidfile);
		return 0;
	}
	kill(pid, SIGTERM);
	for (int i = 0; i < 400; i++) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		if (!live_pid(pidfile))
			break;
		if (i == 399)
			kill(pid, SIGKILL);
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 100 && live_pid(pidfile); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (live_pid(pidfile))
		return -ETIMEDOUT;
	unlink(pidfile);
	return 0;
}

/* Runs dnsmasq with argv (daemonizing) in the configured netns and waits
 * for its launcher; stderr goes to <dir>/<tag>.err for the message. */
static int spawn(struct dnsm *m, const char *tag, char *const argv[], struct gerr *err)
{
	char errpath[1100];
	int status, nsfd = -1;
	pid_t pid;

	snprintf(errpath, sizeof(errpath), "%s/%s.err", m->dir, tag);
	if (m->o.netns) {
		nsfd = open(m->o.netns, O_RDONLY | O_CLOEXEC);
		if (nsfd < 0)
			return gerr_set(err, -errno, "netns %s: %s", m->o.netns, strerror(errno));
	}
	pid = fork();
	if (pid < 0) {
		int rc = -errno;
		if (nsfd >= 0)
			close(nsfd);
		return gerr_set(err, rc, "fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int nul = open("/dev/null", O_RDWR);
		if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET)) {
			if (fd >= 0)
				dprintf(fd, "setns %s: %s\n", m->o.netns, strerror(errno));
			_exit(126);
		}
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		if (fd >= 0)
			dup2(fd, 2);
		/* Signals the agent may block must not stay blocked in dnsmasq. */
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (nsfd >= 0)
		close(nsfd);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return gerr_set(err, -errno, "waitpid: %s", strerror(errno));
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	char *msg = slurp(errpath, NULL);
	if (msg) {
		size_t n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
			msg[--n] = '\0';
	}
	int rc = gerr_set(err, -EIO, "dnsmasq %s failed (status %d): %s", tag,
			  WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
			  msg && *msg ? msg : "no message");
	free(msg);
	return rc;
}

/* argv builder: a fixed array of malloc'd strings. */
struct args {
	char *v[64];
	int n;
};

static void arg(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	if (a->n >= 62)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s)
		a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void args_free(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static void common_args(struct dnsm *m, struct args *a, const char *tag)
{
	arg(a, "%s", m->o.bin ? m->o.bin : DNSM_DEFAULT_BIN);
	/* Nothing from the host's /etc: no resolv.conf upstreams, no hosts. */
	arg(a, "--no-resolv");
	arg(a, "--no-hosts");
	arg(a, "--bind-interfaces");
	arg(a, "--hostsdir=%s", m->hostsdir);
	arg(a, "--local-ttl=%d", m->o.ttl > 0 ? m->o.ttl : DNS_DEFAULT_TTL);
	arg(a, "--pid-file=%s/%s.pid", m->dir, tag);
	arg(a, "--log-facility=%s/%s.log", m->dir, tag);
	if (m->o.user)
		arg(a, "--user=%s", m->o.user);
}

static int start_front(struct dnsm *m, struct gerr *err)
{
	struct args a = { 0 };
	int rc;
	common_args(m, &a, "front");
	arg(&a, "--conf-file=/dev/null");
	arg(&a, "--port=%d", m->o.port > 0 ? m->o.port : 53);
	for (const char *const *l = m->o.listen; l && *l; l++)
		arg(&a, "--listen-address=%s", *l);
	arg(&a, "--servers-file=%s", m->servers);
	arg(&a, "--all-servers");
	arg(&a, "--cache-size=0");
	rc = spawn(m, "front", a.v, err);
	args_free(&a);
	return rc;
}

static int start_back(struct dnsm *m, int port, const char *records, struct gerr *err)
{
	struct args a = { 0 };
	char tag[32];
	int rc;
	snprintf(tag, sizeof(tag), "back-%d", port);
	common_args(m, &a, tag);
	arg(&a, "--conf-file=%s", records);
	arg(&a, "--listen-address=127.0.0.1");
	arg(&a, "--port=%d", port);
	/* Unknown cluster names are NXDOMAIN here, never forwarded. */
	arg(&a, "--local=/%s/", m->o.domain ? m->o.domain : DNS_DEFAULT_DOMAIN);
	rc = spawn(m, tag, a.v, err);
	args_free(&a);
	return rc;
}

static void back_pidfile(struct dnsm *m, int port, char *buf, size_t len)
{
	snprintf(buf, len, "%s/back-%d.pid", m->dir, port);
}

/* Both back ports, always (see the top of the file), then upstreams. Only
 * rewritten (and the front sent SIGHUP) when it differs. */
static int write_servers(struct dnsm *m, bool *changed)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int rc = 0;
	*changed = false;
	if (!f)
		return -ENOMEM;
	for (int p = m->o.back_port; p <= m->o.back_port + 1; p++)
		fprintf(f, "server=/%s/127.0.0.1#%d\n",
			m->o.domain ? m->o.domain : DNS_DEFAULT_DOMAIN, p);
	for (const char *const *u = m->o.upstreams; u && *u; u++)
		fprintf(f, "server=%s\n", *u);
	fclose(f);
	if (!same_content(m->servers, buf, len)) {
		rc = write_atomic(m, m->servers, buf, len);
		*changed = !rc;
	}
	free(buf);
	return rc;
}

/* ------------------------------------------------------------ API */

int dnsm_init(struct dnsm *m, const struct dnsm_opts *o, struct gerr *err)
{
	char p[1100];
	memset(m, 0, sizeof(*m));
	if (!o || !o->dir || o->dir[0] != '/')
		return gerr_set(err, -EINVAL, "dnsm: an absolute state dir is required");
	if (!o->listen || !o->listen[0])
		return gerr_set(err, -EINVAL, "dnsm: at least one listen address is required");
	if (o->domain && !name_dns1123_subdomain(o->domain))
		return gerr_set(err, -EINVAL, "dnsm: bad domain \"%s\"", o->domain);
	m->o = *o;
	if (!m->o.back_port)
		m->o.back_port = DNSM_DEFAULT_BACK_PORT;
	snprintf(m->dir, sizeof(m->dir), "%s", o->dir);
	snprintf(m->hostsdir, sizeof(m->hostsdir), "%s/hosts.d", m->dir);
	snprintf(m->servers, sizeof(m->servers), "%s/servers.conf", m->dir);
	if (mkdir(m->dir, 0755) && errno != EEXIST)
		return gerr_set(err, -errno, "%s: %s", m->dir, strerror(errno));
	if (mkdir(m->hostsdir, 0755) && errno != EEXIST)
		return gerr_set(err, -errno, "%s: %s", m->hostsdir, strerror(errno));
	/* dnsmasq drops to an unprivileged user: it must read these. */
	chmod(m->dir, 0755);
	chmod(m->hostsdir, 0755);

	/* Adopt a running back (after an interrupted switch both may run:
	 * take the newer; dnsm_apply replaces the other one if needed). */
	time_t newest = 0;
	for (int port = m->o.back_port; port <= m->o.back_port + 1; port++) {
		struct stat st;
		back_pidfile(m, port, p, sizeof(p));
		if (live_pid(p) && !stat(p, &st) && (!m->active_port || st.st_mtime > newest)) {
			m->active_port = port;
			newest = st.st_mtime;
		}
	}
	return 0;
}

pid_t dnsm_front_pid(struct dnsm *m)
{
	char p[1100];
	snprintf(p, sizeof(p), "%s/front.pid", m->dir);
	return live_pid(p);
}

pid_t dnsm_back_pid(struct dnsm *m)
{
	char p[1100];
	if (!m->active_port)
		return 0;
	back_pidfile(m, m->active_port, p, sizeof(p));
	return live_pid(p);
}

int dnsm_reload(struct dnsm *m, struct gerr *err)
{
	pid_t pid = dnsm_front_pid(m);
	if (!pid)
		return gerr_set(err, -ESRCH, "dnsmasq front is not running");
	if (kill(pid, SIGHUP))
		return gerr_set(err, -errno, "SIGHUP %d: %s", (int)pid, strerror(errno));
	return 0;
}

int dnsm_apply(struct dnsm *m, const struct dns_files *f, bool *changed_records,
	       struct gerr *err)
{
	char hosts[1100], rec[1100], pf[1100];
	int rc;

	if (changed_records)
		*changed_records = false;
	/* 1. A records first: SRV targets of a new back may name them. */
	snprintf(hosts, sizeof(hosts), "%s/services", m->hostsdir);
	if (!same_content(hosts, f->hosts, f->hosts_len) &&
	    (rc = write_atomic(m, hosts, f->hosts, f->hosts_len)))
		return gerr_set(err, rc, "%s: %s", hosts, strerror(-rc));

	/* 2. SRV/CNAME: a new back when they changed or none runs. */
	if (m->active_port) {
		snprintf(rec, sizeof(rec), "%s/records-%d.conf", m->dir, m->active_port);
		if (!dnsm_back_pid(m))
			m->active_port = 0;
		else if (!same_content(rec, f->records, f->records_len))
			goto switch_back;
		goto front;
	}
switch_back:;
	int old = m->active_port;
	int port = old == m->o.back_port ? m->o.back_port + 1 : m->o.back_port;
	snprintf(rec, sizeof(rec), "%s/records-%d.conf", m->dir, port);
	back_pidfile(m, port, pf, sizeof(pf));
	stop_pidfile(pf);   /* a leftover from an interrupted switch */
	if ((rc = write_atomic(m, rec, f->records, f->records_len)))
		return gerr_set(err, rc, "%s: %s", rec, strerror(-rc));
	if ((rc = start_back(m, port, rec, err)))
		return rc;
	m->active_port = port;
	if (changed_records)
		*changed_records = true;
	if (old) {
		/* Queries the front sent before the new back was up reached
		 * only the old one: let it answer them. */
		int g = m->o.grace_ms > 0 ? m->o.grace_ms : 50;
		struct timespec ts = { g / 1000, (long)(g % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		back_pidfile(m, old, pf, sizeof(pf));
		stop_pidfile(pf);
		snprintf(rec, sizeof(rec), "%s/records-%d.conf", m->dir, old);
		unlink(rec);
	}
front:;
	bool sv_changed;
	if ((rc = write_servers(m, &sv_changed)))
		return gerr_set(err, rc, "%s: %s", m->servers, strerror(-rc));
	if (!dnsm_front_pid(m))
		return start_front(m, err);
	/* upstreams changed (the domain is fixed per state dir) */
	if (sv_changed)
		return dnsm_reload(m, err);
	return 0;
}

int dnsm_stop(struct dnsm *m, struct gerr *err)
{
	char p[1100];
	int rc = 0, r;
	snprintf(p, sizeof(p), "%s/front.pid", m->dir);
	if ((r = stop_pidfile(p)))
		rc = gerr_set(err, r, "stopping dnsmasq front: %s", strerror(-r));
	for (int port = m->o.back_port; port <= m->o.back_port + 1; port++) {
		back_pidfile(m, port, p, sizeof(p));
		if ((r = stop_pidfile(p)))
			rc = gerr_set(err, r, "stopping dnsmasq back %d: %s", port, strerror(-r));
	}
	m->active_port = 0;
	return rc;
}
