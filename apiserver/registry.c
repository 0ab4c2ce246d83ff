/* SPDX-License-Identifier: Apache-2.0 */
/* The resource registry: one row per kind with its REST coordinates, scope,
 * subresources, defaulting and validation. New kinds are one row plus
 * (optionally) a validate/defaults function; the HTTP layer, discovery and
 * the watch cache are driven entirely by this table. */
#include "apiserver/apiserver.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <openssl/evp.h>

#include "common/names.h"
#include "common/selectors.h"
#include "policies/policy.h"

/* ---- helpers ---------------------------------------------------------- */

static const json_t *jget(const json_t *o, const char *k)
{
	return json_is_object(o) ? json_object_get(o, k) : NULL;
}

static void set_default(json_t *o, const char *k, json_t *v)
{
	if (json_is_object(o) && !json_object_get(o, k))
		json_object_set_new(o, k, v);
	else
		json_decref(v);
}

static json_t *ensure_obj(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(o, k, v);
	}
	return v;
}

static void check_port(struct verr *ve, const json_t *v, const char *field, bool required)
{
	if (!v) {
		if (required)
			verr_required(ve, field);
		return;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
		verr_add(ve, "FieldValueInvalid", field,
			 "Invalid value: must be between 1 and 65535, inclusive");
}

static void check_protocol(struct verr *ve, const json_t *v, const char *field)
{
	const char *p = json_string_value(v);

	if (v && (!p || (strcmp(p, "TCP") && strcmp(p, "UDP") && strcmp(p, "SCTP"))))
		verr_add(ve, "FieldValueNotSupported", field,
			 "Unsupported value: supported values: \"TCP\", \"UDP\", \"SCTP\"");
}

static void check_replicas(struct verr *ve, const json_t *spec, const char *field)
{
	const json_t *r = jget(spec, "replicas");

	if (r && (!json_is_integer(r) || json_integer_value(r) < 0))
		verr_add(ve, "FieldValueInvalid", field,
			 "Invalid value: must be greater than or equal to 0");
}

/* ---- pod spec (Pod, and templates in workloads) ---------------------- */

static const char *const pod_spec_fields[] = {
	"containers", "initContainers", "ephemeralContainers", "volumes", "restartPolicy",
	"terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "dnsConfig",
	"nodeSelector", "serviceAccountName", "serviceAccount", "automountServiceAccountToken",
	"nodeName", "hostNetwork", "hostPID", "hostIPC", "shareProcessNamespace",
	"securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity",
	"schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority",
	"readinessGates", "runtimeClassName", "enableServiceLinks", "preemptionPolicy",
	"overhead", "topologySpreadConstraints", "setHostnameAsFQDN", "os", "hostUsers",
	"schedulingGates", "resourceClaims", NULL,
};
static const char *const container_fields[] = {
	"name", "image", "command", "args", "workingDir", "ports", "envFrom", "env",
	"resources", "resizePolicy", "restartPolicy", "volumeMounts", "volumeDevices",
	"livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
	"terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy",
	"securityContext", "stdin", "stdinOnce", "tty", NULL,
};

static bool in_list(const char *const *l, const char *k)
{
	for (; l && *l; l++)
		if (!strcmp(*l, k))
			return true;
	return false;
}

static void unknown_in(const json_t *o, const char *const *known, const char *path,
		       struct verr *ve)
{
	const char *k;
	json_t *v;
	char f[512];

	if (!json_is_object(o) || !known)
		return;
	json_object_foreach((json_t *)o, k, v) {
		if (!in_list(known, k)) {
			snprintf(f, sizeof(f), "%s.%s", path, k);
			json_array_append_new(ve->unknown, json_string(f));
		}
	}
}

static void pod_spec_unknown(const json_t *spec, const char *path, struct verr *ve)
{
	const char *lists[] = { "containers", "initContainers" };
	char f[512];

	unknown_in(spec, pod_spec_fields, path, ve);
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *c;

		json_array_foreach(jget(spec, lists[l]), i, c) {
			snprintf(f, sizeof(f), "%s.%s[%zu]", path, lists[l], i);
			unknown_in(c, container_fields, f, ve);
		}
	}
}

static void pod_spec_defaults(json_t *spec)
{
	const char *lists[] = { "containers", "initContainers" };

	if (!json_is_object(spec))
		return;
	set_default(spec, "restartPolicy", json_string("Always"));
	set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	set_default(spec, "schedulerName", json_string("default-scheduler"));
	set_default(spec, "securityContext", json_object());
	for (int l = 0; l < 2; l++) {
		size_t i, j;
		json_t *c, *p;

		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			const char *img = json_string_value(json_object_get(c, "image"));
			bool latest = img && (!strchr(img, ':') || strstr(img, ":latest"));

			set_default(c, "imagePullPolicy", json_string(latest ? "Always" : "IfNotPresent"));
			set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
			set_default(c, "terminationMessagePolicy", json_string("File"));
			set_default(c, "resources", json_object());
			json_array_foreach(json_object_get(c, "ports"), j, p)
				set_default(p, "protocol", json_string("TCP"));
		}
	}
}

static void pod_spec_validate(const json_t *spec, const char *path, struct verr *ve)
{
	const char *lists[] = { "containers", "initContainers" };
	char f[512];
	const json_t *rp;

	if (!json_is_object(spec)) {
		snprintf(f, sizeof(f), "%s", path);
		verr_required(ve, f);
		return;
	}
	if (json_array_size(jget(spec, "containers")) == 0) {
		snprintf(f, sizeof(f), "%s.containers", path);
		verr_required(ve, f);
	}
	for (int l = 0; l < 2; l++) {
		size_t i, j;
		json_t *c, *p;

		json_array_foreach(jget(spec, lists[l]), i, c) {
			const char *name = json_string_value(jget(c, "name"));

			snprintf(f, sizeof(f), "%s.%s[%zu].name", path, lists[l], i);
			if (!name)
				verr_required(ve, f);
			else if (!name_dns1123_label(name))
				verr_add(ve, "FieldValueInvalid", f,
					 "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'", name);
			snprintf(f, sizeof(f), "%s.%s[%zu].image", path, lists[l], i);
			if (!json_string_value(jget(c, "image")) || !*json_string_value(jget(c, "image")))
				verr_required(ve, f);
			json_array_foreach(jget(c, "ports"), j, p) {
				snprintf(f, sizeof(f), "%s.%s[%zu].ports[%zu].containerPort", path, lists[l], i, j);
				check_port(ve, jget(p, "containerPort"), f, true);
				snprintf(f, sizeof(f), "%s.%s[%zu].ports[%zu].protocol", path, lists[l], i, j);
				check_protocol(ve, jget(p, "protocol"), f);
			}
		}
	}
	rp = jget(spec, "restartPolicy");
	if (rp && (!json_is_string(rp) || (strcmp(json_string_value(rp), "Always") &&
					   strcmp(json_string_value(rp), "OnFailure") &&
					   strcmp(json_string_value(rp), "Never")))) {
		snprintf(f, sizeof(f), "%s.restartPolicy", path);
		verr_add(ve, "FieldValueNotSupported", f,
			 "Unsupported value: supported values: \"Always\", \"OnFailure\", \"Never\"");
	}
}

/* ---- per-kind hooks ----------------------------------------------------- */

static void pod_defaults(json_t *o)
{
	pod_spec_defaults(json_object_get(o, "spec"));
	set_default(ensure_obj(o, "status"), "phase", json_string("Pending"));
}

static void pod_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			 struct verr *ve)
{
	pod_spec_validate(jget(o, "spec"), "spec", ve);
	if (old) {
		/* Pod specs are immutable apart from a few fields (images,
		 * activeDeadlineSeconds, tolerations); nodeName is set once. */
		const char *on = json_string_value(sel_lookup_path(old, "spec.nodeName"));
		const char *nn = json_string_value(sel_lookup_path(o, "spec.nodeName"));

		if (on && *on && (!nn || strcmp(on, nn)))
			verr_add(ve, "FieldValueForbidden", "spec.nodeName",
				 "Forbidden: pod updates may not change nodeName");
	}
}

static void template_validate(const json_t *o, struct verr *ve, bool need_selector)
{
	const json_t *spec = jget(o, "spec");
	const json_t *sel = jget(spec, "selector");
	const json_t *tmpl = jget(spec, "template");
	const json_t *tl = sel_lookup_path(tmpl, "metadata.labels");

	if (!json_is_object(spec)) {
		verr_required(ve, "spec");
		return;
	}
	check_replicas(ve, spec, "spec.replicas");
	if (need_selector && !json_is_object(sel)) {
		verr_required(ve, "spec.selector");
	} else if (sel) {
		struct selector s;
		struct gerr e = { 0 };

		if (sel_from_label_selector(sel, &s, &e)) {
			verr_add(ve, "FieldValueInvalid", "spec.selector", "Invalid value: %s", e.msg);
		} else {
			if (s.n == 0)
				verr_add(ve, "FieldValueInvalid", "spec.selector",
					 "Invalid value: empty selector is invalid for deployment");
			else if (!sel_match_labels(&s, tl))
				verr_add(ve, "FieldValueInvalid", "spec.template.metadata.labels",
					 "Invalid value: `selector` does not match template `labels`");
			sel_free(&s);
		}
	}
	if (!tmpl)
		verr_required(ve, "spec.template");
	else
		pod_spec_validate(jget(tmpl, "spec"), "spec.template.spec", ve);
}

static void workload_unknown(const json_t *o, struct verr *ve)
{
	pod_spec_unknown(sel_lookup_path(o, "spec.template.spec"), "spec.template.spec", ve);
}

static void deployment_defaults(json_t *o)
{
	json_t *spec = json_object_get(o, "spec");
	json_t *st;

	if (!json_is_object(spec))
		return;
	set_default(spec, "replicas", json_integer(1));
	set_default(spec, "revisionHistoryLimit", json_integer(10));
	set_default(spec, "progressDeadlineSeconds", json_integer(600));
	st = ensure_obj(spec, "strategy");
	set_default(st, "type", json_string("RollingUpdate"));
	if (!strcmp(json_string_value(json_object_get(st, "type")) ?: "", "RollingUpdate")) {
		json_t *ru = ensure_obj(st, "rollingUpdate");

		set_default(ru, "maxUnavailable", json_string("25%"));
		set_default(ru, "maxSurge", json_string("25%"));
	}
	pod_spec_defaults(sel_lookup_path(o, "spec.template.spec") ? json_object_get(json_object_get(spec, "template"), "spec") : NULL);
}

static void deployment_validate(const struct api_kind *k, const json_t *o, const json_t *old,
				struct verr *ve)
{
	const char *t = json_string_value(sel_lookup_path(o, "spec.strategy.type"));

	template_validate(o, ve, true);
	if (t && strcmp(t, "RollingUpdate") && strcmp(t, "Recreate"))
		verr_add(ve, "FieldValueNotSupported", "spec.strategy.type",
			 "Unsupported value: \"%s\": supported values: \"Recreate\", \"RollingUpdate\"", t);
}

static void replicaset_defaults(json_t *o)
{
	json_t *spec = json_object_get(o, "spec");

	if (!json_is_object(spec))
		return;
	set_default(spec, "replicas", json_integer(1));
	pod_spec_defaults(json_object_get(json_object_get(spec, "template"), "spec"));
}

static void replicaset_validate(const struct api_kind *k, const json_t *o, const json_t *old,
				struct verr *ve)
{
	template_validate(o, ve, true);
}

static void daemonset_defaults(json_t *o)
{
	json_t *spec = json_object_get(o, "spec");
	json_t *us;

	if (!json_is_object(spec))
		return;
	set_default(spec, "revisionHistoryLimit", json_integer(10));
	us = ensure_obj(spec, "updateStrategy");
	set_default(us, "type", json_string("RollingUpdate"));
	pod_spec_defaults(json_object_get(json_object_get(spec, "template"), "spec"));
}

static void daemonset_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			       struct verr *ve)
{
	template_validate(o, ve, true);
}

static bool svc_externally_accessible(const json_t *spec)
{
	const char *type = json_string_value(jget(spec, "type")) ?: "ClusterIP";

	return !strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer") ||
	       (!strcmp(type, "ClusterIP") && json_array_size(jget(spec, "externalIPs")) > 0);
}

static void service_defaults(json_t *o)
{
	json_t *spec = json_object_get(o, "spec");
	json_t *p;
	size_t i;

	if (!json_is_object(spec))
		return;
	set_default(spec, "type", json_string("ClusterIP"));
	set_default(spec, "sessionAffinity", json_string("None"));
	if (!strcmp(json_string_value(json_object_get(spec, "sessionAffinity")) ?: "", "ClientIP")) {
		json_t *cfg = ensure_obj(ensure_obj(spec, "sessionAffinityConfig"), "clientIP");

		set_default(cfg, "timeoutSeconds", json_integer(10800));
	}
	if (strcmp(json_string_value(json_object_get(spec, "type")) ?: "", "ExternalName"))
		set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
	if (svc_externally_accessible(spec))
		set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		set_default(p, "protocol", json_string("TCP"));
		if (json_object_get(p, "port"))
			set_default(p, "targetPort", json_deep_copy(json_object_get(p, "port")));
	}
}

/* IANA_SVC_NAME: at most 15 lowercase alphanumerics or '-', at least one
 * letter, no leading/trailing or doubled '-' (named container ports). */
bool reg_valid_port_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	bool letter = false;

	if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (islower((unsigned char)s[i]))
			letter = true;
		else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return false;
	}
	return letter;
}

static void service_validate_ports(const json_t *spec, struct verr *ve)
{
	const json_t *ports = jget(spec, "ports");
	json_t *p;
	size_t i, j;
	char f[128];

	json_array_foreach(ports, i, p) {
		const json_t *tp = jget(p, "targetPort");
		const char *name = json_string_value(jget(p, "name"));
		const json_t *np = jget(p, "nodePort");

		snprintf(f, sizeof(f), "spec.ports[%zu].port", i);
		check_port(ve, jget(p, "port"), f, true);
		snprintf(f, sizeof(f), "spec.ports[%zu].protocol", i);
		check_protocol(ve, jget(p, "protocol"), f);
		snprintf(f, sizeof(f), "spec.ports[%zu].name", i);
		if (json_array_size(ports) > 1 && (!name || !*name))
			verr_required(ve, f);
		else if (name && *name && !name_dns1123_label(name))
			verr_add(ve, "FieldValueInvalid", f,
				 "Invalid value: \"%s\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character", name);
		snprintf(f, sizeof(f), "spec.ports[%zu].targetPort", i);
		if (json_is_string(tp)) {
			if (!reg_valid_port_name(json_string_value(tp)))
				verr_add(ve, "FieldValueInvalid", f,
					 "Invalid value: \"%s\": must be a port number (1-65535) or an IANA_SVC_NAME (at most 15 characters, lowercase alphanumeric or '-', at least one letter)",
					 json_string_value(tp));
		} else if (tp) {
			check_port(ve, tp, f, false);
		}
		snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
		if (np && (!json_is_integer(np) || json_integer_value(np) < 0 ||
			   json_integer_value(np) > 65535))
			verr_add(ve, "FieldValueInvalid", f,
				 "Invalid value: must be between 0 and 65535, inclusive");
		for (j = 0; j < i; j++) {
			const json_t *q = json_array_get(ports, j);
			const char *qn = json_string_value(jget(q, "name"));

			if (name && qn && *name && !strcmp(name, qn)) {
				snprintf(f, sizeof(f), "spec.ports[%zu].name", i);
				verr_add(ve, "FieldValueDuplicate", f, "Duplicate value: \"%s\"", name);
			}
			if (json_equal(jget(p, "port"), jget(q, "port")) &&
			    json_equal(jget(p, "protocol"), jget(q, "protocol"))) {
				snprintf(f, sizeof(f), "spec.ports[%zu]", i);
				verr_add(ve, "FieldValueDuplicate", f,
					 "Duplicate value: port %" JSON_INTEGER_FORMAT "/%s: port clash with spec.ports[%zu]",
					 json_integer_value(jget(p, "port")),
					 json_string_value(jget(p, "protocol")) ?: "TCP", j);
			}
			if (np && json_integer_value(np) != 0 &&
			    json_equal(np, jget(q, "nodePort")) &&
			    json_equal(jget(p, "protocol"), jget(q, "protocol"))) {
				snprintf(f, sizeof(f), "spec.ports[%zu].nodePort", i);
				verr_add(ve, "FieldValueDuplicate", f,
					 "Duplicate value: %" JSON_INTEGER_FORMAT, json_integer_value(np));
			}
		}
	}
}

static void service_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			     struct verr *ve)
{
	const json_t *spec = jget(o, "spec");
	const char *type = json_string_value(jget(spec, "type"));
	const char *cip = json_string_value(jget(spec, "clusterIP"));
	const char *aff = json_string_value(jget(spec, "sessionAffinity"));
	const char *etp = json_string_value(jget(spec, "externalTrafficPolicy"));
	const json_t *sel = jget(spec, "selector");
	bool headless = cip && !strcmp(cip, "None");
	const char *key;
	json_t *v;
	char f[300];

	if (!json_is_object(spec)) {
		verr_required(ve, "spec");
		return;
	}
	if (!type)
		type = "ClusterIP";
	if (strcmp(type, "ClusterIP") && strcmp(type, "NodePort") &&
	    strcmp(type, "LoadBalancer") && strcmp(type, "ExternalName"))
		verr_add(ve, "FieldValueNotSupported", "spec.type",
			 "Unsupported value: \"%s\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"", type);
	if (!strcmp(type, "ExternalName")) {
		const char *en = json_string_value(jget(spec, "externalName"));

		if (!en || !*en)
			verr_required(ve, "spec.externalName");
		else if (!name_k8s_subdomain(en))
			verr_add(ve, "FieldValueInvalid", "spec.externalName",
				 "Invalid value: \"%s\": must be a valid DNS name", en);
		if (cip && *cip)
			verr_add(ve, "FieldValueForbidden", "spec.clusterIP",
				 "Forbidden: may not be set for ExternalName services");
	} else if (json_array_size(jget(spec, "ports")) == 0 && !headless) {
		verr_required(ve, "spec.ports");
	}
	if (headless && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")))
		verr_add(ve, "FieldValueInvalid", "spec.clusterIP",
			 "Invalid value: \"None\": may not be set to 'None' for %s services", type);
	if (jget(spec, "clusterIP") && !json_is_string(jget(spec, "clusterIP")))
		verr_add(ve, "FieldValueInvalid", "spec.clusterIP", "Invalid value: must be a string");
	service_validate_ports(spec, ve);
	/* Selector: label keys and values (values may be empty). */
	if (sel && !json_is_object(sel)) {
		verr_add(ve, "FieldValueInvalid", "spec.selector", "Invalid value: must be a map of strings");
	} else {
		json_object_foreach((json_t *)sel, key, v) {
			snprintf(f, sizeof(f), "spec.selector");
			if (!obj_valid_label_key(key))
				verr_add(ve, "FieldValueInvalid", f,
					 "Invalid value: \"%s\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character", key);
			else if (!json_is_string(v) || !obj_valid_label_value(json_string_value(v)))
				verr_add(ve, "FieldValueInvalid", f,
					 "Invalid value: \"%s\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (63 characters or less)",
					 json_is_string(v) ? json_string_value(v) : key);
		}
	}
	if (aff && strcmp(aff, "None") && strcmp(aff, "ClientIP"))
		verr_add(ve, "FieldValueNotSupported", "spec.sessionAffinity",
			 "Unsupported value: \"%s\": supported values: \"ClientIP\", \"None\"", aff);
	if (aff && !strcmp(aff, "ClientIP")) {
		const json_t *t = sel_lookup_path(spec, "sessionAffinityConfig.clientIP.timeoutSeconds");

		if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 86400)
			verr_add(ve, "FieldValueInvalid",
				 "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
				 "Invalid value: must be greater than 0 and less than 86400");
	} else if (jget(spec, "sessionAffinityConfig")) {
		verr_add(ve, "FieldValueInvalid", "spec.sessionAffinityConfig",
			 "Invalid value: must not be set when `sessionAffinity` is None");
	}
	if (etp) {
		if (!svc_externally_accessible(spec))
			verr_add(ve, "FieldValueInvalid", "spec.externalTrafficPolicy",
				 "Invalid value: \"%s\": may only be set for externally-accessible services (NodePort, LoadBalancer or externalIPs)", etp);
		else if (strcmp(etp, "Cluster") && strcmp(etp, "Local"))
			verr_add(ve, "FieldValueNotSupported", "spec.externalTrafficPolicy",
				 "Unsupported value: \"%s\": supported values: \"Cluster\", \"Local\"", etp);
	}
	{
		const char *itp = json_string_value(jget(spec, "internalTrafficPolicy"));

		if (itp && strcmp(itp, "Cluster") && strcmp(itp, "Local"))
			verr_add(ve, "FieldValueNotSupported", "spec.internalTrafficPolicy",
				 "Unsupported value: \"%s\": supported values: \"Cluster\", \"Local\"", itp);
	}
	{
		size_t i;

		json_array_foreach(jget(spec, "externalIPs"), i, v) {
			struct in_addr a;

			if (!json_is_string(v) || inet_pton(AF_INET, json_string_value(v), &a) != 1) {
				snprintf(f, sizeof(f), "spec.externalIPs[%zu]", i);
				verr_add(ve, "FieldValueInvalid", f,
					 "Invalid value: must be a valid IP address, (e.g. 10.9.8.7)");
			}
		}
	}
	if (old) {
		const char *oc = json_string_value(sel_lookup_path(old, "spec.clusterIP"));
		const char *otype = json_string_value(sel_lookup_path(old, "spec.type"));

		/* Immutable, except when the type moves to or from ExternalName
		 * (which has no address). */
		if (oc && *oc && cip && *cip && strcmp(oc, cip) &&
		    strcmp(type, "ExternalName") && strcmp(otype ?: "", "ExternalName"))
			verr_add(ve, "FieldValueInvalid", "spec.clusterIP",
				 "Invalid value: \"%s\": field is immutable", cip);
	}
}

/* Every namespace carries kubernetes.io/metadata.name=<name> (as
 * Kubernetes 1.21+ does) so that NetworkPolicy namespaceSelectors can pick
 * a namespace by name. Set on every create and update, whatever the client
 * sent: the label cannot be removed or changed. */
static void namespace_defaults(json_t *o)
{
	const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"), "name"));

	set_default(ensure_obj(o, "status"), "phase", json_string("Active"));
	if (name && *name)
		json_object_set_new(ensure_obj(ensure_obj(o, "metadata"), "labels"),
				    "kubernetes.io/metadata.name", json_string(name));
}

static void node_defaults(json_t *o)
{
	ensure_obj(o, "spec");
}

static void secret_defaults(json_t *o)
{
	json_t *sd = json_object_get(o, "stringData");
	const char *k;
	json_t *v;

	set_default(o, "type", json_string("Opaque"));
	/* stringData is write-only convenience: merged into data (base64)
	 * and never stored, as in Kubernetes. */
	if (json_is_object(sd)) {
		json_t *data = ensure_obj(o, "data");

		json_object_foreach(sd, k, v) {
			if (!json_is_string(v))
				continue;
			size_t n = json_string_length(v);
			char *b = malloc(4 * ((n + 2) / 3) + 1);

			if (!b)
				continue;
			EVP_EncodeBlock((unsigned char *)b, (const unsigned char *)json_string_value(v), (int)n);
			json_object_set_new(data, k, json_string(b));
			free(b);
		}
		json_object_del(o, "stringData");
	}
}

static void data_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			  struct verr *ve)
{
	const char *fields[] = { "data", "stringData", "binaryData" };
	char f[300];

	for (int i = 0; i < 3; i++) {
		const json_t *d = jget(o, fields[i]);
		const char *key;
		json_t *v;

		if (!d)
			continue;
		if (!json_is_object(d)) {
			verr_add(ve, "FieldValueInvalid", fields[i], "Invalid value: must be a map");
			continue;
		}
		json_object_foreach((json_t *)d, key, v) {
			snprintf(f, sizeof(f), "%s[%s]", fields[i], key);
			if (!json_is_string(v))
				verr_add(ve, "FieldValueInvalid", f, "Invalid value: must be a string");
			bool ok = *key && strlen(key) <= 253;
			for (const char *c = key; *c; c++)
				if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
					ok = false;
			if (!ok)
				verr_add(ve, "FieldValueInvalid", f,
					 "Invalid value: \"%s\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'", key);
		}
	}
	if (old && json_is_true(jget(old, "immutable"))) {
		if (!json_equal(jget(old, "data"), jget(o, "data")))
			verr_add(ve, "FieldValueForbidden", "data",
				 "Forbidden: field is immutable when `immutable` is set");
	}
}

static void netpol_defaults(json_t *o)
{
	json_t *spec = json_object_get(o, "spec");

	if (!json_is_object(spec))
		return;
	/* As Kubernetes' SetDefaults_NetworkPolicySpec: an absent or empty
	 * policyTypes becomes Ingress, plus Egress only when spec.egress has
	 * at least one rule (`egress: []` does not make a pod egress-isolated). */
	if (json_array_size(json_object_get(spec, "policyTypes")) == 0) {
		json_t *t = json_array();

		json_array_append_new(t, json_string("Ingress"));
		if (json_array_size(json_object_get(spec, "egress")) > 0)
			json_array_append_new(t, json_string("Egress"));
		json_object_set_new(spec, "policyTypes", t);
	}
}

/* The policy engine's full validation (policies/ pol_validate: selectors,
 * CIDRs and except within cidr, ports and endPort, protocols, policy
 * types), the same code the agents compile policies with, so that nothing
 * the API accepts is rejected on the nodes. It reports the first problem
 * as "path: Kind: detail"; the kind maps onto the Status cause reason.
 * metadata is checked by the generic code: only the spec is passed. */
static void netpol_engine_validate(const json_t *spec, struct verr *ve)
{
	static const struct { const char *kind, *reason; } kinds[] = {
		{ "Invalid value", "FieldValueInvalid" },
		{ "Unsupported value", "FieldValueNotSupported" },
		{ "Required value", "FieldValueRequired" },
		{ "Forbidden", "FieldValueForbidden" },
		{ "Duplicate value", "FieldValueDuplicate" },
		{ "Too many", "FieldValueTooMany" },
	};
	struct gerr e = { 0 };
	const char *reason = "FieldValueInvalid", *msg;
	char field[256];
	json_t *np;
	size_t fl;

	np = json_pack("{s:s, s:s, s:{s:s}, s:O}", "apiVersion", "networking.k8s.io/v1",
		       "kind", "NetworkPolicy", "metadata", "name", "validate", "spec", spec);
	if (!np || !pol_validate(np, &e)) {
		json_decref(np);
		return;
	}
	json_decref(np);
	msg = e.msg;
	fl = strcspn(msg, ":");
	if (!msg[fl] || msg[fl + 1] != ' ' || strncmp(msg, "spec", 4)) {
		verr_add(ve, "FieldValueInvalid", "spec", "%s", msg);
		return;
	}
	snprintf(field, sizeof(field), "%.*s", (int)fl, msg);
	msg += fl + 2;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strncmp(msg, kinds[i].kind, strlen(kinds[i].kind)))
			reason = kinds[i].reason;
	verr_add(ve, reason, field, "%s", msg);
}

static void netpol_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			    struct verr *ve)
{
	const json_t *spec = jget(o, "spec");
	const char *dirs[] = { "ingress", "egress" };
	const char *peers[] = { "from", "to" };
	char f[256];

	if (!json_is_object(spec)) {
		verr_required(ve, "spec");
		return;
	}
	if (!json_is_object(jget(spec, "podSelector")))
		verr_required(ve, "spec.podSelector");
	for (int d = 0; d < 2; d++) {
		size_t i, j;
		json_t *r, *x;

		json_array_foreach(jget(spec, dirs[d]), i, r) {
			json_array_foreach(jget(r, "ports"), j, x) {
				snprintf(f, sizeof(f), "spec.%s[%zu].ports[%zu].protocol", dirs[d], i, j);
				check_protocol(ve, jget(x, "protocol"), f);
				const json_t *port = jget(x, "port");
				if (json_is_integer(port)) {
					snprintf(f, sizeof(f), "spec.%s[%zu].ports[%zu].port", dirs[d], i, j);
					check_port(ve, port, f, false);
				}
			}
			json_array_foreach(jget(r, peers[d]), j, x) {
				const json_t *ib = jget(x, "ipBlock");

				if (ib && !json_is_string(jget(ib, "cidr"))) {
					snprintf(f, sizeof(f), "spec.%s[%zu].%s[%zu].ipBlock.cidr", dirs[d], i, peers[d], j);
					verr_required(ve, f);
				}
			}
		}
	}
	if (!verr_any(ve))
		netpol_engine_validate(spec, ve);
}

static void rbac_rules_validate(const struct api_kind *k, const json_t *o, const json_t *old,
				struct verr *ve)
{
	json_t *r;
	size_t i;
	char f[128];

	json_array_foreach(jget(o, "rules"), i, r) {
		if (json_array_size(jget(r, "verbs")) == 0) {
			snprintf(f, sizeof(f), "rules[%zu].verbs", i);
			verr_required(ve, f);
		}
	}
}

static void binding_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			     struct verr *ve)
{
	const json_t *ref = jget(o, "roleRef");
	const char *kind = json_string_value(jget(ref, "kind"));
	json_t *s;
	size_t i;
	char f[128];

	if (!json_is_object(ref)) {
		verr_required(ve, "roleRef");
	} else {
		if (!json_string_value(jget(ref, "name")))
			verr_required(ve, "roleRef.name");
		if (!kind || (strcmp(kind, "Role") && strcmp(kind, "ClusterRole")))
			verr_add(ve, "FieldValueNotSupported", "roleRef.kind",
				 "Unsupported value: supported values: \"Role\", \"ClusterRole\"");
		else if (!k->namespaced && strcmp(kind, "ClusterRole"))
			verr_add(ve, "FieldValueNotSupported", "roleRef.kind",
				 "Unsupported value: \"%s\": supported values: \"ClusterRole\"", kind);
	}
	if (old && !json_equal(jget(old, "roleRef"), ref))
		verr_add(ve, "FieldValueInvalid", "roleRef", "Invalid value: cannot change roleRef");
	json_array_foreach(jget(o, "subjects"), i, s) {
		const char *sk = json_string_value(jget(s, "kind"));

		if (!sk || (strcmp(sk, "User") && strcmp(sk, "Group") && strcmp(sk, "ServiceAccount"))) {
			snprintf(f, sizeof(f), "subjects[%zu].kind", i);
			verr_add(ve, "FieldValueNotSupported", f,
				 "Unsupported value: supported values: \"ServiceAccount\", \"User\", \"Group\"");
		}
		if (!json_string_value(jget(s, "name"))) {
			snprintf(f, sizeof(f), "subjects[%zu].name", i);
			verr_required(ve, f);
		}
	}
}

static void lease_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			   struct verr *ve)
{
	const json_t *d = sel_lookup_path(o, "spec.leaseDurationSeconds");

	if (d && (!json_is_integer(d) || json_integer_value(d) <= 0))
		verr_add(ve, "FieldValueInvalid", "spec.leaseDurationSeconds",
			 "Invalid value: must be greater than 0");
}

static void endpoints_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			       struct verr *ve)
{
	json_t *s, *x;
	size_t i, j;
	char f[128];

	json_array_foreach(jget(o, "subsets"), i, s) {
		json_array_foreach(jget(s, "addresses"), j, x) {
			if (!json_string_value(jget(x, "ip"))) {
				snprintf(f, sizeof(f), "subsets[%zu].addresses[%zu].ip", i, j);
				verr_required(ve, f);
			}
		}
		json_array_foreach(jget(s, "ports"), j, x) {
			snprintf(f, sizeof(f), "subsets[%zu].ports[%zu].port", i, j);
			check_port(ve, jget(x, "port"), f, true);
		}
	}
}

static void ingress_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			     struct verr *ve)
{
	const json_t *spec = jget(o, "spec");
	json_t *r, *p;
	size_t i, j;
	char f[160];

	if (!json_is_object(spec)) {
		verr_required(ve, "spec");
		return;
	}
	if (!jget(spec, "defaultBackend") && json_array_size(jget(spec, "rules")) == 0)
		verr_add(ve, "FieldValueInvalid", "spec",
			 "Invalid value: either `defaultBackend` or `rules` must be specified");
	json_array_foreach(jget(spec, "rules"), i, r) {
		json_array_foreach(sel_lookup_path(r, "http.paths"), j, p) {
			const char *pt = json_string_value(jget(p, "pathType"));

			if (!pt) {
				snprintf(f, sizeof(f), "spec.rules[%zu].http.paths[%zu].pathType", i, j);
				verr_required(ve, f);
			} else if (strcmp(pt, "Exact") && strcmp(pt, "Prefix") &&
				   strcmp(pt, "ImplementationSpecific")) {
				snprintf(f, sizeof(f), "spec.rules[%zu].http.paths[%zu].pathType", i, j);
				verr_add(ve, "FieldValueNotSupported", f,
					 "Unsupported value: \"%s\": supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\"", pt);
			}
			if (!jget(p, "backend")) {
				snprintf(f, sizeof(f), "spec.rules[%zu].http.paths[%zu].backend", i, j);
				verr_required(ve, f);
			}
		}
	}
}

static void event_validate(const struct api_kind *k, const json_t *o, const json_t *old,
			   struct verr *ve)
{
	if (!json_is_object(jget(o, "involvedObject")))
		verr_required(ve, "involvedObject");
	const char *t = json_string_value(jget(o, "type"));
	if (t && strcmp(t, "Normal") && strcmp(t, "Warning"))
		verr_add(ve, "FieldValueNotSupported", "type",
			 "Unsupported value: \"%s\": supported values: \"Normal\", \"Warning\"", t);
}

/* ---- the table ---------------------------------------------------------- */

static const char *const svc_spec[] = {
	"ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs",
	"sessionAffinity", "loadBalancerIP", "loadBalancerSourceRanges", "externalName",
	"externalTrafficPolicy", "healthCheckNodePort", "publishNotReadyAddresses",
	"sessionAffinityConfig", "ipFamilies", "ipFamilyPolicy", "allocateLoadBalancerNodePorts",
	"loadBalancerClass", "internalTrafficPolicy", "trafficDistribution", NULL,
};
static const char *const deploy_spec[] = {
	"replicas", "selector", "template", "strategy", "minReadySeconds",
	"revisionHistoryLimit", "paused", "progressDeadlineSeconds", NULL,
};
static const char *const rs_spec[] = { "replicas", "minReadySeconds", "selector", "template", NULL };
static const char *const ds_spec[] = {
	"selector", "template", "updateStrategy", "minReadySeconds", "revisionHistoryLimit", NULL,
};
static const char *const np_spec[] = { "podSelector", "ingress", "egress", "policyTypes", NULL };
static const char *const ing_spec[] = { "ingressClassName", "defaultBackend", "tls", "rules", NULL };
static const char *const ingclass_spec[] = { "controller", "parameters", NULL };
static const char *const node_spec[] = {
	"podCIDR", "podCIDRs", "providerID", "unschedulable", "taints", "configSource",
	"externalID", NULL,
};
static const char *const ns_spec[] = { "finalizers", NULL };
static const char *const lease_spec[] = {
	"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime",
	"leaseTransitions", "strategy", "preferredHolder", NULL,
};

static const char *const top_data[] = { "data", "binaryData", "immutable", NULL };
static const char *const top_secret[] = { "data", "stringData", "type", "immutable", NULL };
static const char *const top_sa[] = { "secrets", "imagePullSecrets", "automountServiceAccountToken", NULL };
static const char *const top_ep[] = { "subsets", NULL };
static const char *const top_role[] = { "rules", NULL };
static const char *const top_crole[] = { "rules", "aggregationRule", NULL };
static const char *const top_binding[] = { "subjects", "roleRef", NULL };
static const char *const top_event[] = {
	"involvedObject", "reason", "message", "source", "firstTimestamp", "lastTimestamp",
	"count", "type", "eventTime", "series", "action", "related", "reportingComponent",
	"reportingInstance", NULL,
};

const struct api_kind reg_kinds[] = {
	{ "", "v1", "Namespace", "namespaces", "namespace", "ns", false, true, false,
	  NULL, namespace_defaults, ns_spec, NULL },
	{ "", "v1", "Pod", "pods", "pod", "po", true, true, false,
	  pod_validate, pod_defaults, pod_spec_fields, NULL },
	{ "", "v1", "Service", "services", "service", "svc", true, true, false,
	  service_validate, service_defaults, svc_spec, NULL },
	{ "", "v1", "Endpoints", "endpoints", "endpoints", "ep", true, false, false,
	  endpoints_validate, NULL, NULL, top_ep },
	{ "", "v1", "Node", "nodes", "node", "no", false, true, false,
	  NULL, node_defaults, node_spec, NULL },
	{ "", "v1", "ConfigMap", "configmaps", "configmap", "cm", true, false, false,
	  data_validate, NULL, NULL, top_data },
	{ "", "v1", "Secret", "secrets", "secret", NULL, true, false, false,
	  data_validate, secret_defaults, NULL, top_secret },
	{ "", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", "sa", true, false, false,
	  NULL, NULL, NULL, top_sa },
	{ "apps", "v1", "Deployment", "deployments", "deployment", "deploy", true, true, true,
	  deployment_validate, deployment_defaults, deploy_spec, NULL },
	{ "apps", "v1", "ReplicaSet", "replicasets", "replicaset", "rs", true, true, true,
	  replicaset_validate, replicaset_defaults, rs_spec, NULL },
	{ "apps", "v1", "DaemonSet", "daemonsets", "daemonset", "ds", true, true, false,
	  daemonset_validate, daemonset_defaults, ds_spec, NULL },
	{ "networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", "networkpolicy", "netpol",
	  true, false, false, netpol_validate, netpol_defaults, np_spec, NULL },
	{ "networking.k8s.io", "v1", "Ingress", "ingresses", "ingress", "ing", true, true, false,
	  ingress_validate, NULL, ing_spec, NULL },
	/* Cluster-scoped; the default class is the one annotated
	 * ingressclass.kubernetes.io/is-default-class: "true" (read by the
	 * ingress controllers, nothing to do here). */
	{ "networking.k8s.io", "v1", "IngressClass", "ingressclasses", "ingressclass", NULL,
	  false, false, false, NULL, NULL, ingclass_spec, NULL },
	{ "rbac.authorization.k8s.io", "v1", "Role", "roles", "role", NULL, true, false, false,
	  rbac_rules_validate, NULL, NULL, top_role },
	{ "rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", NULL,
	  true, false, false, binding_validate, NULL, NULL, top_binding },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", NULL,
	  false, false, false, rbac_rules_validate, NULL, NULL, top_crole },
	{ "rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings",
	  "clusterrolebinding", NULL, false, false, false, binding_validate, NULL, NULL, top_binding },
	{ "coordination.k8s.io", "v1", "Lease", "leases", "lease", NULL, true, false, false,
	  lease_validate, NULL, lease_spec, NULL },
	/* Events: what controllers and agents report; kubectl describe shows them. */
	{ "", "v1", "Event", "events", "event", "ev", true, false, false,
	  event_validate, NULL, NULL, top_event },
};
const size_t reg_n_kinds = sizeof(reg_kinds) / sizeof(reg_kinds[0]);

const struct api_kind *reg_find(const char *group, const char *version,
				const char *plural)
{
	for (size_t i = 0; i < reg_n_kinds; i++)
		if (!strcmp(reg_kinds[i].group, group) && !strcmp(reg_kinds[i].version, version) &&
		    !strcmp(reg_kinds[i].plural, plural))
			return &reg_kinds[i];
	return NULL;
}

const struct api_kind *reg_find_kind(const char *api_version, const char *kind)
{
	char buf[128];

	for (size_t i = 0; i < reg_n_kinds; i++) {
		reg_api_version(&reg_kinds[i], buf, sizeof(buf));
		if (!strcmp(buf, api_version) && !strcmp(reg_kinds[i].kind, kind))
			return &reg_kinds[i];
	}
	return NULL;
}

void reg_api_version(const struct api_kind *k, char *buf, size_t len)
{
	if (*k->group)
		snprintf(buf, len, "%s/%s", k->group, k->version);
	else
		snprintf(buf, len, "%s", k->version);
}

void reg_prefix(const struct api_kind *k, const char *ns, char *buf, size_t len)
{
	if (ns && *ns)
		snprintf(buf, len, "/registry/%s/%s/%s/", *k->group ? k->group : "core",
			 k->plural, ns);
	else
		snprintf(buf, len, "/registry/%s/%s/", *k->group ? k->group : "core", k->plural);
}

void reg_key(const struct api_kind *k, const char *ns, const char *name,
	     char *buf, size_t len)
{
	if (k->namespaced)
		snprintf(buf, len, "/registry/%s/%s/%s/%s", *k->group ? k->group : "core",
			 k->plural, ns ? ns : "", name);
	else
		snprintf(buf, len, "/registry/%s/%s/%s", *k->group ? k->group : "core",
			 k->plural, name);
}

const struct api_kind *reg_from_key(const char *key)
{
	char pfx[256];

	for (size_t i = 0; i < reg_n_kinds; i++) {
		reg_prefix(&reg_kinds[i], NULL, pfx, sizeof(pfx));
		if (!strncmp(key, pfx, strlen(pfx)))
			return &reg_kinds[i];
	}
	return NULL;
}

static const char *const top_common[] = { "apiVersion", "kind", "metadata", NULL };
static const char *const meta_fields[] = {
	"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion",
	"generation", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
	"labels", "annotations", "ownerReferences", "finalizers", "managedFields", NULL,
};

void reg_check_unknown(const struct api_kind *k, const json_t *obj, struct verr *ve)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		if (in_list(top_common, key) || in_list(k->top_fields, key))
			continue;
		if (k->spec_fields && (!strcmp(key, "spec") || !strcmp(key, "status")))
			continue;
		json_array_append_new(ve->unknown, json_string(key));
	}
	unknown_in(jget(obj, "metadata"), meta_fields, "metadata", ve);
	if (k->spec_fields && k->spec_fields != pod_spec_fields)
		unknown_in(jget(obj, "spec"), k->spec_fields, "spec", ve);
	if (k->spec_fields == pod_spec_fields)
		pod_spec_unknown(jget(obj, "spec"), "spec", ve);
	if (k->validate == deployment_validate || k->validate == replicaset_validate ||
	    k->validate == daemonset_validate)
		workload_unknown(obj, ve);
}
