/* SPDX-License-Identifier: Apache-2.0 */
/* Resource-kind mapping: kind <-> group/version/plural/namespaced and the
 * names users type (plural, singular, short names, Kind, "plural.group").
 * Filled from the server's discovery documents (/api/v1, /apis and
 * /apis/<group>/<version>) on top of a built-in table of the kinds Gannet
 * serves, so that it still works against a server without discovery.
 * Also builds REST paths for a resource. */
#ifndef GANNET_COMMON_APIRESOURCES_H
#define GANNET_COMMON_APIRESOURCES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/log.h"

struct apiclient;

#define APIRES_MAX_SHORT 4

struct api_resource {
	char kind[64];
	char group[96];            /* "" for core */
	char version[32];
	char plural[64];
	char singular[64];
	char short_names[APIRES_MAX_SHORT][16];
	int n_short;
	bool namespaced;
};

struct api_resources {
	struct api_resource *items;
	size_t n, cap;
};

/* The built-in table (Gannet's kinds). */
int apires_builtin(struct api_resources *rs);
/* Built-in table, then every resource the server lists in discovery
 * (server entries replace built-in ones with the same group and plural).
 * A server without discovery leaves the built-in table: returns 0 and
 * logs at debug level; only out-of-memory is an error. */
int apires_discover(struct apiclient *c, struct api_resources *rs,
		    struct gerr *err);
/* Add or replace (same group + plural). */
int apires_add(struct api_resources *rs, const struct api_resource *r);
void apires_free(struct api_resources *rs);

/* What the user typed: "pods", "pod", "po", "Pod", "deployments.apps",
 * "deployment.apps". Case-insensitive. Core and apps groups are preferred
 * when a short name is ambiguous. NULL if unknown. */
const struct api_resource *apires_find(const struct api_resources *rs,
				       const char *name);
/* From a manifest: apiVersion ("v1", "apps/v1") and kind. */
const struct api_resource *apires_find_gvk(const struct api_resources *rs,
					   const char *api_version,
					   const char *kind);

/* "v1" or "apps/v1" */
void apires_api_version(const struct api_resource *r, char *buf, size_t len);
/* REST path: /api/v1[/namespaces/<ns>]/<plural>[/<name>] or
 * /apis/<g>/<v>/...; ns is ignored for cluster-scoped kinds and NULL ns
 * for a namespaced kind means all namespaces. Returns 0 or -ENAMETOOLONG. */
int apires_path(const struct api_resource *r, const char *ns, const char *name,
		char *buf, size_t len);
/* Display name kubectl uses in messages: "pod", "deployment.apps". */
void apires_display(const struct api_resource *r, char *buf, size_t len);

#endif
