/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line durations ("500ms", "40s", "1.5s", "2m", "1h", a bare number
 * of seconds), shared by every daemon's and tool's flag parsing so they all
 * accept the same spellings. */
#ifndef GANNET_COMMON_DURATION_H
#define GANNET_COMMON_DURATION_H

/* Milliseconds, or -1 when s is not a non-negative duration. */
long duration_parse_ms(const char *s);

#endif
