// SPDX-License-Identifier: Apache-2.0
/* Container lifecycle on runc: bundle creation (overlay rootfs over the
 * image, config.json), a per-container shim process that owns the
 * container's stdio and exit status, runc create/start/state/kill/delete,
 * graceful stop, listing for adoption after an agent restart, and exec.
 *
 * Why a shim: runc's detached containers inherit runc's stdio and are
 * reparented when runc exits. The shim (forked from the caller, detached
 * with setsid and a double fork so it outlives an agent restart) runs
 * `runc create` as a child subreaper, so the container's init becomes its
 * child: it timestamps stdout/stderr into the log file and writes
 * exit.json with the exit code when init ends. The agent only reads files,
 * which is what lets a restarted agent adopt running containers.
 *
 * Layout under <state>/containers/<id>/ (also the OCI bundle):
 *   config.json  meta.json  rootfs/ (overlay mount)  upper/ work/
 *   init.pid  shim.pid  started  exit.json  runc.log  container.log */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/runtime/internal.h"
#include "agent/runtime/runtime.h"

struct rt {
	char *state_dir;
	char *runc_root;
	char *ctr_dir;
	char *cgroup_parent;
	char *runc;
	char *shim;          /* gannet-shim binary, NULL = run the shim in a fork */
	long long log_max;   /* rotate container logs at this size; 0 = never */
	struct rt_images *images;
	bool own_images;
};

/* Default shim binary: $GANNET_SHIM, else gannet-shim next to our own
 * executable (both land in build/bin, and in /usr/bin when installed). */
static char *find_shim(const char *opt)
{
	char self[4096], *p;
	const char *env = getenv("GANNET_SHIM");
	ssize_t n;

	if (opt)
		return strdup(opt);
	if (env && *env)
		return strdup(env);
	n = readlink("/proc/self/exe", self, sizeof(self) - 32);
	if (n <= 0)
		return NULL;
	self[n] = '\0';
	p = strrchr(self, '/');
	if (!p)
		return NULL;
	strcpy(p + 1, "gannet-shim");
	return access(self, X_OK) == 0 ? strdup(self) : NULL;
}

/* ---- handle ----------------------------------------------------------- */

int rt_open(const struct rt_opts *o, struct rt **out, struct gerr *e)
{
	struct rt *r;
	char p[4200];
	int rc;

	*out = NULL;
	if (!o || !o->state_dir)
		return gerr_set(e, -EINVAL, "runtime: no state dir");
	rc = fu_mkdir_p(o->state_dir, 0711);
	if (rc)
		return gerr_set(e, rc, "state dir %s: %s", o->state_dir, strerror(-rc));
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->state_dir = realpath(o->state_dir, NULL);
	if (!r->state_dir) {
		rc = gerr_set(e, -errno, "state dir %s: %s", o->state_dir, strerror(errno));
		goto fail;
	}
	if (asprintf(&r->runc_root, "%s/runc", r->state_dir) < 0 ||
	    asprintf(&r->ctr_dir, "%s/containers", r->state_dir) < 0) {
		rc = -ENOMEM;
		goto fail;
	}
	fu_mkdir_p(r->runc_root, 0700);
	fu_mkdir_p(r->ctr_dir, 0711);
	if (o->cgroup_parent) {
		r->cgroup_parent = strdup(o->cgroup_parent);
	} else {
		snprintf(p, sizeof(p), "%s", r->state_dir);
		if (asprintf(&r->cgroup_parent, "gannet/%s", basename(p)) < 0)
			r->cgroup_parent = NULL;
	}
	r->runc = strdup(o->runc ? o->runc : "runc");
	r->shim = find_shim(o->shim);
	r->log_max = o->log_max_bytes < 0 ? 0 : o->log_max_bytes ? o->log_max_bytes : 10LL << 20;
	pr_debug("runtime: shim %s\n", r->shim ? r->shim : "(in-process fork)");
	if (!r->cgroup_parent || !r->runc) {
		rc = -ENOMEM;
		goto fail;
	}
	if (o->images) {
		r->images = o->images;
	} else {
		snprintf(p, sizeof(p), "%s/images", r->state_dir);
		rc = rt_images_open(p, &r->images, e);
		if (rc)
			goto fail;
		r->own_images = true;
	}
	*out = r;
	return 0;
fail:
	rt_close(r);
	return rc;
}

void rt_close(struct rt *r)
{
	if (!r)
		return;
	if (r->own_images)
		rt_images_close(r->images);
	free(r->state_dir);
	free(r->runc_root);
	free(r->ctr_dir);
	free(r->cgroup_parent);
	free(r->runc);
	free(r->shim);
	free(r);
}

struct rt_images *rt_images_of(struct rt *r)
{
	return r->images;
}

const char *rt_state_dir(struct rt *r)
{
	return r->state_dir;
}

static void cpath(struct rt *r, const char *id, const char *file, char *out, size_t len)
{
	if (file)
		snprintf(out, len, "%s/%s/%s", r->ctr_dir, id, file);
	else
		snprintf(out, len, "%s/%s", r->ctr_dir, id);
}

/* Runs "runc --root <root> <args...>" capturing its output. */
static int runc_cmd(struct rt *r, int timeout_ms, char *out, size_t outlen, ...)
{
	const char *argv[24] = { r->runc, "--root", r->runc_root };
	int n = 3;
	va_list ap;

	va_start(ap, outlen);
	for (const char *a; (a = va_arg(ap, const char *)) && n < 23; )
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return rtu_run(argv, timeout_ms, out, outlen);
}

/* Last error message runc wrote to its JSON log. */
static void runc_log_error(const char *path, char *out, size_t len)
{
	char *data = NULL;
	size_t n;

	out[0] = '\0';
	if (fu_read_file(path, &data, &n))
		return;
	for (char *save, *l = strtok_r(data, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		const char *lvl = json_string_value(json_object_get(j, "level"));
		const char *msg = json_string_value(json_object_get(j, "msg"));
		if (lvl && msg && (!strcmp(lvl, "error") || !strcmp(lvl, "fatal")))
			snprintf(out, len, "%s", msg);
		json_decref(j);
	}
	free(data);
}

/* ---- shim ------------------------------------------------------------- */

#define SHIM_STDIN 1   /* keep the container's stdin open */
#define SHIM_RUN   2   /* runc run --detach instead of runc create */
#define SHIM_TTY   4   /* process.terminal: receive the pty master from runc */

struct shim_sync {
	int rc;        /* runc create exit status, or -errno */
	pid_t init;    /* container init pid */
};

struct shim_stream {
	int fd;
	const char *name;
	char buf[16384];
	size_t len;
};

/* Log rotation state of the shim (a single-threaded process). */
static const char *shim_log_path;
static long long shim_log_max, shim_log_size;

/* Moves a full log to <log>.1 (replacing the previous one) and continues
 * in a fresh file on the same descriptor number. */
static void shim_rotate(int logfd)
{
	char old[4200];
	int fd;

	snprintf(old, sizeof(old), "%s.1", shim_log_path);
	if (rename(shim_log_path, old))
		return;
	fd = open(shim_log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0)
		return;
	dup3(fd, logfd, O_CLOEXEC);
	close(fd);
	shim_log_size = 0;
}

/* Writes one CRI log record: "<RFC3339Nano> <stream> <F|P> <text>\n". */
static void shim_log(int logfd, const char *stream, const char *text, size_t len, bool partial)
{
	struct timespec ts;
	char hdr[96], tsb[48];
	struct iovec {
		const void *b;
		size_t l;
	} parts[3];

	clock_gettime(CLOCK_REALTIME, &ts);
	rtu_timespec_str(&ts, tsb, sizeof(tsb));
	int hl = snprintf(hdr, sizeof(hdr), "%s %s %c ", tsb, stream, partial ? 'P' : 'F');
	parts[0].b = hdr;
	parts[0].l = (size_t)hl;
	parts[1].b = text;
	parts[1].l = len;
	parts[2].b = "\n";
	parts[2].l = 1;
	/* One write per record (O_APPEND) so concurrent readers never see a
	 * record without its header. */
	char rec[16384 + 128];
	size_t n = 0;
	for (int i = 0; i < 3; i++) {
		memcpy(rec + n, parts[i].b, parts[i].l);
		n += parts[i].l;
	}
	if (shim_log_path && shim_log_max > 0 && shim_log_size > 0 &&
	    shim_log_size + (long long)n > shim_log_max)
		shim_rotate(logfd);
	while (write(logfd, rec, n) < 0 && errno == EINTR)
		;
	shim_log_size += (long long)n;
}

/* Returns false at EOF. */
static bool shim_pump(struct shim_stream *s, int logfd)
{
	ssize_t r = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (r <= 0) {
		if (s->len)
			shim_log(logfd, s->name, s->buf, s->len, false);
		s->len = 0;
		return false;
	}
	s->len += (size_t)r;
	char *start = s->buf, *nl;
	while ((nl = memchr(start, '\n', s->len - (size_t)(start - s->buf)))) {
		size_t l = (size_t)(nl - start);
		/* A terminal ends lines with \r\n. */
		if (l && start[l - 1] == '\r')
			l--;
		shim_log(logfd, s->name, start, l, false);
		start = nl + 1;
	}
	size_t rest = s->len - (size_t)(start - s->buf);
	if (rest == sizeof(s->buf)) {
		/* A line longer than the buffer: emit it in partial records. */
		shim_log(logfd, s->name, s->buf, rest, true);
		rest = 0;
	}
	memmove(s->buf, start, rest);
	s->len = rest;
	return true;
}

/* Memory cgroup path of pid (v1 "memory" line, or the v2 unified line). */
static void shim_oom_file(pid_t pid, char *out, size_t len)
{
	char p[64], line[1024], v1[900] = "", v2[900] = "";
	FILE *f;

	out[0] = '\0';
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (!strcmp(c1 + 1, "memory"))
			snprintf(v1, sizeof(v1), "%s", c2 + 1);
		else if (c1[1] == '\0' && !strncmp(line, "0", 1))
			snprintf(v2, sizeof(v2), "%s", c2 + 1);
	}
	fclose(f);
	if (v1[0])
		snprintf(out, len, "/sys/fs/cgroup/memory%s/memory.oom_control", v1);
	else if (v2[0])
		snprintf(out, len, "/sys/fs/cgroup%s/memory.events", v2);
}

static long oom_kills(const char *file)
{
	char buf[1024], *p;

	if (!file[0] || fu_read_small(file, buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "oom_kill ");
	return p ? strtol(p + 9, NULL, 10) : 0;
}

static void shim_write_exit(const char *dir, int status, bool oom)
{
	char p[4200], tsb[48], rec[512];
	struct timespec ts;
	int code, sig = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	rtu_timespec_str(&ts, tsb, sizeof(tsb));
	if (WIFEXITED(status)) {
		code = WEXITSTATUS(status);
	} else {
		sig = WTERMSIG(status);
		code = 128 + sig;
	}
	int n = snprintf(rec, sizeof(rec),
			 "{\"exitCode\":%d,\"signal\":%d,\"oomKilled\":%s,\"finishedAt\":\"%s\"}\n",
			 code, sig, oom ? "true" : "false", tsb);
	snprintf(p, sizeof(p), "%s/exit.json", dir);
	fu_write_atomic(p, rec, (size_t)n, 0644, FU_FSYNC);
}

/* Accepts runc's connection on the console socket and returns the pty
 * master it sends, or -errno. */
static int shim_recv_master(int csock)
{
	struct pollfd p = { .fd = csock, .events = POLLIN };
	char data[256], cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = data, .iov_len = sizeof(data) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	int conn, fd = -EPROTO;

	if (poll(&p, 1, 5000) <= 0)
		return -ETIMEDOUT;
	conn = accept4(csock, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return -errno;
	if (recvmsg(conn, &m, MSG_CMSG_CLOEXEC) >= 0) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	close(conn);
	return fd;
}

/* Runs in the shim process (never returns). fds: sync (write end) and the
 * log file; everything else was closed. */
static void __attribute__((noreturn))
shim_main(struct rt *r, const char *id, const char *dir, int syncfd, int logfd, int flags,
	  const char *log_path, long long log_max)
{
	bool stdin_open = flags & SHIM_STDIN;
	int out[2], err[2], in[2] = { -1, -1 };
	char pidfile[4200], runclog[4200], oomf[1024] = "";
	struct shim_sync sync = { .rc = 0 };
	struct shim_stream so = { .name = "stdout" }, se = { .name = "stderr" };
	int pidfd = -1, status = 0, csock = -1, master = -1;
	char sockpath[sizeof(((struct sockaddr_un *)0)->sun_path)];
	pid_t c;

	prctl(PR_SET_CHILD_SUBREAPER, 1);
	prctl(PR_SET_NAME, "gannet-shim");
	struct stat lst;
	shim_log_path = log_path;
	shim_log_max = log_max;
	shim_log_size = fstat(logfd, &lst) == 0 ? (long long)lst.st_size : 0;
	{
		char sp[4200], b[16];
		snprintf(sp, sizeof(sp), "%s/shim.pid", dir);
		int l = snprintf(b, sizeof(b), "%d", (int)getpid());
		fu_write_atomic(sp, b, (size_t)l, 0644, FU_FSYNC);
	}
	snprintf(pidfile, sizeof(pidfile), "%s/init.pid", dir);
	snprintf(runclog, sizeof(runclog), "%s/runc.log", dir);
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || (stdin_open && pipe2(in, O_CLOEXEC))) {
		sync.rc = -errno;
		goto fail;
	}
	if (flags & SHIM_TTY) {
		/* runc hands the pty master over this socket (SCM_RIGHTS). */
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if ((size_t)snprintf(sockpath, sizeof(sockpath), "%s/console.sock", dir) >=
		    sizeof(sockpath)) {
			sync.rc = -ENAMETOOLONG;
			goto fail;
		}
		memcpy(sa.sun_path, sockpath, sizeof(sockpath));
		unlink(sockpath);
		csock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (csock < 0 || bind(csock, (struct sockaddr *)&sa, sizeof(sa)) || listen(csock, 1)) {
			sync.rc = -errno;
			goto fail;
		}
	}
	c = fork();
	if (c < 0) {
		sync.rc = -errno;
		goto fail;
	}
	if (c == 0) {
		int nul = open("/dev/null", O_RDWR);
		dup2(stdin_open ? in[0] : nul, 0);
		dup2(out[1], 1);
		dup2(err[1], 2);
		/* rt_run: `runc run --detach` saves a second runc process
		 * (create + start) on the start path. */
		const char *av[20] = { r->runc, "--root", r->runc_root, "--log", runclog,
				       "--log-format", "json" };
		int n = 7;
		if (flags & SHIM_RUN) {
			av[n++] = "run";
			av[n++] = "--detach";
		} else {
			av[n++] = "create";
		}
		av[n++] = "--bundle";
		av[n++] = dir;
		av[n++] = "--pid-file";
		av[n++] = pidfile;
		if (flags & SHIM_TTY) {
			av[n++] = "--console-socket";
			av[n++] = sockpath;
		}
		av[n++] = id;
		av[n] = NULL;
		execvp(r->runc, (char *const *)av);
		dprintf(2, "exec %s: %s\n", r->runc, strerror(errno));
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	if (stdin_open)
		close(in[0]);   /* keep in[1] open: the container's stdin never hits EOF */
	so.fd = out[0];
	se.fd = err[0];
	while (waitpid(c, &status, 0) < 0 && errno == EINTR)
		;
	sync.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (sync.rc == 0) {
		char buf[32];

		fu_read_small(pidfile, buf, sizeof(buf));
		sync.init = (pid_t)atoi(buf);
		pidfd = sync.init > 0 ? (int)syscall(SYS_pidfd_open, sync.init, 0) : -1;
		if (pidfd < 0)
			sync.rc = -ESRCH;
		else
			shim_oom_file(sync.init, oomf, sizeof(oomf));
		if (pidfd >= 0 && (flags & SHIM_TTY)) {
			master = shim_recv_master(csock);
			if (master < 0)
				sync.rc = master;
		}
	}
	if (csock >= 0) {
		close(csock);
		unlink(sockpath);
	}
	if (master >= 0) {
		/* The terminal is the container's only output: log it as
		 * stdout. runc's own stdio (messages only) is done. */
		while (shim_pump(&so, logfd))
			;
		close(out[0]);
		so.fd = master;
		so.len = 0;
	}
	while (write(syncfd, &sync, sizeof(sync)) < 0 && errno == EINTR)
		;
	close(syncfd);

	bool oeof = false, eeof = false, exited = pidfd < 0;
	if (master >= 0) {
		while (shim_pump(&se, logfd))
			;
		eeof = true;
	}
	int init_status = 0;
	struct timespec t_exit = { 0 };
	while (!(oeof && eeof)) {
		struct pollfd p[3] = {
			{ .fd = oeof ? -1 : so.fd, .events = POLLIN },
			{ .fd = eeof ? -1 : se.fd, .events = POLLIN },
			{ .fd = exited ? -1 : pidfd, .events = POLLIN },
		};
		int rc = poll(p, 3, exited ? 200 : 5000);
		if (rc < 0 && errno != EINTR)
			break;
		if (p[0].revents && !shim_pump(&so, logfd))
			oeof = true;
		if (p[1].revents && !shim_pump(&se, logfd))
			eeof = true;
		/* Reap init and orphans reparented to us (subreaper) in one
		 * loop: a separate waitpid(-1) for orphans could reap init and
		 * lose its status. The pidfd only wakes us up. */
		pid_t w;
		int ws;
		while ((w = waitpid(-1, &ws, WNOHANG)) != 0) {
			if (w < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			if (w == sync.init && !exited) {
				init_status = ws;
				exited = true;
				clock_gettime(CLOCK_MONOTONIC, &t_exit);
			}
		}
		if (exited && pidfd >= 0) {
			/* Something outside the pid namespace (a runc exec'd
			 * process still alive) may hold the pipes: do not wait
			 * for EOF forever once init is gone. */
			struct timespec now;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - t_exit.tv_sec > 2)
				break;
		}
	}
	if (pidfd >= 0) {
		if (!exited)
			while (waitpid(sync.init, &init_status, 0) < 0 && errno == EINTR)
				;
		bool oom = WIFSIGNALED(init_status) && WTERMSIG(init_status) == SIGKILL &&
			   oom_kills(oomf) > 0;
		shim_write_exit(dir, init_status, oom);
	} else {
		/* create failed: flush whatever runc printed. */
		while (shim_pump(&so, logfd))
			;
		while (shim_pump(&se, logfd))
			;
	}
	_exit(0);
fail:
	while (write(syncfd, &sync, sizeof(sync)) < 0 && errno == EINTR)
		;
	_exit(1);
}

int rt_shim_exec_main(int argc, char **argv)
{
	struct rt r = { 0 };

	/* argv: gannet-shim RUNC RUNC_ROOT ID BUNDLE_DIR FLAGS(SHIM_*) LOG_PATH
	 * LOG_MAX_BYTES; fds 3 = sync pipe, 4 = log file (set up by start_shim). */
	if (argc != 8) {
		fprintf(stderr, "gannet-shim is started by the runtime library\n");
		return 2;
	}
	r.runc = argv[1];
	r.runc_root = argv[2];
	shim_main(&r, argv[3], argv[4], 3, 4, atoi(argv[5]), argv[6], atoll(argv[7]));
}

/* Forks the shim (double fork + setsid so it is not our child and survives
 * us) and waits for its report on runc create. */
static int start_shim(struct rt *r, const char *id, const char *dir, const char *log_path,
		      int flags, struct shim_sync *sync, struct gerr *e)
{
	int sp[2], logfd, status;
	pid_t a;

	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (logfd < 0)
		return gerr_set(e, -errno, "log file %s: %s", log_path, strerror(errno));
	if (pipe2(sp, O_CLOEXEC)) {
		close(logfd);
		return gerr_set(e, -errno, "pipe: %s", strerror(errno));
	}
	a = fork();
	if (a < 0) {
		int rc = -errno;
		close(logfd);
		close(sp[0]);
		close(sp[1]);
		return gerr_set(e, rc, "fork: %s", strerror(-rc));
	}
	if (a == 0) {
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		setsid();
		if (chdir("/"))
			_exit(1);
		/* Keep only the sync pipe (3) and the log (4): an inherited
		 * listening socket of the agent would outlive it otherwise. */
		int s3 = fcntl(sp[1], F_DUPFD, 100), l4 = fcntl(logfd, F_DUPFD, 100);
		dup2(s3, 3);
		dup2(l4, 4);
		syscall(SYS_close_range, 5, ~0U, 0);
		int nul = open("/dev/null", O_RDWR);
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
		if (nul > 4)
			close(nul);
		pid_t b = fork();
		if (b != 0)
			_exit(b < 0);
		/* A separate small binary, so that every container does not
		 * keep a copy-on-write image of the whole agent alive. */
		char max[32], fl[8];
		snprintf(max, sizeof(max), "%lld", r->log_max);
		snprintf(fl, sizeof(fl), "%d", flags);
		if (r->shim)
			execl(r->shim, "gannet-shim", r->runc, r->runc_root, id, dir, fl, log_path,
			      max, (char *)NULL);
		shim_main(r, id, dir, 3, 4, flags, log_path, r->log_max);
	}
	close(sp[1]);
	close(logfd);
	while (waitpid(a, &status, 0) < 0 && errno == EINTR)
		;
	ssize_t n;
	while ((n = read(sp[0], sync, sizeof(*sync))) < 0 && errno == EINTR)
		;
	close(sp[0]);
	if (n != (ssize_t)sizeof(*sync))
		return gerr_set(e, -EIO, "container shim died before reporting");
	return 0;
}

/* ---- create / start --------------------------------------------------- */

static int write_meta(struct rt *r, const char *id, const struct rt_container_spec *s,
		      const char *image_ref, const char *log_path)
{
	char p[4200], tsb[48];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rtu_timespec_str(&ts, tsb, sizeof(tsb));
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
		"id", id, "name", s->name ? s->name : "", "image", image_ref,
		"podUID", s->pod_uid ? s->pod_uid : "",
		"podNamespace", s->pod_namespace ? s->pod_namespace : "",
		"podName", s->pod_name ? s->pod_name : "",
		"logPath", log_path, "createdAt", tsb);
	char *txt = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (!txt)
		return -ENOMEM;
	cpath(r, id, "meta.json", p, sizeof(p));
	int rc = fu_write_atomic(p, txt, strlen(txt), 0644, FU_FSYNC);
	free(txt);
	return rc;
}

static pid_t read_pid(struct rt *r, const char *id, const char *file);

/* True while pid is a live gannet-shim: not a zombie (whoever reaps
 * orphans may take its time) and named so (guards against pid reuse). */
static bool shim_alive(pid_t pid)
{
	return fu_proc_alive(pid, "gannet-shim");
}

/* Removes everything rt_create made; tolerant of partial state. */
static void destroy_container(struct rt *r, const char *id)
{
	char p[4200], out[1024];
	pid_t shim = read_pid(r, id, "shim.pid");

	runc_cmd(r, 10000, out, sizeof(out), "delete", "--force", id, NULL);
	/* Let the shim record the exit and go before the directory is
	 * removed, or its last write could recreate files in it. */
	for (int i = 0; i < 150 && shim_alive(shim); i++)
		usleep(20000);
	cpath(r, id, "rootfs", p, sizeof(p));
	if (umount2(p, MNT_DETACH) && errno != EINVAL && errno != ENOENT)
		pr_warn("runtime: umount %s: %s\n", p, strerror(errno));
	cpath(r, id, NULL, p, sizeof(p));
	if (rtu_rm_rf(p))
		pr_warn("runtime: could not remove %s (mount left behind?)\n", p);
}

static void write_started(struct rt *r, const char *id, const struct timespec *ts);

static int create_container(struct rt *r, const struct rt_container_spec *spec, char *id_out,
			    size_t id_len, bool start, struct gerr *e)
{
	char id[72], dir[4200], p[4300], cg[4200], log_path[4200], rootfs[4300];
	struct rt_image_info img = { 0 };
	json_t *cfg = NULL;
	bool made = false;
	int rc;

	if (spec->id) {
		if (!rtu_valid_id(spec->id))
			return gerr_set(e, -EINVAL, "invalid container id \"%s\"", spec->id);
		snprintf(id, sizeof(id), "%s", spec->id);
	} else {
		rtu_random_hex(id, 24);
	}
	if (!spec->image)
		return gerr_set(e, -EINVAL, "no image");
	/* Validate everything before touching the file system, so bad input
	 * leaves nothing behind. */
	rc = rt_image_resolve(r->images, spec->image, &img, e);
	if (rc)
		return rc;
	if (spec->netns_path && access(spec->netns_path, F_OK)) {
		rc = gerr_set(e, -ENOENT, "pod network namespace %s: %s", spec->netns_path,
			      strerror(errno));
		goto out;
	}
	snprintf(cg, sizeof(cg), "%s/%s", spec->cgroup_parent ? spec->cgroup_parent :
		 r->cgroup_parent, id);
	struct rt_oci_params op = { .rootfs = "rootfs", .cgroups_path = cg, .image = &img.cfg,
				    .image_rootfs = img.rootfs };
	rc = rt_oci_config(spec, &op, &cfg, e);
	if (rc)
		goto out;

	cpath(r, id, NULL, dir, sizeof(dir));
	if (mkdir(dir, 0711)) {
		rc = errno == EEXIST ? gerr_set(e, -EEXIST, "container %s already exists", id)
				     : gerr_set(e, -errno, "%s: %s", dir, strerror(errno));
		goto out;
	}
	made = true;
	static const char *const subs[] = { "rootfs", "upper", "work" };
	for (size_t i = 0; i < 3; i++) {
		cpath(r, id, subs[i], p, sizeof(p));
		if (mkdir(p, 0755)) {
			rc = gerr_set(e, -errno, "%s: %s", p, strerror(errno));
			goto out;
		}
	}
	/* Copy-on-write root: the image stays shared and read-only, each
	 * container writes to its own upper dir; no copying at start. */
	cpath(r, id, "rootfs", rootfs, sizeof(rootfs));
	char opts[13000];
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work",
		 img.rootfs, dir, dir);
	if (mount("overlay", rootfs, "overlay", 0, opts)) {
		rc = gerr_set(e, -errno, "overlay mount for %s: %s", id, strerror(errno));
		goto out;
	}
	cpath(r, id, "config.json", p, sizeof(p));
	if (json_dump_file(cfg, p, JSON_INDENT(1))) {
		rc = gerr_set(e, -EIO, "writing %s failed", p);
		goto out;
	}
	if (spec->log_path)
		snprintf(log_path, sizeof(log_path), "%s", spec->log_path);
	else
		cpath(r, id, "container.log", log_path, sizeof(log_path));
	rc = write_meta(r, id, spec, img.ref, log_path);
	if (rc) {
		gerr_set(e, rc, "meta.json: %s", strerror(-rc));
		goto out;
	}

	struct shim_sync sync;
	struct timespec t_start;
	clock_gettime(CLOCK_REALTIME, &t_start);
	rc = start_shim(r, id, dir, log_path,
			(spec->stdin_open ? SHIM_STDIN : 0) | (start ? SHIM_RUN : 0) |
			(spec->tty ? SHIM_TTY : 0), &sync, e);
	if (rc)
		goto out;
	if (sync.rc != 0) {
		char msg[1024];
		cpath(r, id, "runc.log", p, sizeof(p));
		runc_log_error(p, msg, sizeof(msg));
		/* A missing executable is the common bad-input case: give it
		 * an errno the caller can map to a reason. */
		rc = strstr(msg, "not found") || strstr(msg, "no such file") ? -ENOENT :
		     strstr(msg, "permission denied") ? -EACCES : -EIO;
		const char *m = msg;
		if (!strncmp(m, "runc create failed: ", 20))
			m += 20;
		if (!strncmp(m, "runc run failed: ", 17))
			m += 17;
		gerr_set(e, rc, "runc %s failed: %s", start ? "run" : "create",
			 m[0] ? m : "unknown error (see runc.log)");
		goto out;
	}
	if (start)
		write_started(r, id, &t_start);
	snprintf(id_out, id_len, "%s", id);
	rc = 0;
out:
	if (rc && made)
		destroy_container(r, id);
	json_decref(cfg);
	rt_image_info_free(&img);
	return rc;
}

int rt_create(struct rt *r, const struct rt_container_spec *spec, char *id_out,
	      size_t id_len, struct gerr *e)
{
	return create_container(r, spec, id_out, id_len, false, e);
}

static void write_started(struct rt *r, const char *id, const struct timespec *ts)
{
	char p[4200], tsb[48];

	rtu_timespec_str(ts, tsb, sizeof(tsb));
	cpath(r, id, "started", p, sizeof(p));
	fu_write_atomic(p, tsb, strlen(tsb), 0644, FU_FSYNC);
}

int rt_start(struct rt *r, const char *id, struct gerr *e)
{
	char out[2048];
	struct timespec ts;
	int rc;

	if (!rtu_valid_id(id))
		return gerr_set(e, -EINVAL, "invalid container id");
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = runc_cmd(r, 30000, out, sizeof(out), "start", id, NULL);
	if (rc != 0)
		return gerr_set(e, rc < 0 ? rc : -EIO, "runc start %s: %s", id,
				rc < 0 ? strerror(-rc) : rtu_last_line(out));
	write_started(r, id, &ts);
	return 0;
}

int rt_run(struct rt *r, const struct rt_container_spec *spec, char *id_out, size_t id_len,
	   struct gerr *e)
{
	return create_container(r, spec, id_out, id_len, true, e);
}

/* ---- status ----------------------------------------------------------- */

static void read_ts(const char *path, struct timespec *ts)
{
	char *d = NULL;
	if (fu_read_file(path, &d, NULL) == 0) {
		rtu_last_line(d);
		rtu_parse_time(d, ts);
	}
	free(d);
}

static int read_exit(const char *path, struct rt_status *st)
{
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return -ENOENT;
	st->state = RT_EXITED;
	st->exit_code = (int)json_integer_value(json_object_get(j, "exitCode"));
	st->signal = (int)json_integer_value(json_object_get(j, "signal"));
	st->oom_killed = json_is_true(json_object_get(j, "oomKilled"));
	rtu_parse_time(json_string_value(json_object_get(j, "finishedAt")), &st->finished);
	json_decref(j);
	snprintf(st->reason, sizeof(st->reason), "%s", st->oom_killed ? "OOMKilled" :
		 st->exit_code == 0 ? "Completed" : "Error");
	return 0;
}

static pid_t read_pid(struct rt *r, const char *id, const char *file)
{
	char p[4200], *d = NULL;
	pid_t pid = 0;

	cpath(r, id, file, p, sizeof(p));
	if (fu_read_file(p, &d, NULL) == 0)
		pid = (pid_t)atoi(d);
	free(d);
	return pid;
}

/* Parent pid and state letter of pid from /proc/<pid>/stat, or -1. */
static pid_t proc_parent(pid_t pid, char *state)
{
	char p[64], buf[512], *rp;
	int ppid;

	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if (fu_read_small(p, buf, sizeof(buf)) <= 0)
		return -1;
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 1, " %c %d", state, &ppid) != 2)
		return -1;
	return (pid_t)ppid;
}

int rt_status(struct rt *r, const char *id, struct rt_status *st, struct gerr *e)
{
	char p[4200], out[8192];
	json_t *meta, *j;

	memset(st, 0, sizeof(*st));
	if (!rtu_valid_id(id))
		return gerr_set(e, -EINVAL, "invalid container id");
	snprintf(st->id, sizeof(st->id), "%s", id);
	cpath(r, id, "meta.json", p, sizeof(p));
	meta = json_load_file(p, 0, NULL);
	if (!meta)
		return gerr_set(e, -ENOENT, "container %s not found", id);
	snprintf(st->name, sizeof(st->name), "%s",
		 json_string_value(json_object_get(meta, "name")) ?: "");
	snprintf(st->log_path, sizeof(st->log_path), "%s",
		 json_string_value(json_object_get(meta, "logPath")) ?: "");
	snprintf(st->image, sizeof(st->image), "%s",
		 json_string_value(json_object_get(meta, "image")) ?: "");
	snprintf(st->pod_uid, sizeof(st->pod_uid), "%s",
		 json_string_value(json_object_get(meta, "podUID")) ?: "");
	snprintf(st->pod_namespace, sizeof(st->pod_namespace), "%s",
		 json_string_value(json_object_get(meta, "podNamespace")) ?: "");
	snprintf(st->pod_name, sizeof(st->pod_name), "%s",
		 json_string_value(json_object_get(meta, "podName")) ?: "");
	rtu_parse_time(json_string_value(json_object_get(meta, "createdAt")), &st->created);
	json_decref(meta);
	cpath(r, id, "started", p, sizeof(p));
	read_ts(p, &st->started);
	cpath(r, id, "exit.json", p, sizeof(p));
	if (read_exit(p, st) == 0)
		return 0;

	/* Fast path without running runc: a started container whose init is
	 * alive and still the child of its shim is running. The parent check
	 * guards against pid reuse. */
	if (st->started.tv_sec) {
		pid_t init = read_pid(r, id, "init.pid"), shim = read_pid(r, id, "shim.pid");
		char state = 0;
		if (init > 0 && shim > 0 && proc_parent(init, &state) == shim && state != 'Z') {
			st->state = RT_RUNNING;
			st->pid = init;
			snprintf(st->reason, sizeof(st->reason), "Running");
			return 0;
		}
	}

	/* p still names exit.json, polled below. */
	int rc = runc_cmd(r, 10000, out, sizeof(out), "state", id, NULL);
	j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
	if (!j) {
		st->state = RT_UNKNOWN;
		snprintf(st->reason, sizeof(st->reason), "Unknown");
		return 0;
	}
	const char *s = json_string_value(json_object_get(j, "status"));
	st->pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
	if (s && !strcmp(s, "created")) {
		st->state = RT_CREATED;
		snprintf(st->reason, sizeof(st->reason), "Created");
	} else if (s && (!strcmp(s, "running") || !strcmp(s, "paused"))) {
		st->state = RT_RUNNING;
		snprintf(st->reason, sizeof(st->reason), "Running");
	} else {
		/* Stopped: the shim writes exit.json right after reaping init;
		 * give it a moment, else the shim is gone (host reboot, kill). */
		json_decref(j);
		for (int i = 0; i < 20; i++) {
			if (read_exit(p, st) == 0)
				return 0;
			usleep(25000);
		}
		st->state = RT_EXITED;
		st->exit_code = -1;
		st->pid = 0;
		snprintf(st->reason, sizeof(st->reason), "Unknown");
		return 0;
	}
	json_decref(j);
	return 0;
}

int rt_wait(struct rt *r, const char *id, int timeout_ms, struct rt_status *st,
	    struct gerr *e)
{
	char p[4200];
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpath(r, id, "exit.json", p, sizeof(p));
	for (;;) {
		if (rtu_exists(p))
			return rt_status(r, id, st, e);
		clock_gettime(CLOCK_MONOTONIC, &t);
		long el = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (timeout_ms >= 0 && el >= timeout_ms) {
			int rc = rt_status(r, id, st, e);
			if (rc)
				return rc;
			if (st->state == RT_EXITED)
				return 0;
			return gerr_set(e, -ETIMEDOUT, "container %s still running", id);
		}
		usleep(20000);
	}
}

/* ---- kill / stop / remove / list ------------------------------------- */

int rt_kill(struct rt *r, const char *id, int sig, struct gerr *e)
{
	char out[2048], s[16], p[4200];

	if (!rtu_valid_id(id))
		return gerr_set(e, -EINVAL, "invalid container id");
	cpath(r, id, "exit.json", p, sizeof(p));
	if (rtu_exists(p))
		return 0;
	snprintf(s, sizeof(s), "%d", sig);
	int rc = runc_cmd(r, 10000, out, sizeof(out), "kill", id, s, NULL);
	if (rc != 0) {
		/* Exited between our check and the kill: not an error. */
		if (rtu_exists(p) || strstr(out, "not running") || strstr(out, "process already finished"))
			return 0;
		return gerr_set(e, rc < 0 ? rc : -EIO, "runc kill %s: %s", id,
				rc < 0 ? strerror(-rc) : rtu_last_line(out));
	}
	return 0;
}

int rt_stop(struct rt *r, const char *id, int grace_sec, struct gerr *e)
{
	struct rt_status st;
	int rc;

	rc = rt_status(r, id, &st, e);
	if (rc)
		return rc;
	if (st.state == RT_EXITED)
		return 0;
	if (st.state == RT_CREATED) {
		/* Never started: nothing to be graceful with. */
		rc = rt_kill(r, id, SIGKILL, e);
		return rc ? rc : rt_wait(r, id, 10000, &st, e);
	}
	rc = rt_kill(r, id, SIGTERM, e);
	if (rc)
		return rc;
	if (grace_sec > 0 && rt_wait(r, id, grace_sec * 1000, &st, NULL) == 0)
		return 0;
	pr_debug("runtime: %s: grace period over, SIGKILL\n", id);
	rc = rt_kill(r, id, SIGKILL, e);
	if (rc)
		return rc;
	return rt_wait(r, id, 10000, &st, e);
}

int rt_remove(struct rt *r, const char *id, struct gerr *e)
{
	char p[4200];

	if (!rtu_valid_id(id))
		return gerr_set(e, -EINVAL, "invalid container id");
	cpath(r, id, NULL, p, sizeof(p));
	if (!rtu_exists(p))
		return gerr_set(e, -ENOENT, "container %s not found", id);
	destroy_container(r, id);
	if (rtu_exists(p))
		return gerr_set(e, -EBUSY, "container %s: could not remove %s", id, p);
	return 0;
}

int rt_stats(struct rt *r, const char *id, struct rt_stats *out, struct gerr *e)
{
	char buf[16384];
	json_t *j, *d;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!rtu_valid_id(id))
		return gerr_set(e, -EINVAL, "invalid container id");
	rc = runc_cmd(r, 10000, buf, sizeof(buf), "events", "--stats", id, NULL);
	if (rc != 0)
		return gerr_set(e, rc < 0 ? rc : -ENOENT, "stats %s: %s", id,
				rc < 0 ? strerror(-rc) : rtu_last_line(buf));
	j = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	d = json_object_get(j, "data");
	if (!d) {
		json_decref(j);
		return gerr_set(e, -EIO, "stats %s: unexpected runc output", id);
	}
	out->cpu_usage_ns = (uint64_t)json_integer_value(json_object_get(
		json_object_get(json_object_get(d, "cpu"), "usage"), "total"));
	json_t *mu = json_object_get(json_object_get(d, "memory"), "usage");
	out->memory_usage_bytes = (uint64_t)json_integer_value(json_object_get(mu, "usage"));
	out->memory_limit_bytes = (uint64_t)json_integer_value(json_object_get(mu, "limit"));
	out->pids = (uint64_t)json_integer_value(json_object_get(
		json_object_get(d, "pids"), "current"));
	json_decref(j);
	return 0;
}

int rt_list(struct rt *r, char ***ids, struct gerr *e)
{
	DIR *d = opendir(r->ctr_dir);
	struct dirent *de;
	char **v = NULL;
	size_t n = 0;

	*ids = NULL;
	if (!d)
		return gerr_set(e, -errno, "%s: %s", r->ctr_dir, strerror(errno));
	v = calloc(1, sizeof(char *));
	while (v && (de = readdir(d))) {
		char p[4200];
		if (!rtu_valid_id(de->d_name))
			continue;
		cpath(r, de->d_name, "meta.json", p, sizeof(p));
		if (!rtu_exists(p))
			continue;
		char **nv = realloc(v, (n + 2) * sizeof(char *));
		if (!nv)
			break;
		v = nv;
		v[n++] = strdup(de->d_name);
		v[n] = NULL;
	}
	closedir(d);
	if (!v)
		return -ENOMEM;
	*ids = v;
	return 0;
}

/* ---- exec ------------------------------------------------------------- */

static int exec_argv(struct rt *r, const char *id, const char *const *argv, bool tty,
		     const char *pidfile, const char **out, size_t max)
{
	size_t n = 0;

	out[n++] = r->runc;
	out[n++] = "--root";
	out[n++] = r->runc_root;
	out[n++] = "exec";
	if (tty)
		out[n++] = "-t";
	if (pidfile) {
		out[n++] = "--pid-file";
		out[n++] = pidfile;
	}
	out[n++] = id;
	for (; argv && *argv && n < max - 1; argv++)
		out[n++] = *argv;
	out[n] = NULL;
	return argv && *argv ? -E2BIG : 0;
}

int rt_exec(struct rt *r, const char *id, const char *const *argv, int timeout_ms,
	    int *exit_code, char *out, size_t outlen, struct gerr *e)
{
	const char *av[128];
	int rc;

	*exit_code = -1;
	if (!rtu_valid_id(id))
		return gerr_set(e, -EINVAL, "invalid container id");
	if (!argv || !argv[0])
		return gerr_set(e, -EINVAL, "exec: empty command");
	/* The pid file lets a timed-out exec be killed inside the container:
	 * killing runc exec alone would leave the process running there. */
	char pidfile[4200], rnd[9];
	rtu_random_hex(rnd, 8);
	cpath(r, id, NULL, pidfile, sizeof(pidfile));
	if (!rtu_exists(pidfile))
		return gerr_set(e, -ENOENT, "container %s not found", id);
	snprintf(pidfile + strlen(pidfile), sizeof(pidfile) - strlen(pidfile), "/exec-%s.pid", rnd);
	if (exec_argv(r, id, argv, false, pidfile, av, 128))
		return gerr_set(e, -E2BIG, "exec: too many arguments");
	rc = rtu_run(av, timeout_ms, out, outlen);
	if (rc == -ETIMEDOUT) {
		char *d = NULL;
		if (fu_read_file(pidfile, &d, NULL) == 0 && atoi(d) > 0)
			kill(atoi(d), SIGKILL);
		free(d);
	}
	unlink(pidfile);
	if (rc == -ETIMEDOUT)
		return gerr_set(e, rc, "exec in %s timed out after %d ms", id, timeout_ms);
	if (rc < 0)
		return gerr_set(e, rc, "exec in %s: %s", id, strerror(-rc));
	*exit_code = rc;
	return 0;
}

int rt_exec_spawn(struct rt *r, const char *id, const char *const *argv, bool tty,
		  pid_t *pid, int *io_fd, int *out_fd, struct gerr *e)
{
	const char *av[128];
	int in[2] = { -1, -1 }, outp[2] = { -1, -1 }, master = -1, slave = -1;

	*pid = -1;
	*io_fd = *out_fd = -1;
	if (!rtu_valid_id(id) || !argv || !argv[0])
		return gerr_set(e, -EINVAL, "exec: bad container id or empty command");
	if (exec_argv(r, id, argv, tty, NULL, av, 128))
		return gerr_set(e, -E2BIG, "exec: too many arguments");
	if (tty) {
		if (openpty(&master, &slave, NULL, NULL, NULL))
			return gerr_set(e, -errno, "openpty: %s", strerror(errno));
		fcntl(master, F_SETFD, FD_CLOEXEC);
	} else if (pipe2(in, O_CLOEXEC) || pipe2(outp, O_CLOEXEC)) {
		return gerr_set(e, -errno, "pipe: %s", strerror(errno));
	}
	pid_t c = fork();
	if (c < 0) {
		int rc = -errno;
		close(master); close(slave); close(in[0]); close(in[1]); close(outp[0]); close(outp[1]);
		return gerr_set(e, rc, "fork: %s", strerror(-rc));
	}
	if (c == 0) {
		if (tty) {
			/* runc exec -t wants a terminal on its own stdio. */
			setsid();
			ioctl(slave, TIOCSCTTY, 0);
			dup2(slave, 0);
			dup2(slave, 1);
			dup2(slave, 2);
		} else {
			dup2(in[0], 0);
			dup2(outp[1], 1);
			dup2(outp[1], 2);
		}
		execvp(av[0], (char *const *)av);
		_exit(127);
	}
	*pid = c;
	if (tty) {
		close(slave);
		*io_fd = master;
	} else {
		close(in[0]);
		close(outp[1]);
		*io_fd = in[1];
		*out_fd = outp[0];
	}
	return 0;
}
