/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging to stderr (pr_warn/pr_info/pr_debug) and the project's
 * error convention: functions return 0 or a negative errno and fill a
 * caller-provided message buffer (struct gerr) that the caller can print. */
#ifndef GANNET_COMMON_LOG_H
#define GANNET_COMMON_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

extern int log_level;              /* default LOG_LVL_INFO; -v raises it */
void log_set_prefix(const char *prefix);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)   log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define pr_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Error message carrier: every fallible API takes a struct gerr * (may be
 * NULL) and returns 0 or -errno. gerr_set() keeps the first message set. */
struct gerr {
	int code;          /* negative errno, or 0 */
	char msg[512];
};

int gerr_set(struct gerr *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Prepends context: "ctx: previous message". Returns e->code. */
int gerr_wrap(struct gerr *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
