/* SPDX-License-Identifier: Apache-2.0 */
/* nginx instance manager (see nginx.h). nginx runs as a daemon with its pid
 * file in the private prefix, so the manager can be a short-lived CLI or a
 * long-lived agent alike; the master is identified by its pid file plus its
 * command line (which names our config), never by process name. Output of
 * every nginx invocation goes to logs/cmd.log and is quoted in errors. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "ingress/nginx.h"

extern char **environ;

#define MAX_WORKERS 256

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The last line(s) of a log file, for error messages. */
static void log_tail(const char *path, char *out, size_t cap)
{
	char buf[8192];
	ssize_t n = fu_read_small(path, buf, sizeof(buf));
	char *p;

	out[0] = 0;
	if (n <= 0)
		return;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	p = buf + n;
	/* Up to two lines: "[emerg] ..." and "configuration test failed". */
	for (int lines = 0; p > buf && lines < 2; ) {
		p--;
		if (*p == '\n')
			lines++;
	}
	if (*p == '\n')
		p++;
	for (char *q = p; *q; q++)
		if (*q == '\n')
			*q = ' ';
	/* Keep the end when it does not fit: the reason is last. */
	n = (ssize_t)strlen(p);
	if ((size_t)n >= cap)
		p += (size_t)n - (cap - 1), n = (ssize_t)cap - 1;
	memcpy(out, p, (size_t)n + 1);
}

/* Runs argv with stdout+stderr appended to logs/cmd.log (truncated first). */
static int run(struct ngxm *m, char *const argv[], int *status)
{
	char log[1200];
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	snprintf(log, sizeof(log), "%slogs/cmd.log", m->prefix);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc)
		return -rc;
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

int ngxm_init(struct ngxm *m, const char *prefix, const char *bin, struct gerr *err)
{
	/* Workers run as the unprivileged default user and need to reach
	 * their temp dirs (nginx chowns the ones below tmp): traversable, not
	 * listable. */
	static const struct { const char *name; mode_t mode; } sub[] = {
		{ "logs", 0700 }, { "tmp", 0711 }, { "certs", 0700 },
	};
	char d[1200];
	size_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	n = prefix ? strlen(prefix) : 0;
	if (!n || prefix[0] != '/' || n > sizeof(m->prefix) - 2)
		return gerr_set(err, -EINVAL, "nginx prefix must be an absolute path");
	snprintf(m->prefix, sizeof(m->prefix), "%s%s", prefix, prefix[n - 1] == '/' ? "" : "/");
	snprintf(m->conf, sizeof(m->conf), "%snginx.conf", m->prefix);
	snprintf(m->cert_dir, sizeof(m->cert_dir), "%scerts", m->prefix);
	snprintf(m->bin, sizeof(m->bin), "%s", bin ? bin : "nginx");
	m->timeout_ms = 10000;
	rc = fu_mkdir_p(m->prefix, 0711);
	if (rc)
		return gerr_set(err, rc, "mkdir %s: %s", m->prefix, strerror(-rc));
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(d, sizeof(d), "%s%s", m->prefix, sub[i].name);
		if (mkdir(d, sub[i].mode) && errno != EEXIST)
			return gerr_set(err, -errno, "mkdir %s: %s", d, strerror(errno));
	}
	return 0;
}

static int test_file(struct ngxm *m, const char *file, struct gerr *err)
{
	char *argv[] = { m->bin, "-q", "-t", "-p", m->prefix, "-c", (char *)file, NULL };
	char log[1200], tail[400];
	int st = 0, rc;

	rc = run(m, argv, &st);
	if (rc)
		return gerr_set(err, rc, "run %s: %s", m->bin, strerror(-rc));
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	snprintf(log, sizeof(log), "%slogs/cmd.log", m->prefix);
	log_tail(log, tail, sizeof(tail));
	return gerr_set(err, -EINVAL, "nginx -t rejected the configuration: %s", tail);
}

int ngxm_validate(struct ngxm *m, const char *text, size_t len, struct gerr *err)
{
	char tmp[1200];
	int rc;

	snprintf(tmp, sizeof(tmp), "%snginx.conf.check", m->prefix);
	rc = fu_write_atomic(tmp, text, len, 0600, FU_FSYNC);
	if (rc)
		return gerr_set(err, rc, "write %s: %s", tmp, strerror(-rc));
	rc = test_file(m, tmp, err);
	unlink(tmp);
	return rc;
}

pid_t ngxm_pid(struct ngxm *m)
{
	char path[1200], buf[4096];
	ssize_t n;
	long pid;

	snprintf(path, sizeof(path), "%snginx.pid", m->prefix);
	if (fu_read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	pid = strtol(buf, NULL, 10);
	if (pid <= 1)
		return 0;
	/* A stale pid file may name a reused pid: the master's title carries
	 * our config path. Zombies count as gone. */
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	n = fu_read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (ssize_t i = 0; i < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	if (strncmp(buf, "nginx: master", 13) || !strstr(buf, m->conf))
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if (fu_read_small(path, buf, sizeof(buf)) > 0) {
		char *p = strrchr(buf, ')');
		if (p && p[1] && p[2] == 'Z')
			return 0;
	}
	return (pid_t)pid;
}

/* Workers of master that are not shutting down. */
static int workers(pid_t master, pid_t *out, int cap)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)) && n < cap) {
		char path[300], buf[512], *p;
		long ppid;
		char state;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (fu_read_small(path, buf, sizeof(buf)) <= 0)
			continue;
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %ld", &state, &ppid) != 2 || ppid != master || state == 'Z')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		if (fu_read_small(path, buf, sizeof(buf)) <= 0 ||
		    strncmp(buf, "nginx: worker process", 21) || strstr(buf, "shutting down"))
			continue;
		out[n++] = (pid_t)atol(e->d_name);
	}
	closedir(d);
	return n;
}

int ngxm_start(struct ngxm *m, struct gerr *err)
{
	char *argv[] = { m->bin, "-p", m->prefix, "-c", m->conf, NULL };
	char log[1200], tail[400];
	pid_t w[MAX_WORKERS];
	long long end;
	int st = 0, rc;

	if (ngxm_pid(m))
		return 0;
	rc = run(m, argv, &st);
	if (rc)
		return gerr_set(err, rc, "run %s: %s", m->bin, strerror(-rc));
	snprintf(log, sizeof(log), "%slogs/cmd.log", m->prefix);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		log_tail(log, tail, sizeof(tail));
		return gerr_set(err, -EIO, "nginx failed to start: %s", tail);
	}
	/* The daemon writes its pid file after forking; ready once a
	 * worker exists (listening sockets are open by then). */
	end = now_ms() + m->timeout_ms;
	while (now_ms() < end) {
		pid_t pid = ngxm_pid(m);
		if (pid && workers(pid, w, MAX_WORKERS) > 0)
			return 0;
		sleep_ms(10);
	}
	snprintf(log, sizeof(log), "%slogs/error.log", m->prefix);
	log_tail(log, tail, sizeof(tail));
	return gerr_set(err, -ETIMEDOUT, "nginx did not come up: %s", tail);
}

/* Looks for an "[emerg]" line written to the error log after offset off
 * (the master's verdict on a reload it could not apply, e.g. a bind()
 * failure that nginx -t cannot see). Copies the line to out. */
static bool emerg_since(const char *log, off_t off, char *out, size_t cap)
{
	char buf[8192], *p, *e;
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = pread(fd, buf, sizeof(buf) - 1, off);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	p = strstr(buf, "[emerg]");
	if (!p)
		return false;
	e = strchr(p, '\n');
	if (e)
		*e = 0;
	snprintf(out, cap, "%.*s", (int)(cap - 1), p);
	return true;
}

int ngxm_reload(struct ngxm *m, struct gerr *err)
{
	pid_t master = ngxm_pid(m), before[MAX_WORKERS], now[MAX_WORKERS];
	char log[1200], tail[400];
	struct stat st;
	off_t off;
	int nb, nn;
	long long end;

	if (!master)
		return gerr_set(err, -ESRCH, "nginx of %s is not running", m->prefix);
	nb = workers(master, before, MAX_WORKERS);
	if (nb < 0)
		return gerr_set(err, nb, "list workers: %s", strerror(-nb));
	snprintf(log, sizeof(log), "%slogs/error.log", m->prefix);
	off = stat(log, &st) ? 0 : st.st_size;
	if (kill(master, SIGHUP))
		return gerr_set(err, -errno, "SIGHUP %d: %s", (int)master, strerror(errno));
	/* Done when no old worker accepts any more: every live (not
	 * shutting down) worker is from the new generation. If the master
	 * could not apply the config it keeps the old workers and logs why. */
	end = now_ms() + m->timeout_ms;
	while (now_ms() < end) {
		bool old = false;

		sleep_ms(10);
		nn = workers(master, now, MAX_WORKERS);
		for (int i = 0; i < nn && !old; i++)
			for (int j = 0; j < nb; j++)
				old |= now[i] == before[j];
		if (nn > 0 && !old)
			return 0;
		if (emerg_since(log, off, tail, sizeof(tail)))
			return gerr_set(err, -EIO, "nginx refused the new configuration (old one still serving): %s", tail);
	}
	log_tail(log, tail, sizeof(tail));
	return gerr_set(err, -ETIMEDOUT, "nginx reload not applied: %s", tail);
}

/* Serialises appliers of one prefix (agent and a debugging CLI, say):
 * check-then-rename-then-signal must not interleave. */
static int lock_prefix(struct ngxm *m, struct gerr *err)
{
	char path[1200];
	int fd;

	snprintf(path, sizeof(path), "%s.lock", m->prefix);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return gerr_set(err, -errno, "open %s: %s", path, strerror(errno));
	while (flock(fd, LOCK_EX)) {
		if (errno != EINTR) {
			int rc = gerr_set(err, -errno, "flock %s: %s", path, strerror(errno));
			close(fd);
			return rc;
		}
	}
	return fd;
}

static int stop_locked(struct ngxm *m, struct gerr *err)
{
	pid_t pid = ngxm_pid(m);
	long long end;

	if (!pid)
		return 0;
	if (kill(pid, SIGQUIT) && errno != ESRCH)
		return gerr_set(err, -errno, "SIGQUIT %d: %s", (int)pid, strerror(errno));
	end = now_ms() + m->timeout_ms;
	while (now_ms() < end) {
		if (!ngxm_pid(m))
			return 0;
		sleep_ms(20);
	}
	kill(pid, SIGTERM);
	end = now_ms() + 2000;
	while (now_ms() < end) {
		if (!ngxm_pid(m))
			return 0;
		sleep_ms(20);
	}
	return gerr_set(err, -ETIMEDOUT, "nginx %d did not stop", (int)pid);
}

int ngxm_stop(struct ngxm *m, struct gerr *err)
{
	int fd = lock_prefix(m, err), rc;

	if (fd < 0)
		return fd;
	rc = stop_locked(m, err);
	close(fd);
	return rc;
}

/* 1 if path holds exactly text, 0 if it differs, -errno if unreadable. */
static int same_content(const char *path, const char *text, size_t len)
{
	char buf[65536];
	size_t off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 1;
	ssize_t r;

	if (fd < 0)
		return -errno;
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		if (off + (size_t)r > len || memcmp(buf, text + off, (size_t)r)) {
			rc = 0;
			break;
		}
		off += (size_t)r;
	}
	if (r < 0)
		rc = -errno;
	else if (rc == 1 && off != len)
		rc = 0;
	close(fd);
	return rc;
}

static int apply_locked(struct ngxm *m, const char *text, size_t len, bool *changed,
			struct gerr *err)
{
	char newp[1200], prev[1200];
	int n = same_content(m->conf, text, len);
	bool same = n == 1;
	pid_t pid = ngxm_pid(m);
	int rc;

	if (changed)
		*changed = false;
	if (same && pid)
		return 0;
	snprintf(newp, sizeof(newp), "%snginx.conf.new", m->prefix);
	snprintf(prev, sizeof(prev), "%snginx.conf.prev", m->prefix);
	rc = fu_write_atomic(newp, text, len, 0600, FU_FSYNC);
	if (rc)
		return gerr_set(err, rc, "write %s: %s", newp, strerror(-rc));
	rc = test_file(m, newp, err);
	if (rc) {
		unlink(newp);
		return rc;
	}
	/* Keep the live file for a rollback if the master refuses it. */
	if (n >= 0 && link(m->conf, prev) && errno == EEXIST) {
		unlink(prev);
		if (link(m->conf, prev))
			pr_warn("ingress: keep %s: %s\n", prev, strerror(errno));
	}
	if (rename(newp, m->conf)) {
		rc = gerr_set(err, -errno, "rename %s: %s", newp, strerror(errno));
		unlink(newp);
		return rc;
	}
	rc = pid ? ngxm_reload(m, err) : ngxm_start(m, err);
	if (rc && pid && n >= 0 && !rename(prev, m->conf))
		gerr_wrap(err, "restored previous configuration");
	if (!rc && changed)
		*changed = true;
	return rc;
}

int ngxm_apply(struct ngxm *m, const char *text, size_t len, bool *changed,
	       struct gerr *err)
{
	int fd = lock_prefix(m, err), rc;

	if (fd < 0)
		return fd;
	rc = apply_locked(m, text, len, changed, err);
	close(fd);
	return rc;
}
