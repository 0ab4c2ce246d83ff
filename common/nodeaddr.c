/* SPDX-License-Identifier: Apache-2.0 */
/* Node addresses (see nodeaddr.h). */
#include "common/nodeaddr.h"

#include <string.h>

const char *node_address(const json_t *node, const char *type)
{
	const json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses");
	const json_t *a;
	size_t i;

	json_array_foreach(addrs, i, a) {
		const char *t = json_string_value(json_object_get(a, "type"));
		const char *addr = json_string_value(json_object_get(a, "address"));

		if (t && addr && !strcmp(t, type))
			return addr;
	}
	return NULL;
}

const char *node_internal_ip(const json_t *node)
{
	return node_address(node, "InternalIP");
}
