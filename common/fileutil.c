/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file helpers (see fileutil.h). */
#include "common/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fu_read_file_max(const char *path, size_t max, char **data, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return -errno;
	do {
		if (n + 4096 + 1 > cap) {
			size_t nc = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, nc);

			if (!nb) {
				free(buf);
				fclose(f);
				return -ENOMEM;
			}
			buf = nb;
			cap = nc;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (max && n > max) {
			free(buf);
			fclose(f);
			return -EFBIG;
		}
	} while (r > 0);
	if (ferror(f)) {
		int e = errno ? -errno : -EIO;

		free(buf);
		fclose(f);
		return e;
	}
	fclose(f);
	buf[n] = '\0';
	*data = buf;
	if (len)
		*len = n;
	return 0;
}

int fu_read_file(const char *path, char **data, size_t *len)
{
	return fu_read_file_max(path, 0, data, len);
}

ssize_t fu_read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if (!size)
		return -EINVAL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, size - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

bool fu_proc_alive(pid_t pid, const char *comm)
{
	char path[64], buf[512], *rp, *lp;
	size_t n = strlen(comm);

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (fu_read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	/* "pid (comm) S ...": comm may hold ')' itself, the last one ends it */
	lp = strchr(buf, '(');
	rp = strrchr(buf, ')');
	return lp && rp && (size_t)(rp - lp - 1) == n && !strncmp(lp + 1, comm, n) &&
	       rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

int fu_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			/* A non-blocking fd (a socket, a pty): wait until it
			 * drains rather than fail a frame half-written. */
			if (errno == EAGAIN) {
				poll(&(struct pollfd){ .fd = fd, .events = POLLOUT }, 1, 1000);
				continue;
			}
			return -errno;
		}
		if (w == 0)
			return -EPIPE;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd, ret = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int fu_write_atomic_via(const char *tmp_dir, const char *path, const void *data,
			size_t len, mode_t mode, unsigned flags)
{
	char tmp[PATH_MAX];
	const char *base = strrchr(path, '/');
	int fd, n, ret;

	/* a unique name (mkostemp): two threads or processes writing the
	 * same path never share a temporary file */
	if (tmp_dir)
		n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", tmp_dir, base ? base + 1 : path);
	else
		n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = fchmod(fd, mode) ? -errno : 0;
	if (!ret)
		ret = fu_write_all(fd, data, len);
	if (!ret && (flags & FU_FSYNC) && fsync(fd))
		ret = -errno;
	if (close(fd) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret) {
		unlink(tmp);
		return ret;
	}
	return (flags & FU_FSYNC_DIR) ? fsync_dir_of(path) : 0;
}

int fu_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    unsigned flags)
{
	return fu_write_atomic_via(NULL, path, data, len, mode, flags);
}

int fu_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0)
		return -EINVAL;
	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, mode) && errno != EEXIST)
				return -errno;
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}
