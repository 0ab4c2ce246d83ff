/* SPDX-License-Identifier: Apache-2.0 */
/* Client configuration in the kubeconfig format (the file the API server
 * writes for its admin, ~/.kube/config, $KUBECONFIG): picks the context,
 * resolves its cluster and user, and loads every credential into memory
 * (embedded *-data fields are base64-decoded, file references are read and
 * resolved relative to the kubeconfig's own directory, as kubectl does), so
 * that the API client only ever deals with in-memory PEM blobs. */
#ifndef GANNET_COMMON_KUBECONFIG_H
#define GANNET_COMMON_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/log.h"

/* Default locations tried in order when neither --kubeconfig nor
 * $KUBECONFIG names a file. */
#define KUBECONFIG_HOME_PATH   ".kube/config"   /* relative to $HOME */
#define KUBECONFIG_SERVER_PATH "/var/lib/gannet/admin.kubeconfig"

struct kc_blob {
	unsigned char *data;     /* NUL-terminated for convenience */
	size_t len;              /* 0 = absent */
};

struct kubeconfig {
	char *source;            /* file(s) it came from, for messages */
	char *context;           /* selected context name */
	char *cluster_name;
	char *user_name;
	char *server;            /* https://host:port, no trailing '/' */
	char *namespace;         /* context namespace or NULL */
	char *tls_server_name;
	bool insecure;           /* insecure-skip-tls-verify */
	struct kc_blob ca;       /* certificate-authority(-data), PEM */
	struct kc_blob cert;     /* client-certificate(-data), PEM */
	struct kc_blob key;      /* client-key(-data), PEM */
	char *token;             /* token or the contents of tokenFile */
	char *username, *password; /* basic auth (rarely used) */
};

/* Which file to read: explicit (the --kubeconfig flag) wins, then
 * $KUBECONFIG (a ':'-separated list; all existing files are merged with
 * first-wins semantics like kubectl), then ~/.kube/config, then the API
 * server's admin kubeconfig. Returns a malloc'd ':'-separated list or NULL
 * with *err set when nothing exists. */
char *kubeconfig_locate(const char *explicit_path, struct gerr *err);

/* Load the file(s) named by a ':'-separated list and select context_name
 * (NULL = current-context). */
int kubeconfig_load(const char *paths, const char *context_name,
		    struct kubeconfig *kc, struct gerr *err);

/* The merged document itself (file references made absolute), for
 * commands that show or edit the configuration. */
int kubeconfig_load_json(const char *paths, json_t **out, struct gerr *err);

/* Pure part, usable without files: doc is the kubeconfig as JSON (already
 * merged); relative file references resolve against base_dir (may be
 * NULL = cwd). Used by kubeconfig_load and the unit tests. */
int kubeconfig_from_json(const json_t *doc, const char *base_dir,
			 const char *context_name, struct kubeconfig *kc,
			 struct gerr *err);

/* Merge src into dst with kubectl's rules: the first file to set a map key
 * or a named cluster/user/context wins. dst is modified in place. */
void kubeconfig_merge(json_t *dst, const json_t *src);

void kubeconfig_free(struct kubeconfig *kc);

/* Decode standard base64 (whitespace tolerated) into a malloc'd,
 * NUL-terminated buffer. Returns 0 or -EINVAL. */
int kc_base64_decode(const char *in, unsigned char **out, size_t *out_len);

#endif
