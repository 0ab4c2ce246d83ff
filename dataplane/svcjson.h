/* SPDX-License-Identifier: Apache-2.0 */
/* One programmed service (a dp_service_foreach() callback's arguments) as
 * JSON, shared by the agent's GET /dataplane/services and `gannet-dp -j
 * svc` so that both describe the maps the same way. */
#ifndef GANNET_DATAPLANE_SVCJSON_H
#define GANNET_DATAPLANE_SVCJSON_H

#include <jansson.h>

#include "dataplane/dataplane.h"

/* {"id", "vip", "port", "scope", "sessionAffinity", ["affinityTimeoutSeconds"],
 *  "externalTrafficPolicy", "packets", "bytes",
 *  "backends": [{"ip", "port", ["nodeIP"], "local", "maglevSlots"}]}
 * "protocol" is the caller's: the agent's API view spells it as Kubernetes
 * does (TCP), gannet-dp as its command line does (tcp). NULL when out of
 * memory. */
json_t *dp_service_json(const struct dp_service *svc, const struct dp_backend *be,
			const uint32_t *slots, size_t n, const struct dp_service_stats *st);

#endif
