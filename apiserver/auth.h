/* SPDX-License-Identifier: Apache-2.0 */
/* API security: PKI bootstrap, authentication (client certificates, bearer
 * tokens), RBAC authorization and encryption of Secrets at rest.
 * The HTTP layer calls these; this module never touches HTTP itself. */
#ifndef GANNET_APISERVER_AUTH_H
#define GANNET_APISERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/log.h"

/* ---- PKI bootstrap ---------------------------------------------------- */
/* On first start creates, under data_dir/pki/: ca.crt/ca.key, server.crt/
 * server.key (SANs: localhost, 127.0.0.1, and every extra_san), admin.crt/
 * admin.key (CN=admin, O=system:masters), and writes data_dir/admin.kubeconfig
 * pointing at server_url. Existing files are kept (idempotent). */
int pki_bootstrap(const char *data_dir, const char *server_url,
		  const char *const *extra_sans, size_t n_sans, struct gerr *err);
/* Issue a client cert signed by the CA (for node agents etc.). */
int pki_issue_client(const char *data_dir, const char *cn, const char *org,
		     const char *out_crt, const char *out_key, struct gerr *err);
/* Write a kubeconfig with either a client cert/key pair or a bearer token. */
int pki_write_kubeconfig(const char *path, const char *server_url,
			 const char *ca_crt, const char *client_crt,
			 const char *client_key, const char *token,
			 const char *user_name, struct gerr *err);
/* Credentials for a node agent: a client cert CN=system:node:<node>,
 * O=system:nodes under data_dir/pki/nodes/ and a kubeconfig at out_path
 * embedding it. Re-running for the same node reissues the certificate. */
int pki_node_kubeconfig(const char *data_dir, const char *server_url,
			const char *node, const char *out_path, struct gerr *err);

/* ---- Authentication --------------------------------------------------- */
#define AUTH_MAX_GROUPS 16
struct auth_user {
	char name[256];
	char groups[AUTH_MAX_GROUPS][128];
	int n_groups;
	char uid[64];
};

struct authn;
/* token_file: static tokens, CSV lines "token,user,uid,group1|group2"
 * (node tokens live here). ServiceAccount tokens are HMAC-signed
 * (key in data_dir/pki/sa.key) and verified without a store lookup. */
int authn_open(const char *data_dir, const char *token_file, struct authn **out,
	       struct gerr *err);
void authn_close(struct authn *a);
/* peer_cert_der: the verified client certificate (DER), or NULL.
 * bearer: the token from "Authorization: Bearer", or NULL.
 * Returns 0 and fills *user, or -EACCES (unauthenticated: HTTP 401). */
int authn_authenticate(struct authn *a, const unsigned char *peer_cert_der,
		       size_t der_len, const char *bearer, struct auth_user *user);
/* Mint a ServiceAccount token for namespace/name. Caller frees. */
char *authn_sa_token(struct authn *a, const char *ns, const char *name);
/* Same with an explicit lifetime in seconds (authn_sa_token uses one year). */
char *authn_sa_token_ttl(struct authn *a, const char *ns, const char *name,
			 int64_t ttl_sec);
/* Append a new random static token for user (uid, groups "g1|g2") to
 * token_file, creating it with mode 0600. *token_out (malloc'd) receives
 * the token. A running authn notices the change on its next token lookup. */
int authn_token_file_add(const char *token_file, const char *user,
			 const char *uid, const char *groups, char **token_out,
			 struct gerr *err);

/* ---- Authorization (RBAC) -------------------------------------------- */
struct authz_attrs {
	const char *verb;        /* get list watch create update patch delete deletecollection */
	const char *api_group;   /* "" for core */
	const char *resource;    /* plural, e.g. "pods" */
	const char *subresource; /* "status", "scale" or NULL */
	const char *ns;          /* NULL/"" for cluster-scoped */
	const char *name;        /* NULL for collections */
	const char *path;        /* for non-resource URLs (e.g. "/metrics"), else NULL */
};
struct rbac;
struct rbac *rbac_new(void);
void rbac_free(struct rbac *r);
/* Feed the current state of Role/ClusterRole/RoleBinding/ClusterRoleBinding
 * objects (as the API server sees them, from its watch cache). kind is the
 * object's kind; deleted=true removes it. Thread-safe. */
void rbac_observe(struct rbac *r, const char *kind, const json_t *obj, bool deleted);
/* true = allowed. system:masters is always allowed. reason (optional)
 * receives a human-readable explanation for 403 messages. Node agents
 * (system:node:<n> in system:nodes) may only write their own Node and
 * Lease: for create, pass the new object's name in attrs->name. */
bool rbac_authorize(struct rbac *r, const struct auth_user *u,
		    const struct authz_attrs *a, char *reason, size_t reason_len);
/* Privilege-escalation prevention, as Kubernetes does for writes of RBAC
 * objects; call it on create/update of kind (Role, ClusterRole, RoleBinding,
 * ClusterRoleBinding) after rbac_authorize allowed the write itself:
 *  - a Role/ClusterRole may only contain rules the user already holds (in
 *    the Role's namespace; cluster-wide for a ClusterRole), unless the user
 *    has the "escalate" verb on it; an aggregationRule always needs
 *    "escalate" (or system:masters);
 *  - a RoleBinding/ClusterRoleBinding may only reference a role whose rules
 *    the user holds where the binding applies, unless the user has the
 *    "bind" verb on that role.
 * Returns true when the write may proceed; else reason says which rule the
 * user lacks (HTTP 403). Other kinds always pass. */
bool rbac_check_escalation(struct rbac *r, const struct auth_user *u, const char *kind,
			   const json_t *obj, char *reason, size_t reason_len);
/* Default ClusterRoles and ClusterRoleBindings (cluster-admin, admin/edit/
 * view with their aggregation roles, system:node, system:discovery, the
 * scheduler and controller-manager) as a new JSON array of complete objects
 * (apiVersion/kind/metadata/...) to create on first start. Caller decrefs. */
json_t *rbac_bootstrap_objects(void);

/* ---- Secrets at rest -------------------------------------------------- */
/* AES-256-GCM with a 32-byte key from key_file (created on first use, mode
 * 0600). Ciphertext format: "gannet:aesgcm:v1:" + base64(nonce|ct|tag). */
struct secretbox;
int secretbox_open(const char *key_file, struct secretbox **out, struct gerr *err);
void secretbox_close(struct secretbox *sb);
/* Both return a malloc'd NUL-terminated buffer and its length. */
int secretbox_seal(struct secretbox *sb, const char *plain, size_t len,
		   char **out, size_t *out_len, struct gerr *err);
int secretbox_open_msg(struct secretbox *sb, const char *sealed, size_t len,
		       char **out, size_t *out_len, struct gerr *err);
bool secretbox_is_sealed(const char *buf, size_t len);

#endif
