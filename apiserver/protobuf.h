/* SPDX-License-Identifier: Apache-2.0 */
/* Decoder for Kubernetes' protobuf request encoding
 * (application/vnd.kubernetes.protobuf: "k8s\0" + runtime.Unknown{typeMeta,
 * raw}) into the equivalent JSON object, for the kinds kubectl's typed
 * clients send that way (kubectl create namespace/configmap/secret/
 * serviceaccount/deployment/service/role/rolebinding/...). Schema-driven:
 * each supported message is a table of field numbers -> JSON names/types.
 * A non-empty field the tables do not know fails the decode (415 upstream)
 * rather than being dropped silently. */
#ifndef GANNET_APISERVER_PROTOBUF_H
#define GANNET_APISERVER_PROTOBUF_H

#include <stddef.h>

#include <jansson.h>

#include "common/log.h"

int pb_k8s_decode(const unsigned char *buf, size_t len, json_t **out, struct gerr *err);

#endif
