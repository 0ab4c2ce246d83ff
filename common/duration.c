/* SPDX-License-Identifier: Apache-2.0 */
/* Command-line duration parsing (see duration.h). */
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"

long duration_parse_ms(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return (long)(v * 1000);
	if (!strcmp(end, "ms"))
		return (long)v;
	if (!strcmp(end, "m"))
		return (long)(v * 60000);
	if (!strcmp(end, "h"))
		return (long)(v * 3600000);
	return -1;
}
