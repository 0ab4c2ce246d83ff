// SPDX-License-Identifier: Apache-2.0
/* Container log reading: the shim writes CRI-format records
 * ("<RFC3339Nano> stdout|stderr F|P <text>"), this turns them back into
 * plain output with kubectl logs' options (timestamps, tail, since, follow,
 * one stream). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/runtime/internal.h"
#include "agent/runtime/runtime.h"

int rt_log_parse_line(char *line, char **ts, char **stream, bool *partial, char **text)
{
	char *s1 = strchr(line, ' '), *s2, *s3;

	if (!s1)
		return -EINVAL;
	s2 = strchr(s1 + 1, ' ');
	if (!s2)
		return -EINVAL;
	s3 = strchr(s2 + 1, ' ');
	if (!s3 && s2[1] && !s2[2])
		s3 = s2 + 2;   /* empty text */
	if (!s3)
		return -EINVAL;
	*s1 = *s2 = '\0';
	if (*s3 == ' ')
		*s3++ = '\0';
	if (strcmp(s1 + 1, "stdout") && strcmp(s1 + 1, "stderr"))
		return -EINVAL;
	if (s2[1] != 'F' && s2[1] != 'P')
		return -EINVAL;
	*ts = line;
	*stream = s1 + 1;
	*partial = s2[1] == 'P';
	*text = s3;
	return 0;
}

/* Emits one record; returns -errno on write failure. */
static int emit(const struct rt_log_opts *o, char *line, int fd)
{
	char *ts, *stream, *text;
	bool partial;
	struct timespec t;

	line[strcspn(line, "\n")] = '\0';
	if (rt_log_parse_line(line, &ts, &stream, &partial, &text))
		return 0;
	if (o->stream == 1 && strcmp(stream, "stdout"))
		return 0;
	if (o->stream == 2 && strcmp(stream, "stderr"))
		return 0;
	if (o->since && rtu_parse_time(ts, &t) == 0 && t.tv_sec < o->since)
		return 0;
	int rc = 0;
	if (o->timestamps) {
		rc = fu_write_all(fd, ts, strlen(ts));
		if (!rc)
			rc = fu_write_all(fd, " ", 1);
	}
	if (!rc)
		rc = fu_write_all(fd, text, strlen(text));
	if (!rc && !partial)
		rc = fu_write_all(fd, "\n", 1);
	return rc;
}

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = 0;
	int c;

	if (!f)
		return 0;
	while ((c = getc_unlocked(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* True when path now names another file than the open stream (the shim
 * rotated the log). */
static bool rotated(FILE *f, const char *path)
{
	struct stat a, b;
	return fstat(fileno(f), &a) == 0 && (stat(path, &b) != 0 || a.st_ino != b.st_ino);
}

int rt_logs(struct rt *r, const char *id, const struct rt_log_opts *o, int fd, struct gerr *e)
{
	struct rt_status st;
	struct rt_log_opts def = { .tail = -1 };
	char *line = NULL, old[4200];
	const char *files[2];
	size_t cap = 0, nfiles = 0;
	long skip = 0;
	int rc;

	if (!o)
		o = &def;
	rc = rt_status(r, id, &st, e);
	if (rc)
		return rc;
	snprintf(old, sizeof(old), "%s.1", st.log_path);
	if (rtu_exists(old))
		files[nfiles++] = old;
	files[nfiles++] = st.log_path;
	if (o->tail >= 0) {
		long total = 0;
		for (size_t i = 0; i < nfiles; i++)
			total += count_lines(files[i]);
		skip = total > o->tail ? total - o->tail : 0;
	}
	for (size_t i = 0; i < nfiles && !rc; i++) {
		bool last = i == nfiles - 1;
		FILE *f = fopen(files[i], "re");
		if (!f) {
			if (last)
				rc = gerr_set(e, -errno, "log %s: %s", files[i], strerror(errno));
			continue;
		}
		for (;;) {
			long pos = ftell(f);
			ssize_t n = getline(&line, &cap, f);
			if (n > 0 && line[n - 1] == '\n') {
				if (skip > 0) {
					skip--;
					continue;
				}
				rc = emit(o, line, fd);
				if (rc) {
					gerr_set(e, rc, "writing logs: %s", strerror(-rc));
					break;
				}
				continue;
			}
			/* EOF, or a record still being written: retry from its start. */
			fseek(f, pos, SEEK_SET);
			clearerr(f);
			if (!last || !o->follow)
				break;
			if (rotated(f, st.log_path)) {
				/* Everything in the old file is complete: switch. */
				FILE *nf = fopen(st.log_path, "re");
				if (nf) {
					fclose(f);
					f = nf;
				}
				continue;
			}
			if (rt_status(r, id, &st, NULL) || st.state == RT_EXITED) {
				/* Drain what the shim flushed before writing exit.json. */
				while (getline(&line, &cap, f) > 0)
					if (emit(o, line, fd))
						break;
				break;
			}
			usleep(100000);
		}
		fclose(f);
	}
	free(line);
	return rc;
}
