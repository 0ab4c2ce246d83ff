/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by the map modules (policy.c, services.c) that
 * open a node's pinned maps lazily. Not part of the public API. */
#ifndef GANNET_DP_INTERNAL_H
#define GANNET_DP_INTERNAL_H

#include <stddef.h>

#include "common/log.h"

/* Opens the maps names[i] pinned in dir into *fds[i] (every fd is set to
 * -1 first, so the caller's cleanup can run dp__close_fds on failure).
 * what names the feature in the message of a missing pin (a node loaded
 * by an older build without it). Returns 0 or -errno. */
int dp__open_pins(const char *dir, const char *what, const char *const *names,
		  int *const *fds, size_t n, struct gerr *err);
/* Closes every *fds[i] that is open (>= 0). */
void dp__close_fds(int *const *fds, size_t n);

#define DP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
