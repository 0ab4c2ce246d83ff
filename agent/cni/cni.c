/* SPDX-License-Identifier: Apache-2.0 */
/* gannet-cni: environment/config validation, versions and error JSON (see
 * cni.h). Follows the CNI spec (SPEC.md 1.1.0): required variables per
 * command, error codes 1/4/6/7, GC's cni.dev/valid-attachments. */
#include "agent/cni/cni.h"
#include "agent/ipam.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const supported[] = { CNI_SUPPORTED_VERSIONS };

int cni_set_err(struct cni_err *e, int code, const char *details, const char *fmt, ...)
{
	va_list ap;

	if (e->code)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	snprintf(e->details, sizeof(e->details), "%s", details ? details : "");
	return -1;
}

static int parse_ver(const char *v, int out[3])
{
	char *end;

	for (int i = 0; i < 3; i++) {
		long n;

		if (!v || *v < '0' || *v > '9')
			return -1;
		n = strtol(v, &end, 10);
		if (n < 0 || n > 1000)
			return -1;
		out[i] = (int)n;
		if (i < 2) {
			if (*end != '.')
				return -1;
			v = end + 1;
		} else if (*end) {
			return -1;
		}
	}
	return 0;
}

int cni_version_cmp(const char *a, const char *b)
{
	int va[3], vb[3];
	bool oka = !parse_ver(a, va), okb = !parse_ver(b, vb);

	if (!oka || !okb)
		return (int)oka - (int)okb;
	for (int i = 0; i < 3; i++)
		if (va[i] != vb[i])
			return va[i] < vb[i] ? -1 : 1;
	return 0;
}

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		if (v && !strcmp(v, supported[i]))
			return true;
	return false;
}

/* ---- environment ----------------------------------------------------------- */

static bool valid_container_id(const char *s)
{
	/* libcni's rule: starts alphanumeric, then [a-zA-Z0-9_.-] */
	if (!s || !*s || strlen(s) >= IPAM_ID_MAX)
		return false;
	for (const char *p = s; *p; p++) {
		bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9');

		if (!alnum && (p == s || (*p != '_' && *p != '.' && *p != '-')))
			return false;
	}
	return true;
}

static bool valid_ifname(const char *s)
{
	if (!s || !*s || strlen(s) >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == ':' || *s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

int cni_env_parse(struct cni_env *env, const char *(*get)(const char *, void *),
		  void *arg, struct cni_err *e)
{
	static const struct { const char *name; enum cni_cmd cmd; } cmds[] = {
		{ "ADD", CNI_CMD_ADD }, { "DEL", CNI_CMD_DEL }, { "CHECK", CNI_CMD_CHECK },
		{ "VERSION", CNI_CMD_VERSION }, { "GC", CNI_CMD_GC },
		{ "STATUS", CNI_CMD_STATUS },
	};
	bool need_id, need_netns, need_path;
	size_t i;

	memset(env, 0, sizeof(*env));
	env->command = get("CNI_COMMAND", arg);
	if (!env->command || !*env->command)
		return cni_set_err(e, CNI_ERR_INVALID_ENV, NULL, "CNI_COMMAND is not set");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(env->command, cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return cni_set_err(e, CNI_ERR_INVALID_ENV, env->command,
				   "unknown CNI_COMMAND");
	env->cmd = cmds[i].cmd;
	env->container_id = get("CNI_CONTAINERID", arg);
	env->netns = get("CNI_NETNS", arg);
	env->ifname = get("CNI_IFNAME", arg);
	env->args = get("CNI_ARGS", arg);
	env->path = get("CNI_PATH", arg);
	if (env->netns && !*env->netns)
		env->netns = NULL;

	need_id = env->cmd == CNI_CMD_ADD || env->cmd == CNI_CMD_DEL || env->cmd == CNI_CMD_CHECK;
	need_netns = env->cmd == CNI_CMD_ADD || env->cmd == CNI_CMD_CHECK;
	need_path = need_id || env->cmd == CNI_CMD_GC;
	if (need_id) {
		if (!env->container_id || !*env->container_id)
			return cni_set_err(e, CNI_ERR_INVALID_ENV, NULL, "CNI_CONTAINERID is not set");
		if (!valid_container_id(env->container_id))
			return cni_set_err(e, CNI_ERR_INVALID_ENV, env->container_id,
					   "CNI_CONTAINERID is invalid");
		if (!env->ifname || !*env->ifname)
			return cni_set_err(e, CNI_ERR_INVALID_ENV, NULL, "CNI_IFNAME is not set");
		if (!valid_ifname(env->ifname))
			return cni_set_err(e, CNI_ERR_INVALID_ENV, env->ifname,
					   "CNI_IFNAME is not a valid interface name");
	}
	if (need_netns && !env->netns)
		return cni_set_err(e, CNI_ERR_INVALID_ENV, NULL, "CNI_NETNS is not set");
	if (need_path && (!env->path || !*env->path))
		return cni_set_err(e, CNI_ERR_INVALID_ENV, NULL, "CNI_PATH is not set");
	return 0;
}

/* ---- network configuration ------------------------------------------------- */

int cni_netconf_parse(const char *text, enum cni_cmd cmd, struct cni_netconf *nc,
		      struct cni_err *e)
{
	json_error_t jerr;
	json_t *v;
	const char *s;

	memset(nc, 0, sizeof(*nc));
	nc->root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!nc->root)
		return cni_set_err(e, CNI_ERR_DECODE, jerr.text,
				   "network config is not valid JSON (line %d)", jerr.line);
	if (!json_is_object(nc->root))
		return cni_set_err(e, CNI_ERR_DECODE, NULL, "network config is not a JSON object");

	v = json_object_get(nc->root, "cniVersion");
	if (!json_is_string(v))
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "cniVersion: required string");
	s = json_string_value(v);
	if (!cni_version_supported(s))
		return cni_set_err(e, CNI_ERR_INCOMPATIBLE_VERSION, s,
				   "unsupported cniVersion %s (supported: 0.3.0 0.3.1 0.4.0 1.0.0 1.1.0)",
				   s);
	snprintf(nc->cni_version, sizeof(nc->cni_version), "%s", s);
	if (cmd == CNI_CMD_CHECK && cni_version_cmp(s, "0.4.0") < 0)
		return cni_set_err(e, CNI_ERR_INCOMPATIBLE_VERSION, s,
				   "CHECK needs cniVersion 0.4.0 or later");
	if ((cmd == CNI_CMD_GC || cmd == CNI_CMD_STATUS) &&
	    cni_version_cmp(s, "1.1.0") < 0)
		return cni_set_err(e, CNI_ERR_INCOMPATIBLE_VERSION, s,
				   "GC and STATUS need cniVersion 1.1.0 or later");

	v = json_object_get(nc->root, "name");
	if (!json_is_string(v) || !*json_string_value(v))
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL, "name: required string");
	snprintf(nc->name, sizeof(nc->name), "%s", json_string_value(v));

	v = json_object_get(nc->root, "type");
	if (v && !json_is_string(v))
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL, "type: must be a string");

	v = json_object_get(nc->root, "agentSocket");
	if (!json_is_string(v) || json_string_value(v)[0] != '/')
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "agentSocket: required absolute path");
	if (strlen(json_string_value(v)) >= sizeof(nc->agent_socket))
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL, "agentSocket: path too long");
	snprintf(nc->agent_socket, sizeof(nc->agent_socket), "%s", json_string_value(v));

	v = json_object_get(nc->root, "mtu");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 576 ||
		    json_integer_value(v) > 65535)
			return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
					   "mtu: must be an integer 576..65535");
		nc->mtu = (unsigned)json_integer_value(v);
	}

	v = json_object_get(nc->root, "prevResult");
	if (v && !json_is_object(v))
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL, "prevResult: must be an object");
	nc->prev_result = v;

	v = json_object_get(nc->root, "cni.dev/valid-attachments");
	if (v) {
		size_t i;
		json_t *a;

		if (!json_is_array(v))
			return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
					   "cni.dev/valid-attachments: must be a list");
		json_array_foreach(v, i, a) {
			if (!json_is_string(json_object_get(a, "containerID")) ||
			    !json_is_string(json_object_get(a, "ifname")))
				return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
						   "cni.dev/valid-attachments[%zu]: needs containerID and ifname",
						   i);
		}
	}
	nc->valid_attachments = v;
	if (cmd == CNI_CMD_GC && !v)
		return cni_set_err(e, CNI_ERR_INVALID_CONFIG, NULL,
				   "GC: cni.dev/valid-attachments is required");
	return 0;
}

void cni_netconf_free(struct cni_netconf *nc)
{
	json_decref(nc->root);
	nc->root = NULL;
}

/* ---- output ---------------------------------------------------------------- */

char *cni_err_json(const struct cni_err *e, const char *version)
{
	json_t *o = json_pack("{s:s, s:i, s:s}", "cniVersion",
			      version && *version ? version : CNI_LATEST_VERSION,
			      "code", e->code, "msg", e->msg);
	char *out;

	if (e->details[0])
		json_object_set_new(o, "details", json_string(e->details));
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

char *cni_version_json(const char *version)
{
	json_t *arr = json_array(), *o;
	char *out;

	for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		json_array_append_new(arr, json_string(supported[i]));
	o = json_pack("{s:s, s:o}", "cniVersion",
		      version && cni_version_supported(version) ? version : CNI_LATEST_VERSION,
		      "supportedVersions", arr);
	out = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return out;
}

json_t *cni_request(const struct cni_env *env, const struct cni_netconf *nc)
{
	json_t *r = json_pack("{s:s, s:s}", "command", env->command,
			      "cniVersion", nc->cni_version);

	if (env->container_id)
		json_object_set_new(r, "containerID", json_string(env->container_id));
	if (env->ifname)
		json_object_set_new(r, "ifName", json_string(env->ifname));
	if (env->netns)
		json_object_set_new(r, "netns", json_string(env->netns));
	if (nc->mtu)
		json_object_set_new(r, "mtu", json_integer(nc->mtu));
	/* K8S_POD_NAMESPACE/K8S_POD_NAME: the agent polices the pod by them */
	if (env->args && *env->args)
		json_object_set_new(r, "args", json_string(env->args));
	if (nc->prev_result)
		json_object_set(r, "prevResult", nc->prev_result);
	if (nc->valid_attachments)
		json_object_set(r, "validAttachments", nc->valid_attachments);
	return r;
}
