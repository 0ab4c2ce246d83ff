/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-cni's pure parts: CNI environment and network configuration
 * validation (jansson), version negotiation and the spec's error JSON.
 * No I/O here, so every bad-input case is unit-testable. */
#ifndef GANNET_AGENT_CNI_H
#define GANNET_AGENT_CNI_H

#include <jansson.h>
#include <stdbool.h>

#include "agent/proto.h"

#define CNI_SUPPORTED_VERSIONS "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"
#define CNI_LATEST_VERSION "1.1.0"

enum cni_cmd { CNI_CMD_ADD, CNI_CMD_DEL, CNI_CMD_CHECK, CNI_CMD_VERSION,
	       CNI_CMD_GC, CNI_CMD_STATUS };

struct cni_err {
	int code;                       /* 0 = no error */
	char msg[256];
	char details[512];
};

struct cni_env {
	enum cni_cmd cmd;
	const char *command;            /* as given */
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args;
	const char *path;
};

struct cni_netconf {
	char cni_version[16];
	char name[128];
	char agent_socket[108];
	unsigned mtu;                   /* 0 = agent default */
	json_t *root;                   /* owned */
	json_t *prev_result;            /* borrowed from root, may be NULL */
	json_t *valid_attachments;      /* borrowed, GC only, may be NULL */
};

int cni_set_err(struct cni_err *e, int code, const char *details, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Compares "a.b.c" versions: <0, 0, >0; unparsable sorts lowest. */
int cni_version_cmp(const char *a, const char *b);
bool cni_version_supported(const char *v);

/* Validates the environment for the command. get() is getenv in the
 * plugin and a table in tests. Returns 0 or sets e (code 4). */
int cni_env_parse(struct cni_env *env, const char *(*get)(const char *name, void *arg),
		  void *arg, struct cni_err *e);

/* Parses and validates the network configuration for cmd (code 6 for bad
 * JSON, 1 for an unsupported cniVersion, 7 for invalid fields). */
int cni_netconf_parse(const char *text, enum cni_cmd cmd, struct cni_netconf *nc,
		      struct cni_err *e);
void cni_netconf_free(struct cni_netconf *nc);

/* {"cniVersion","code","msg","details"}; caller frees. */
char *cni_err_json(const struct cni_err *e, const char *version);
/* VERSION result for the requested version (config may be empty). */
char *cni_version_json(const char *version);

/* Builds the agent request for the command (see docs/cni.md). */
json_t *cni_request(const struct cni_env *env, const struct cni_netconf *nc);

#endif
