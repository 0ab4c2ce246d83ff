/* SPDX-License-Identifier: Apache-2.0 */
/* Name checks shared by every component that turns API names into DNS
 * names, file names or config tokens (cluster DNS, Ingress hosts, tokens):
 * one RFC 1123 implementation instead of one per component. */
#ifndef GANNET_COMMON_NAMES_H
#define GANNET_COMMON_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, 1 to 63 characters.
 * NULL is not a label. */
bool name_dns1123_label(const char *s);
/* RFC 1123 subdomain: labels joined by single dots, at most 253
 * characters; every label is a label above (at most 63, as a real DNS name
 * needs; Kubernetes' own check bounds the total only). */
bool name_dns1123_subdomain(const char *s);
/* The same for the n characters at s (a name inside a longer string). */
bool name_dns1123_subdomain_n(const char *s, size_t n);
/* Kubernetes' IsDNS1123Subdomain: the same syntax and 253 total, but a
 * label may be longer than 63 (a ConfigMap may be named with 100 characters
 * and no dot). For API object names and label-key prefixes, which the API
 * must accept as Kubernetes does and which never become DNS names as
 * they are. */
bool name_k8s_subdomain(const char *s);
bool name_k8s_subdomain_n(const char *s, size_t n);

#endif
