// SPDX-License-Identifier: Apache-2.0
/* Pod volume helpers: emptyDir (a directory, or a tmpfs for medium Memory),
 * ConfigMap/Secret (key -> file, written atomically into a per-pod
 * directory that is bind-mounted read-only), hostPath (type checks). All
 * pod volumes live under <pod_dir>/volumes so one cleanup removes them. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/runtime/internal.h"
#include "agent/runtime/runtime.h"

static bool valid_name(const char *n)
{
	return n && *n && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..") && strlen(n) < 254;
}

int rt_vol_empty_dir(const char *pod_dir, const char *name, bool medium_memory,
		     int64_t size_limit, char *path, size_t len, struct gerr *e)
{
	int rc;

	if (!valid_name(name))
		return gerr_set(e, -EINVAL, "invalid volume name \"%s\"", name ? name : "");
	snprintf(path, len, "%s/volumes/empty-dir/%s", pod_dir, name);
	rc = fu_mkdir_p(path, 0777);
	if (rc)
		return gerr_set(e, rc, "emptyDir %s: %s", path, strerror(-rc));
	/* World-writable like the kubelet's, so non-root containers can use it. */
	chmod(path, 0777);
	if (medium_memory) {
		char opts[64];
		struct stat a, b;
		char parent[4200];
		snprintf(parent, sizeof(parent), "%s/..", path);
		if (stat(path, &a) == 0 && stat(parent, &b) == 0 && a.st_dev != b.st_dev)
			return 0;   /* already mounted (agent restart) */
		if (size_limit > 0)
			snprintf(opts, sizeof(opts), "mode=1777,size=%lld", (long long)size_limit);
		else
			snprintf(opts, sizeof(opts), "mode=1777");
		if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts))
			return gerr_set(e, -errno, "emptyDir %s: tmpfs: %s", name, strerror(errno));
	}
	return 0;
}

int rt_vol_files(const char *pod_dir, const char *kind, const char *name,
		 const struct rt_kv *items, const size_t *vlens, size_t n, mode_t mode,
		 char *path, size_t len, struct gerr *e)
{
	int rc;

	if (!valid_name(kind) || !valid_name(name))
		return gerr_set(e, -EINVAL, "invalid volume kind/name");
	snprintf(path, len, "%s/volumes/%s/%s", pod_dir, kind, name);
	rc = fu_mkdir_p(path, 0755);
	if (rc)
		return gerr_set(e, rc, "volume %s: %s", path, strerror(-rc));
	for (size_t i = 0; i < n; i++) {
		char p[4600];
		const char *k = items[i].name;
		/* Keys may contain '/' for items[].path; reject escapes. */
		if (!k || !*k || k[0] == '/' || strstr(k, ".."))
			return gerr_set(e, -EINVAL, "invalid key \"%s\" in %s %s", k ? k : "", kind, name);
		snprintf(p, sizeof(p), "%s/%s", path, k);
		char *slash = strrchr(p, '/');
		*slash = '\0';
		fu_mkdir_p(p, 0755);
		*slash = '/';
		const char *v = items[i].value ? items[i].value : "";
		rc = fu_write_atomic(p, v, vlens ? vlens[i] : strlen(v), mode, FU_FSYNC);
		if (rc)
			return gerr_set(e, rc, "writing %s: %s", p, strerror(-rc));
	}
	/* Drop keys that disappeared from the object (top level only). */
	DIR *d = opendir(path);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		bool keep = de->d_name[0] == '.';
		for (size_t i = 0; i < n && !keep; i++) {
			size_t l = strlen(de->d_name);
			keep = !strncmp(items[i].name, de->d_name, l) &&
			       (items[i].name[l] == '\0' || items[i].name[l] == '/');
		}
		if (!keep) {
			char p[4600];
			snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
			rtu_rm_rf(p);
		}
	}
	if (d)
		closedir(d);
	return 0;
}

int rt_vol_host_path(const char *host_path, const char *type, char *path, size_t len,
		     struct gerr *e)
{
	struct stat st;
	bool exists;

	if (!host_path || host_path[0] != '/')
		return gerr_set(e, -EINVAL, "hostPath \"%s\" is not absolute", host_path ? host_path : "");
	if (!type)
		type = "";
	exists = stat(host_path, &st) == 0;
	if (!strcmp(type, "DirectoryOrCreate") && !exists) {
		int rc = fu_mkdir_p(host_path, 0755);
		if (rc)
			return gerr_set(e, rc, "hostPath %s: %s", host_path, strerror(-rc));
		exists = stat(host_path, &st) == 0;
	} else if (!strcmp(type, "FileOrCreate") && !exists) {
		FILE *f = fopen(host_path, "a");
		if (!f)
			return gerr_set(e, -errno, "hostPath %s: %s", host_path, strerror(errno));
		fclose(f);
		exists = stat(host_path, &st) == 0;
	}
	if (*type && !exists)
		return gerr_set(e, -ENOENT, "hostPath type check failed: %s does not exist", host_path);
	if ((!strcmp(type, "Directory") || !strcmp(type, "DirectoryOrCreate")) && !S_ISDIR(st.st_mode))
		return gerr_set(e, -ENOTDIR, "hostPath type check failed: %s is not a directory", host_path);
	if ((!strcmp(type, "File") || !strcmp(type, "FileOrCreate")) && !S_ISREG(st.st_mode))
		return gerr_set(e, -EINVAL, "hostPath type check failed: %s is not a file", host_path);
	if (!strcmp(type, "Socket") && !S_ISSOCK(st.st_mode))
		return gerr_set(e, -EINVAL, "hostPath type check failed: %s is not a socket", host_path);
	if (!exists) {
		/* Type "" (no check): Kubernetes creates nothing; runc would
		 * fail on a missing bind source, so create the directory as
		 * docker did. */
		int rc = fu_mkdir_p(host_path, 0755);
		if (rc)
			return gerr_set(e, rc, "hostPath %s: %s", host_path, strerror(-rc));
	}
	snprintf(path, len, "%s", host_path);
	return 0;
}

int rt_vol_pod_etc(const char *pod_dir, const char *hostname, const char *pod_ip,
		   const char *const *nameservers, const char *const *searches, int ndots,
		   struct gerr *e)
{
	char dir[4200], p[4300], *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if (!hostname || !*hostname || strchr(hostname, '\n') || strchr(hostname, ' '))
		return gerr_set(e, -EINVAL, "invalid hostname");
	snprintf(dir, sizeof(dir), "%s/etc", pod_dir);
	rc = fu_mkdir_p(dir, 0755);
	if (rc)
		return gerr_set(e, rc, "%s: %s", dir, strerror(-rc));

	/* hosts: what the kubelet writes for a pod without hostAliases. */
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "# Kubernetes-managed hosts file (gannet).\n127.0.0.1\tlocalhost\n"
		"::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
		"fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
	if (pod_ip && *pod_ip)
		fprintf(f, "%s\t%s\n", pod_ip, hostname);
	fclose(f);
	snprintf(p, sizeof(p), "%s/hosts", dir);
	rc = fu_write_atomic(p, buf, len, 0644, FU_FSYNC);
	free(buf);
	buf = NULL;
	if (rc)
		return gerr_set(e, rc, "%s: %s", p, strerror(-rc));

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	if (searches && *searches) {
		fprintf(f, "search");
		for (const char *const *s = searches; *s; s++)
			fprintf(f, " %s", *s);
		fprintf(f, "\n");
	}
	for (const char *const *n = nameservers; n && *n; n++)
		fprintf(f, "nameserver %s\n", *n);
	if (ndots > 0)
		fprintf(f, "options ndots:%d\n", ndots);
	fclose(f);
	snprintf(p, sizeof(p), "%s/resolv.conf", dir);
	rc = fu_write_atomic(p, buf, len, 0644, FU_FSYNC);
	free(buf);
	buf = NULL;
	if (rc)
		return gerr_set(e, rc, "%s: %s", p, strerror(-rc));

	char hn[300];
	int n = snprintf(hn, sizeof(hn), "%s\n", hostname);
	snprintf(p, sizeof(p), "%s/hostname", dir);
	rc = fu_write_atomic(p, hn, (size_t)n, 0644, FU_FSYNC);
	if (rc)
		return gerr_set(e, rc, "%s: %s", p, strerror(-rc));
	return 0;
}

int rt_vol_cleanup(const char *pod_dir, struct gerr *e)
{
	char p[4200];
	DIR *d;
	struct dirent *de;

	snprintf(p, sizeof(p), "%s/volumes/empty-dir", pod_dir);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		char m[4600];
		if (de->d_name[0] == '.')
			continue;
		snprintf(m, sizeof(m), "%s/%s", p, de->d_name);
		umount2(m, MNT_DETACH);   /* tmpfs ones; EINVAL for plain dirs */
	}
	if (d)
		closedir(d);
	snprintf(p, sizeof(p), "%s/etc", pod_dir);
	rtu_rm_rf(p);
	snprintf(p, sizeof(p), "%s/volumes", pod_dir);
	int rc = rtu_rm_rf(p);
	if (rc)
		return gerr_set(e, rc, "removing %s: %s", p, strerror(-rc));
	return 0;
}
