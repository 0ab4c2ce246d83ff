/* SPDX-License-Identifier: Apache-2.0 */
/* Kubernetes protobuf -> JSON (see protobuf.h). Wire format: varint keys
 * (field << 3 | wire type), wire types 0 (varint) and 2 (length-delimited)
 * are all the Kubernetes types use for the fields below. Go's generated
 * marshalers write non-pointer fields even when empty, so zero values are
 * dropped (as omitempty does in JSON) except where a pointer makes zero
 * meaningful (e.g. replicas: 0). */
#include "apiserver/protobuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

enum pb_type {
	PB_STR, PB_BYTES, PB_INT, PB_BOOL, PB_MSG, PB_MAP_SS, PB_MAP_SB, PB_MAP_SQ,
	PB_TIME, PB_IOS, PB_QTY,
};

#define PB_REP   1
#define PB_KEEPZ 2   /* pointer field: keep a zero value */

struct pb_msg;
struct pb_field {
	int num;
	const char *name;
	enum pb_type type;
	int flags;
	const struct pb_msg *msg;
};
struct pb_msg {
	const char *name;
	const struct pb_field *f;
};

#define F(n, nm, t) { n, nm, t, 0, NULL }
#define FR(n, nm, t) { n, nm, t, PB_REP, NULL }
#define FM(n, nm, m) { n, nm, PB_MSG, 0, &m }
#define FMR(n, nm, m) { n, nm, PB_MSG, PB_REP, &m }
#define END { 0, NULL, PB_STR, 0, NULL }

/* ---- schemas (k8s.io/api generated.proto field numbers) ------------- */

static const struct pb_field owner_ref_f[] = {
	F(1, "kind", PB_STR), F(3, "name", PB_STR), F(4, "uid", PB_STR),
	F(5, "apiVersion", PB_STR), F(6, "controller", PB_BOOL),
	F(7, "blockOwnerDeletion", PB_BOOL), END,
};
static const struct pb_msg owner_ref = { "OwnerReference", owner_ref_f };

static const struct pb_field object_meta_f[] = {
	F(1, "name", PB_STR), F(2, "generateName", PB_STR), F(3, "namespace", PB_STR),
	F(4, "selfLink", PB_STR), F(5, "uid", PB_STR), F(6, "resourceVersion", PB_STR),
	F(7, "generation", PB_INT), F(8, "creationTimestamp", PB_TIME),
	F(9, "deletionTimestamp", PB_TIME), F(10, "deletionGracePeriodSeconds", PB_INT),
	F(11, "labels", PB_MAP_SS), F(12, "annotations", PB_MAP_SS),
	FMR(13, "ownerReferences", owner_ref), FR(14, "finalizers", PB_STR), END,
};
static const struct pb_msg object_meta = { "ObjectMeta", object_meta_f };

static const struct pb_field selector_req_f[] = {
	F(1, "key", PB_STR), F(2, "operator", PB_STR), FR(3, "values", PB_STR), END,
};
static const struct pb_msg selector_req = { "LabelSelectorRequirement", selector_req_f };
static const struct pb_field label_selector_f[] = {
	F(1, "matchLabels", PB_MAP_SS), FMR(2, "matchExpressions", selector_req), END,
};
static const struct pb_msg label_selector = { "LabelSelector", label_selector_f };

static const struct pb_field ns_spec_f[] = { FR(1, "finalizers", PB_STR), END };
static const struct pb_msg ns_spec = { "NamespaceSpec", ns_spec_f };
static const struct pb_field ns_status_f[] = { F(1, "phase", PB_STR), END };
static const struct pb_msg ns_status = { "NamespaceStatus", ns_status_f };
static const struct pb_field namespace_f[] = {
	FM(1, "metadata", object_meta), FM(2, "spec", ns_spec), FM(3, "status", ns_status), END,
};

static const struct pb_field configmap_f[] = {
	FM(1, "metadata", object_meta), F(2, "data", PB_MAP_SS), F(3, "binaryData", PB_MAP_SB),
	F(4, "immutable", PB_BOOL), END,
};
static const struct pb_field secret_f[] = {
	FM(1, "metadata", object_meta), F(2, "data", PB_MAP_SB), F(3, "type", PB_STR),
	F(4, "stringData", PB_MAP_SS), F(5, "immutable", PB_BOOL), END,
};

static const struct pb_field obj_ref_f[] = {
	F(1, "kind", PB_STR), F(2, "namespace", PB_STR), F(3, "name", PB_STR), F(4, "uid", PB_STR),
	F(5, "apiVersion", PB_STR), F(6, "resourceVersion", PB_STR), F(7, "fieldPath", PB_STR), END,
};
static const struct pb_msg obj_ref = { "ObjectReference", obj_ref_f };
static const struct pb_field local_ref_f[] = { F(1, "name", PB_STR), END };
static const struct pb_msg local_ref = { "LocalObjectReference", local_ref_f };
static const struct pb_field serviceaccount_f[] = {
	FM(1, "metadata", object_meta), FMR(2, "secrets", obj_ref), FMR(3, "imagePullSecrets", local_ref),
	F(4, "automountServiceAccountToken", PB_BOOL), END,
};

static const struct pb_field service_port_f[] = {
	F(1, "name", PB_STR), F(2, "protocol", PB_STR), F(3, "port", PB_INT),
	F(4, "targetPort", PB_IOS), F(5, "nodePort", PB_INT), F(6, "appProtocol", PB_STR), END,
};
static const struct pb_msg service_port = { "ServicePort", service_port_f };
static const struct pb_field service_spec_f[] = {
	FMR(1, "ports", service_port), F(2, "selector", PB_MAP_SS), F(3, "clusterIP", PB_STR),
	F(4, "type", PB_STR), FR(5, "externalIPs", PB_STR), F(7, "sessionAffinity", PB_STR),
	F(8, "loadBalancerIP", PB_STR), FR(9, "loadBalancerSourceRanges", PB_STR),
	F(10, "externalName", PB_STR), F(11, "externalTrafficPolicy", PB_STR),
	F(12, "healthCheckNodePort", PB_INT), F(13, "publishNotReadyAddresses", PB_BOOL), END,
};
static const struct pb_msg service_spec = { "ServiceSpec", service_spec_f };
static const struct pb_field lb_status_f[] = { END };
static const struct pb_msg lb_status = { "LoadBalancerStatus", lb_status_f };
static const struct pb_field service_status_f[] = { FM(1, "loadBalancer", lb_status), END };
static const struct pb_msg service_status = { "ServiceStatus", service_status_f };
static const struct pb_field service_f[] = {
	FM(1, "metadata", object_meta), FM(2, "spec", service_spec), FM(3, "status", service_status), END,
};

static const struct pb_field container_port_f[] = {
	F(1, "name", PB_STR), F(2, "hostPort", PB_INT), F(3, "containerPort", PB_INT),
	F(4, "protocol", PB_STR), F(5, "hostIP", PB_STR), END,
};
static const struct pb_msg container_port = { "ContainerPort", container_port_f };
static const struct pb_field env_var_f[] = { F(1, "name", PB_STR), F(2, "value", PB_STR), END };
static const struct pb_msg env_var = { "EnvVar", env_var_f };
static const struct pb_field resources_f[] = {
	F(1, "limits", PB_MAP_SQ), F(2, "requests", PB_MAP_SQ), END,
};
static const struct pb_msg resources = { "ResourceRequirements", resources_f };
static const struct pb_field volume_mount_f[] = {
	F(1, "name", PB_STR), F(2, "readOnly", PB_BOOL), F(3, "mountPath", PB_STR),
	F(4, "subPath", PB_STR), END,
};
static const struct pb_msg volume_mount = { "VolumeMount", volume_mount_f };
static const struct pb_field container_f[] = {
	F(1, "name", PB_STR), F(2, "image", PB_STR), FR(3, "command", PB_STR), FR(4, "args", PB_STR),
	F(5, "workingDir", PB_STR), FMR(6, "ports", container_port), FMR(7, "env", env_var),
	FM(8, "resources", resources), FMR(9, "volumeMounts", volume_mount),
	F(13, "terminationMessagePath", PB_STR), F(14, "imagePullPolicy", PB_STR),
	F(16, "stdin", PB_BOOL), F(17, "stdinOnce", PB_BOOL), F(18, "tty", PB_BOOL),
	F(20, "terminationMessagePolicy", PB_STR), END,
};
static const struct pb_msg container = { "Container", container_f };
static const struct pb_field pod_spec_f[] = {
	FMR(2, "containers", container), F(3, "restartPolicy", PB_STR),
	F(4, "terminationGracePeriodSeconds", PB_INT), F(5, "activeDeadlineSeconds", PB_INT),
	F(6, "dnsPolicy", PB_STR), F(7, "nodeSelector", PB_MAP_SS),
	F(8, "serviceAccountName", PB_STR), F(9, "serviceAccount", PB_STR), F(10, "nodeName", PB_STR),
	F(11, "hostNetwork", PB_BOOL), F(12, "hostPID", PB_BOOL), F(13, "hostIPC", PB_BOOL),
	FMR(15, "imagePullSecrets", local_ref), F(16, "hostname", PB_STR), F(17, "subdomain", PB_STR),
	F(19, "schedulerName", PB_STR), FMR(20, "initContainers", container),
	F(21, "automountServiceAccountToken", PB_BOOL), END,
};
static const struct pb_msg pod_spec = { "PodSpec", pod_spec_f };
static const struct pb_field pod_template_f[] = {
	FM(1, "metadata", object_meta), FM(2, "spec", pod_spec), END,
};
static const struct pb_msg pod_template = { "PodTemplateSpec", pod_template_f };
static const struct pb_field pod_status_f[] = { F(1, "phase", PB_STR), END };
static const struct pb_msg pod_status = { "PodStatus", pod_status_f };
static const struct pb_field pod_f[] = {
	FM(1, "metadata", object_meta), FM(2, "spec", pod_spec), FM(3, "status", pod_status), END,
};

static const struct pb_field rolling_f[] = {
	F(1, "maxUnavailable", PB_IOS), F(2, "maxSurge", PB_IOS), END,
};
static const struct pb_msg rolling = { "RollingUpdateDeployment", rolling_f };
static const struct pb_field strategy_f[] = { F(1, "type", PB_STR), FM(2, "rollingUpdate", rolling), END };
static const struct pb_msg strategy = { "DeploymentStrategy", strategy_f };
static const struct pb_field deploy_spec_f[] = {
	{ 1, "replicas", PB_INT, PB_KEEPZ, NULL }, FM(2, "selector", label_selector),
	FM(3, "template", pod_template), FM(4, "strategy", strategy), F(5, "minReadySeconds", PB_INT),
	{ 6, "revisionHistoryLimit", PB_INT, PB_KEEPZ, NULL }, F(7, "paused", PB_BOOL),
	{ 9, "progressDeadlineSeconds", PB_INT, PB_KEEPZ, NULL }, END,
};
static const struct pb_msg deploy_spec = { "DeploymentSpec", deploy_spec_f };
static const struct pb_field deploy_status_f[] = {
	F(1, "observedGeneration", PB_INT), F(2, "replicas", PB_INT), F(3, "updatedReplicas", PB_INT),
	F(4, "availableReplicas", PB_INT), F(5, "unavailableReplicas", PB_INT),
	F(7, "readyReplicas", PB_INT), END,
};
static const struct pb_msg deploy_status = { "DeploymentStatus", deploy_status_f };
static const struct pb_field deployment_f[] = {
	FM(1, "metadata", object_meta), FM(2, "spec", deploy_spec), FM(3, "status", deploy_status), END,
};

static const struct pb_field policy_rule_f[] = {
	FR(1, "verbs", PB_STR), FR(2, "apiGroups", PB_STR), FR(3, "resources", PB_STR),
	FR(4, "resourceNames", PB_STR), FR(5, "nonResourceURLs", PB_STR), END,
};
static const struct pb_msg policy_rule = { "PolicyRule", policy_rule_f };
static const struct pb_field agg_rule_f[] = { FMR(1, "clusterRoleSelectors", label_selector), END };
static const struct pb_msg agg_rule = { "AggregationRule", agg_rule_f };
static const struct pb_field role_f[] = {
	FM(1, "metadata", object_meta), FMR(2, "rules", policy_rule), END,
};
static const struct pb_field cluster_role_f[] = {
	FM(1, "metadata", object_meta), FMR(2, "rules", policy_rule), FM(3, "aggregationRule", agg_rule), END,
};
static const struct pb_field subject_f[] = {
	F(1, "kind", PB_STR), F(2, "apiGroup", PB_STR), F(3, "name", PB_STR), F(4, "namespace", PB_STR), END,
};
static const struct pb_msg subject = { "Subject", subject_f };
static const struct pb_field role_ref_f[] = {
	F(1, "apiGroup", PB_STR), F(2, "kind", PB_STR), F(3, "name", PB_STR), END,
};
static const struct pb_msg role_ref = { "RoleRef", role_ref_f };
static const struct pb_field binding_f[] = {
	FM(1, "metadata", object_meta), FMR(2, "subjects", subject), FM(3, "roleRef", role_ref), END,
};

static const struct pb_field bound_ref_f[] = {
	F(1, "kind", PB_STR), F(2, "apiVersion", PB_STR), F(3, "name", PB_STR), F(4, "uid", PB_STR), END,
};
static const struct pb_msg bound_ref = { "BoundObjectReference", bound_ref_f };
static const struct pb_field token_spec_f[] = {
	FR(1, "audiences", PB_STR), FM(3, "boundObjectRef", bound_ref),
	{ 4, "expirationSeconds", PB_INT, PB_KEEPZ, NULL }, END,
};
static const struct pb_msg token_spec = { "TokenRequestSpec", token_spec_f };
static const struct pb_field token_status_f[] = {
	F(1, "token", PB_STR), F(2, "expirationTimestamp", PB_TIME), END,
};
static const struct pb_msg token_status = { "TokenRequestStatus", token_status_f };
static const struct pb_field token_request_f[] = {
	FM(1, "metadata", object_meta), FM(2, "spec", token_spec), FM(3, "status", token_status), END,
};

static const struct pb_field binding_obj_f[] = {
	FM(1, "metadata", object_meta), FM(2, "target", obj_ref), END,
};

static const struct {
	const char *kind;
	struct pb_msg msg;
} pb_kinds[] = {
	{ "TokenRequest", { "TokenRequest", token_request_f } },
	{ "Binding", { "Binding", binding_obj_f } },
	{ "Namespace", { "Namespace", namespace_f } },
	{ "ConfigMap", { "ConfigMap", configmap_f } },
	{ "Secret", { "Secret", secret_f } },
	{ "ServiceAccount", { "ServiceAccount", serviceaccount_f } },
	{ "Service", { "Service", service_f } },
	{ "Pod", { "Pod", pod_f } },
	{ "Deployment", { "Deployment", deployment_f } },
	{ "Role", { "Role", role_f } },
	{ "ClusterRole", { "ClusterRole", cluster_role_f } },
	{ "RoleBinding", { "RoleBinding", binding_f } },
	{ "ClusterRoleBinding", { "ClusterRoleBinding", binding_f } },
};

/* ---- wire format ------------------------------------------------------- */

struct pb_buf {
	const unsigned char *p, *end;
};

static int pb_varint(struct pb_buf *b, uint64_t *v)
{
	uint64_t r = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		if (b->p >= b->end)
			return -EINVAL;
		unsigned char c = *b->p++;

		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return 0;
		}
	}
	return -EINVAL;
}

static int pb_bytes(struct pb_buf *b, struct pb_buf *out)
{
	uint64_t n;

	if (pb_varint(b, &n) || n > (uint64_t)(b->end - b->p))
		return -EINVAL;
	out->p = b->p;
	out->end = b->p + n;
	b->p += n;
	return 0;
}

static json_t *b64(const unsigned char *p, size_t n)
{
	char *o = malloc(4 * ((n + 2) / 3) + 1);
	json_t *s;

	if (!o)
		return NULL;
	EVP_EncodeBlock((unsigned char *)o, p, (int)n);
	s = json_string(o);
	free(o);
	return s;
}

static int pb_decode_msg(const struct pb_msg *m, struct pb_buf b, int depth, json_t **out,
			 struct gerr *err);

/* Map entry {1: key string, 2: value}. */
static int pb_map_entry(enum pb_type t, struct pb_buf b, json_t *map, struct gerr *err)
{
	char *key = NULL;
	json_t *val = NULL;

	while (b.p < b.end) {
		uint64_t k;
		struct pb_buf s;

		if (pb_varint(&b, &k) || (k & 7) != 2 || pb_bytes(&b, &s))
			goto bad;
		if ((k >> 3) == 1) {
			free(key);
			key = strndup((const char *)s.p, s.end - s.p);
		} else if ((k >> 3) == 2) {
			json_decref(val);
			if (t == PB_MAP_SS) {
				val = json_stringn((const char *)s.p, s.end - s.p);
			} else if (t == PB_MAP_SB) {
				val = b64(s.p, s.end - s.p);
			} else {
				/* Quantity {1: string} */
				uint64_t qk;
				struct pb_buf q = s, qs = { 0 };

				val = NULL;
				while (q.p < q.end) {
					if (pb_varint(&q, &qk) || (qk & 7) != 2 || pb_bytes(&q, &qs))
						goto bad;
				}
				val = json_stringn((const char *)qs.p, qs.p ? qs.end - qs.p : 0);
			}
		}
	}
	json_object_set_new(map, key ? key : "", val ? val : json_string(""));
	free(key);
	return 0;
bad:
	free(key);
	json_decref(val);
	return gerr_set(err, -EINVAL, "malformed protobuf map entry");
}

static json_t *pb_time(struct pb_buf b)
{
	uint64_t k, v, secs = 0;
	char buf[64];
	struct tm tm;
	time_t t;

	while (b.p < b.end) {
		if (pb_varint(&b, &k) || (k & 7) != 0 || pb_varint(&b, &v))
			return NULL;
		if ((k >> 3) == 1)
			secs = v;
	}
	if (!secs)
		return json_null();
	t = (time_t)secs;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *pb_ios(struct pb_buf b)
{
	uint64_t k, v, type = 0, iv = 0;
	struct pb_buf s = { 0 };

	while (b.p < b.end) {
		if (pb_varint(&b, &k))
			return NULL;
		if ((k & 7) == 0) {
			if (pb_varint(&b, &v))
				return NULL;
			if ((k >> 3) == 1)
				type = v;
			else if ((k >> 3) == 2)
				iv = v;
		} else if ((k & 7) == 2) {
			if (pb_bytes(&b, &s))
				return NULL;
		} else {
			return NULL;
		}
	}
	if (type == 1)
		return json_stringn((const char *)s.p, s.p ? s.end - s.p : 0);
	return json_integer((json_int_t)(int32_t)iv);
}

static const struct pb_field *pb_find(const struct pb_msg *m, int num)
{
	for (const struct pb_field *f = m->f; f->name; f++)
		if (f->num == num)
			return f;
	return NULL;
}

static bool pb_is_empty(const json_t *v)
{
	return !v || json_is_null(v) || (json_is_string(v) && !json_string_length(v)) ||
	       (json_is_integer(v) && !json_integer_value(v)) || json_is_false(v) ||
	       (json_is_object(v) && !json_object_size(v));
}

static int pb_decode_msg(const struct pb_msg *m, struct pb_buf b, int depth, json_t **out,
			 struct gerr *err)
{
	json_t *o = json_object();
	int ret = 0;

	if (depth > 32) {
		json_decref(o);
		return gerr_set(err, -E2BIG, "protobuf nesting too deep");
	}
	while (b.p < b.end) {
		uint64_t k, v;
		struct pb_buf s;
		int wt, num;
		json_t *val = NULL;

		if (pb_varint(&b, &k))
			goto bad;
		wt = (int)(k & 7);
		num = (int)(k >> 3);
		const struct pb_field *f = pb_find(m, num);
		if (wt == 0) {
			if (pb_varint(&b, &v))
				goto bad;
			if (!f) {
				if (v) {
					ret = gerr_set(err, -ENOTSUP, "unsupported protobuf field %d of %s", num, m->name);
					goto out;
				}
				continue;
			}
			if (f->type == PB_BOOL)
				val = json_boolean(v);
			else if (f->type == PB_INT)
				val = json_integer((json_int_t)v);
			else
				goto bad;
		} else if (wt == 2) {
			if (pb_bytes(&b, &s))
				goto bad;
			if (!f) {
				if (s.p != s.end) {
					ret = gerr_set(err, -ENOTSUP, "unsupported protobuf field %d of %s", num, m->name);
					goto out;
				}
				continue;
			}
			switch (f->type) {
			case PB_STR:
				val = json_stringn((const char *)s.p, s.end - s.p);
				if (!val)
					goto bad;   /* invalid UTF-8 */
				break;
			case PB_BYTES:
				val = b64(s.p, s.end - s.p);
				break;
			case PB_MSG:
				ret = pb_decode_msg(f->msg, s, depth + 1, &val, err);
				if (ret)
					goto out;
				break;
			case PB_MAP_SS:
			case PB_MAP_SB:
			case PB_MAP_SQ: {
				json_t *map = json_object_get(o, f->name);

				if (!map) {
					map = json_object();
					json_object_set_new(o, f->name, map);
				}
				ret = pb_map_entry(f->type, s, map, err);
				if (ret)
					goto out;
				continue;
			}
			case PB_TIME:
				val = pb_time(s);
				break;
			case PB_IOS:
				val = pb_ios(s);
				break;
			default:
				goto bad;
			}
			if (!val)
				goto bad;
		} else {
			goto bad;
		}
		if (f->flags & PB_REP) {
			json_t *arr = json_object_get(o, f->name);

			if (!arr) {
				arr = json_array();
				json_object_set_new(o, f->name, arr);
			}
			json_array_append_new(arr, val);
		} else if (pb_is_empty(val) && !(f->flags & PB_KEEPZ && json_is_integer(val))) {
			json_decref(val);
		} else {
			json_object_set_new(o, f->name, val);
		}
	}
	*out = o;
	return 0;
bad:
	ret = gerr_set(err, -EINVAL, "malformed protobuf in %s", m->name);
out:
	json_decref(o);
	return ret;
}

int pb_k8s_decode(const unsigned char *buf, size_t len, json_t **out, struct gerr *err)
{
	struct pb_buf b = { buf + 4, buf + len }, raw = { 0 };
	char api_version[128] = "", kind[128] = "";
	bool have_raw = false;
	int ret;

	*out = NULL;
	if (len < 4 || memcmp(buf, "k8s\0", 4))
		return gerr_set(err, -EINVAL, "missing protobuf envelope magic");
	/* runtime.Unknown {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3, 4} */
	while (b.p < b.end) {
		uint64_t k;
		struct pb_buf s;

		if (pb_varint(&b, &k) || (k & 7) != 2 || pb_bytes(&b, &s))
			return gerr_set(err, -EINVAL, "malformed protobuf envelope");
		if ((k >> 3) == 1) {
			while (s.p < s.end) {
				uint64_t tk;
				struct pb_buf ts;

				if (pb_varint(&s, &tk) || (tk & 7) != 2 || pb_bytes(&s, &ts))
					return gerr_set(err, -EINVAL, "malformed protobuf typeMeta");
				if ((tk >> 3) == 1)
					snprintf(api_version, sizeof(api_version), "%.*s", (int)(ts.end - ts.p), ts.p);
				else if ((tk >> 3) == 2)
					snprintf(kind, sizeof(kind), "%.*s", (int)(ts.end - ts.p), ts.p);
			}
		} else if ((k >> 3) == 2) {
			raw = s;
			have_raw = true;
		}
	}
	if (!have_raw)
		return gerr_set(err, -EINVAL, "protobuf envelope without an object");
	for (size_t i = 0; i < sizeof(pb_kinds) / sizeof(pb_kinds[0]); i++) {
		if (strcmp(pb_kinds[i].kind, kind))
			continue;
		ret = pb_decode_msg(&pb_kinds[i].msg, raw, 0, out, err);
		if (ret)
			return ret;
		json_object_set_new(*out, "apiVersion", json_string(api_version));
		json_object_set_new(*out, "kind", json_string(kind));
		return 0;
	}
	return gerr_set(err, -ENOTSUP, "protobuf encoding of kind \"%s\" is not supported; send JSON or YAML", kind);
}
