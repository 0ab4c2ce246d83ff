/* SPDX-License-Identifier: Apache-2.0 */
/* Logging and error-message helpers (see log.h). */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int log_level = LOG_LVL_INFO;
static char log_prefix[64] = "gannet";

void log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	va_list ap;

	if ((int)lvl > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s %-5s ", stamp, ts.tv_nsec / 1000000,
		log_prefix, names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

int gerr_set(struct gerr *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (code > 0)
		code = -code;
	if (!e)
		return code;
	if (e->code)
		return e->code;
	e->code = code ? code : -EINVAL;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return e->code;
}

int gerr_wrap(struct gerr *e, const char *fmt, ...)
{
	char ctx[256], old[sizeof(e->msg)];
	va_list ap;

	if (!e)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	snprintf(old, sizeof(old), "%s", e->msg);
	/* Truncation of an over-long chain is acceptable; using the return
	 * value keeps -Wformat-truncation quiet at -O2. */
	if (snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old) >= (int)sizeof(e->msg))
		e->msg[sizeof(e->msg) - 1] = '\0';
	return e->code ? e->code : -EINVAL;
}
