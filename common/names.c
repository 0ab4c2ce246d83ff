/* SPDX-License-Identifier: Apache-2.0 */
/* RFC 1123 name checks (see names.h). */
#include "common/names.h"

#include <string.h>

static bool label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Labels joined by single dots, n <= 253, each label at most label_max. */
static bool subdomain(const char *s, size_t n, size_t label_max)
{
	size_t lab = 0;   /* length of the current label so far */

	if (!s || n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			/* no empty label, none ending in '-' */
			if (!lab || s[i - 1] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (!label_char(c) || (c == '-' && !lab) || ++lab > label_max)
			return false;
	}
	return lab && s[n - 1] != '-';
}

bool name_dns1123_subdomain_n(const char *s, size_t n)
{
	return subdomain(s, n, 63);
}

bool name_dns1123_subdomain(const char *s)
{
	return s && name_dns1123_subdomain_n(s, strlen(s));
}

bool name_dns1123_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	/* one label: a subdomain without a dot */
	return n && !memchr(s, '.', n) && name_dns1123_subdomain_n(s, n);
}

bool name_k8s_subdomain_n(const char *s, size_t n)
{
	/* a label can only be as long as the whole name */
	return subdomain(s, n, 253);
}

bool name_k8s_subdomain(const char *s)
{
	return s && name_k8s_subdomain_n(s, strlen(s));
}
