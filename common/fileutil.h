/* SPDX-License-Identifier: Apache-2.0 */
/* Whole-file helpers every component needs: read a file into memory, write
 * one atomically (temp file + rename, optionally durable) and mkdir -p.
 * They return 0 or -errno and leave messages to the caller, which knows
 * what the file is for. */
#ifndef GANNET_COMMON_FILEUTIL_H
#define GANNET_COMMON_FILEUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads the whole file; *data is malloc'd and NUL-terminated (so text can
 * be used as a string), *len (may be NULL) excludes the NUL. */
int fu_read_file(const char *path, char **data, size_t *len);
/* Same, failing with -EFBIG past max bytes (files named by users: a
 * kubeconfig pointing at /dev/zero must not eat the memory). */
int fu_read_file_max(const char *path, size_t max, char **data, size_t *len);

/* One read() of at most size - 1 bytes into buf, NUL-terminated (buf is ""
 * on failure): for /proc files and small state files such as pid files.
 * Returns the length or -errno. */
ssize_t fu_read_small(const char *path, char *buf, size_t size);

/* From /proc/<pid>/stat: pid is running or sleeping (not a zombie or dead:
 * whoever reaps orphans may take its time) and its command name is comm
 * (a recycled pid runs something else). */
bool fu_proc_alive(pid_t pid, const char *comm);

/* Writes all len bytes to fd (retrying short writes and EINTR; on a
 * non-blocking fd, waiting for POLLOUT on EAGAIN). */
int fu_write_all(int fd, const void *data, size_t len);

/* fu_write_atomic flags */
#define FU_FSYNC     0x1   /* fsync the data before the rename: after a crash
			    * path holds the old or the new content, never a
			    * truncated one */
#define FU_FSYNC_DIR 0x2   /* also fsync the directory after the rename, so
			    * the rename itself survives a crash */

/* Writes data to a fresh temporary file in path's directory and renames it
 * over path: readers see the old or the new file, never half of it. The
 * mode is exact (umask does not apply). */
int fu_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		    unsigned flags);
/* Same, with the temporary file in tmp_dir (same file system as path): for
 * a directory that is watched (dnsmasq's hostsdir reads any file that
 * appears there, a temporary one included). */
int fu_write_atomic_via(const char *tmp_dir, const char *path, const void *data,
			size_t len, mode_t mode, unsigned flags);

/* mkdir -p: creates path and its missing parents with mode; an existing
 * directory is fine. */
int fu_mkdir_p(const char *path, mode_t mode);

#endif
