/* SPDX-License-Identifier: Apache-2.0 */
/* JSON Merge Patch (RFC 7386) and JSON Patch (RFC 6902) on jansson values.
 * Strategic merge patch (kubectl apply/edit/scale) is treated as a merge
 * patch, except that "$patch"/"$retainKeys"-style directives are dropped. */
#ifndef GANNET_APISERVER_PATCH_H
#define GANNET_APISERVER_PATCH_H

#include <jansson.h>

#include "common/log.h"

/* Returns a new value: target with patch applied (target is not modified). */
json_t *patch_merge(const json_t *target, const json_t *patch);
/* Applies an RFC 6902 operation array to a copy of target. On error returns
 * -EINVAL (malformed op / bad path) or -ECANCELED ("test" failed). */
int patch_json(const json_t *target, const json_t *ops, json_t **out,
	       struct gerr *err);
/* Strategic merge patch approximation (see above). */
json_t *patch_strategic(const json_t *target, const json_t *patch);

#endif
