/* SPDX-License-Identifier: Apache-2.0 */
/* Internal glue between dataplane.c (node lifecycle) and services.c
 * (service maps, socket LB attachments). Not part of the public API. */
#ifndef GANNET_DP_LB_INTERNAL_H
#define GANNET_DP_LB_INTERNAL_H

#include "dataplane/dataplane.h"

#define DP_PIN_SOCK_CONNECT4     "prog_sock_connect4"
#define DP_PIN_SOCK_SENDMSG4     "prog_sock_sendmsg4"
#define DP_PIN_SOCK_RECVMSG4     "prog_sock_recvmsg4"
#define DP_PIN_SOCK_GETPEERNAME4 "prog_sock_getpeername4"

struct dp_lb;

struct dp_lb **dp__lb_slot(struct dp_node *dp);
const char *dp__dir(struct dp_node *dp);
void dp_lb_free(struct dp_lb *lb);
/* After a reload: point pinned socket links at the freshly pinned programs. */
void dp_lb_sock_relink(const char *dir);

#endif
