// SPDX-License-Identifier: Apache-2.0
/* File system and process helpers for the runtime library. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/runtime/internal.h"

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;   /* best effort: keep going, the caller checks the top dir */
}

int rtu_rm_rf(const char *path)
{
	if (!rtu_exists(path))
		return 0;
	nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	return rtu_exists(path) ? -EBUSY : 0;
}

bool rtu_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int rtu_run(const char *const *argv, int timeout_ms, char *out, size_t outlen)
{
	int pfd[2], status, err = 0;
	size_t n = 0;
	struct timespec t0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		int left = -1;
		if (timeout_ms > 0) {
			left = timeout_ms - (int)ms_since(&t0);
			if (left <= 0) {
				err = -ETIMEDOUT;
				break;
			}
		}
		int rc = poll(&p, 1, left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0) {
			err = -ETIMEDOUT;
			break;
		}
		char buf[4096];
		ssize_t r = read(pfd[0], buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (out && outlen > 1 && n < outlen - 1) {
			size_t c = (size_t)r < outlen - 1 - n ? (size_t)r : outlen - 1 - n;
			memcpy(out + n, buf, c);
			n += c;
		}
	}
	if (out && outlen)
		out[n] = '\0';
	close(pfd[0]);
	if (err == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (err)
		return err;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

const char *rtu_last_line(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\r'))
		s[--n] = '\0';
	char *nl = strrchr(s, '\n');
	return nl ? nl + 1 : s;
}

int rtu_random_hex(char *buf, size_t n)
{
	unsigned char raw[64];
	size_t nb = (n + 1) / 2;

	if (nb > sizeof(raw))
		return -EINVAL;
	if (getrandom(raw, nb, 0) != (ssize_t)nb)
		return -EIO;
	for (size_t i = 0; i < n; i++)
		buf[i] = "0123456789abcdef"[(raw[i / 2] >> ((i & 1) * 4)) & 0xf];
	buf[n] = '\0';
	return 0;
}

bool rtu_valid_id(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > 64 || !strcmp(id, ".") || !strcmp(id, ".."))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

void rtu_timespec_str(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char b[32];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%09ldZ", b, ts->tv_nsec);
}

int rtu_parse_time(const char *s, struct timespec *ts)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	long ns = 0;

	if (!p)
		return -EINVAL;
	if (*p == '.') {
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				ns = ns * 10 + (*p - '0');
		for (; digits < 9; digits++)
			ns *= 10;
	}
	ts->tv_sec = timegm(&tm);
	ts->tv_nsec = ns;
	return 0;
}
