/* SPDX-License-Identifier: Apache-2.0 */
/* The controllers (Kubernetes kube-controller-manager's role): node IPAM,
 * ReplicaSet, Deployment, DaemonSet, node lifecycle, namespace deletion and
 * ownerReference garbage collection. They talk to the API like any client
 * (common/apiclient.h) with their own credential, so they run the same
 * inside gannet-apiserver (threads) or as gannet-controller-manager. */
#ifndef GANNET_CONTROLLERS_H
#define GANNET_CONTROLLERS_H

#include "common/kubeconfig.h"

/* Defaults: a dead node's pods are evicted 40 + 10 s after its last lease
 * renewal, leaving their replacements about 10 s to start within the 60 s
 * the project promises. */
#define CTRL_DEFAULT_NODE_GRACE_MS   40000
#define CTRL_DEFAULT_EVICTION_MS     10000

struct ctrl_options {
	const char *controllers;     /* comma-separated names, NULL/"" or "*" = all */
	long node_grace_ms;          /* lease age before NotReady; 0 = default */
	long eviction_timeout_ms;    /* NotReady (unreachable) to eviction; 0 = default */
	const char *cluster_cidr;    /* NULL = 10.244.0.0/16 */
	int node_cidr_mask;          /* 0 = 24 */
};

/* Runs the selected controllers until *stop becomes non-zero. Returns 0, or
 * -errno when they could not start (bad option, unknown controller). */
int controllers_run(const struct kubeconfig *kc, const struct ctrl_options *o,
		    volatile int *stop);

/* Comma-separated list of the known controller names. */
const char *controllers_names(void);

#endif
