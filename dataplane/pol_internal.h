/* SPDX-License-Identifier: Apache-2.0 */
/* Internal glue between dataplane.c (node lifecycle, endpoints) and
 * policy.c (NetworkPolicy maps). Not part of the public API. */
#ifndef GANNET_DP_POL_INTERNAL_H
#define GANNET_DP_POL_INTERNAL_H

#include <stdint.h>

#include "dataplane/dataplane.h"

struct dp_pol;

struct dp_pol **dp__pol_slot(struct dp_node *dp);
void dp_pol_free(struct dp_pol *pol);
/* GNT_EP_F_POL_* bits for an endpoint from the policy map (enforced
 * directions), so that an endpoint upsert never loses them. */
uint32_t dp_pol_ep_flags(struct dp_node *dp, uint32_t ip);

#endif
