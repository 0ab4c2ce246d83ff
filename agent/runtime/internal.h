/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the runtime library's modules (not part of the API):
 * file system utilities (beyond common/fileutil.h) and running a child process with captured output. */
#ifndef GANNET_AGENT_RUNTIME_INTERNAL_H
#define GANNET_AGENT_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/fileutil.h"   /* fu_read_file, fu_write_atomic, fu_mkdir_p */
#include "common/log.h"

/* rm -rf that does not cross mount points (a forgotten bind or overlay
 * mount below path must never lead to deleting the host's files). */
int rtu_rm_rf(const char *path);
bool rtu_exists(const char *path);
/* Runs argv (execvp) with stdin /dev/null, capturing stdout+stderr into out
 * (NUL-terminated, truncated). Returns the exit status (>= 0, 128+sig if
 * signalled) or -errno when it could not run; -ETIMEDOUT after timeout_ms
 * (child killed). */
int rtu_run(const char *const *argv, int timeout_ms, char *out, size_t outlen);
/* Trims trailing whitespace/newlines in place and returns the last
 * non-empty line (runc prints its error last). */
const char *rtu_last_line(char *s);
/* Random lowercase hex string of n chars (n+1 bytes in buf). */
int rtu_random_hex(char *buf, size_t n);
/* Valid runc id / image path component: [A-Za-z0-9_.+-]{1,64}, not "."/"..". */
bool rtu_valid_id(const char *id);
void rtu_timespec_str(const struct timespec *ts, char *buf, size_t len);
int rtu_parse_time(const char *s, struct timespec *ts);

/* main() of the gannet-shim binary (container.c). */
int rt_shim_exec_main(int argc, char **argv);

#endif
