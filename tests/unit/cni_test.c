/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for gannet-cni's pure parts (agent/cni/cni.c, agent/proto.c):
 * environment validation per command, network config validation with the
 * spec's error codes, versions, error JSON and host veth naming. */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/cni/cni.h"
#include "tests/unit/test.h"

/* Environment given as a NULL-terminated list of "NAME=value". */
static const char *tab_get(const char *name, void *arg)
{
	const char **kv = arg;
	size_t n = strlen(name);

	for (; *kv; kv++)
		if (!strncmp(*kv, name, n) && (*kv)[n] == '=')
			return *kv + n + 1;
	return NULL;
}

static int env_code(const char **kv)
{
	struct cni_env env;
	struct cni_err e = { 0 };

	cni_env_parse(&env, tab_get, kv, &e);
	return e.code;
}

static void t_env(void)
{
	const char *ok_add[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=abc-1.x_y",
				 "CNI_NETNS=/run/netns/p", "CNI_IFNAME=eth0", "CNI_PATH=/opt/cni/bin",
				 NULL };
	const char *none[] = { NULL };
	const char *unknown[] = { "CNI_COMMAND=FROB", NULL };
	const char *add_noid[] = { "CNI_COMMAND=ADD", "CNI_NETNS=/x", "CNI_IFNAME=eth0",
				   "CNI_PATH=/p", NULL };
	const char *add_nons[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
				   "CNI_PATH=/p", NULL };
	const char *add_noif[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x",
				   "CNI_PATH=/p", NULL };
	const char *add_nopath[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x",
				     "CNI_IFNAME=eth0", NULL };
	const char *add_badif[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x",
				    "CNI_IFNAME=eth0/1", "CNI_PATH=/p", NULL };
	const char *add_longif[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c", "CNI_NETNS=/x",
				     "CNI_IFNAME=abcdefghijklmnop", "CNI_PATH=/p", NULL };
	const char *add_badid[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=-bad", "CNI_NETNS=/x",
				    "CNI_IFNAME=eth0", "CNI_PATH=/p", NULL };
	const char *add_badid2[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=a b", "CNI_NETNS=/x",
				     "CNI_IFNAME=eth0", "CNI_PATH=/p", NULL };
	const char *del_nons[] = { "CNI_COMMAND=DEL", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
				   "CNI_PATH=/p", NULL };
	const char *check_nons[] = { "CNI_COMMAND=CHECK", "CNI_CONTAINERID=c", "CNI_IFNAME=eth0",
				     "CNI_PATH=/p", NULL };
	const char *version[] = { "CNI_COMMAND=VERSION", NULL };
	const char *status[] = { "CNI_COMMAND=STATUS", NULL };
	const char *gc_nopath[] = { "CNI_COMMAND=GC", NULL };
	const char *gc[] = { "CNI_COMMAND=GC", "CNI_PATH=/p", NULL };
	struct cni_env env;
	struct cni_err e = { 0 };

	CHECK_EQ(cni_env_parse(&env, tab_get, ok_add, &e), 0);
	CHECK_EQ(env.cmd, CNI_CMD_ADD);
	CHECK_STR(env.container_id, "abc-1.x_y");
	CHECK_STR(env.netns, "/run/netns/p");
	CHECK_EQ(env_code(none), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(unknown), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_noid), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_nons), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_noif), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_nopath), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_badif), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_longif), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_badid), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(add_badid2), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(del_nons), 0);          /* DEL without a netns is fine */
	CHECK_EQ(env_code(check_nons), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(version), 0);
	CHECK_EQ(env_code(status), 0);
	CHECK_EQ(env_code(gc_nopath), CNI_ERR_INVALID_ENV);
	CHECK_EQ(env_code(gc), 0);
	memset(&e, 0, sizeof(e));
	cni_env_parse(&env, tab_get, add_nons, &e);
	CHECK(strstr(e.msg, "CNI_NETNS") != NULL);
}

static int conf_code(const char *text, enum cni_cmd cmd)
{
	struct cni_netconf nc;
	struct cni_err e = { 0 };

	cni_netconf_parse(text, cmd, &nc, &e);
	cni_netconf_free(&nc);
	return e.code;
}

#define SOCK "\"agentSocket\":\"/run/gannet/n1/agent.sock\""

static void t_netconf(void)
{
	struct cni_netconf nc;
	struct cni_err e = { 0 };

	CHECK_EQ(cni_netconf_parse("{\"cniVersion\":\"1.0.0\",\"name\":\"gannet\","
				   "\"type\":\"gannet-cni\"," SOCK ",\"mtu\":1400}",
				   CNI_CMD_ADD, &nc, &e), 0);
	CHECK_STR(nc.cni_version, "1.0.0");
	CHECK_STR(nc.name, "gannet");
	CHECK_STR(nc.agent_socket, "/run/gannet/n1/agent.sock");
	CHECK_EQ(nc.mtu, 1400);
	CHECK(nc.prev_result == NULL);
	cni_netconf_free(&nc);

	/* inside a conflist: prevResult from the previous plugin */
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.1.0\",\"name\":\"g\"," SOCK
			   ",\"prevResult\":{\"ips\":[]}}", CNI_CMD_CHECK), 0);
	CHECK_EQ(conf_code("{\"cniVersion\":\"0.3.1\",\"name\":\"g\"," SOCK "}", CNI_CMD_ADD), 0);

	CHECK_EQ(conf_code("", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_EQ(conf_code("{\"cniVersion\":", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_EQ(conf_code("[1,2]", CNI_CMD_ADD), CNI_ERR_DECODE);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"cniVersion\":\"1.0.0\"}", CNI_CMD_ADD),
		 CNI_ERR_DECODE);
	CHECK_EQ(conf_code("{\"cniVersion\":\"9.9.9\",\"name\":\"g\"," SOCK "}", CNI_CMD_ADD),
		 CNI_ERR_INCOMPATIBLE_VERSION);
	CHECK_EQ(conf_code("{\"cniVersion\":\"0.2.0\",\"name\":\"g\"," SOCK "}", CNI_CMD_DEL),
		 CNI_ERR_INCOMPATIBLE_VERSION);
	CHECK_EQ(conf_code("{\"name\":\"g\"," SOCK "}", CNI_CMD_ADD), CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":1,\"name\":\"g\"," SOCK "}", CNI_CMD_ADD),
		 CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\"," SOCK "}", CNI_CMD_ADD),
		 CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"}", CNI_CMD_ADD),
		 CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"g\",\"agentSocket\":\"rel.sock\"}",
			   CNI_CMD_ADD), CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"," SOCK ",\"mtu\":\"big\"}",
			   CNI_CMD_ADD), CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"," SOCK ",\"mtu\":70000}",
			   CNI_CMD_ADD), CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"," SOCK ",\"prevResult\":3}",
			   CNI_CMD_ADD), CNI_ERR_INVALID_CONFIG);
	/* CHECK exists from 0.4.0 on, GC and STATUS from 1.1.0 on */
	CHECK_EQ(conf_code("{\"cniVersion\":\"0.3.1\",\"name\":\"g\"," SOCK "}", CNI_CMD_CHECK),
		 CNI_ERR_INCOMPATIBLE_VERSION);
	CHECK_EQ(conf_code("{\"cniVersion\":\"0.4.0\",\"name\":\"g\"," SOCK "}", CNI_CMD_CHECK), 0);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"," SOCK "}", CNI_CMD_STATUS),
		 CNI_ERR_INCOMPATIBLE_VERSION);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.1.0\",\"name\":\"g\"," SOCK "}", CNI_CMD_STATUS), 0);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.1.0\",\"name\":\"g\"," SOCK "}", CNI_CMD_GC),
		 CNI_ERR_INVALID_CONFIG);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.1.0\",\"name\":\"g\"," SOCK
			   ",\"cni.dev/valid-attachments\":[{\"containerID\":\"c\",\"ifname\":\"eth0\"}]}",
			   CNI_CMD_GC), 0);
	CHECK_EQ(conf_code("{\"cniVersion\":\"1.1.0\",\"name\":\"g\"," SOCK
			   ",\"cni.dev/valid-attachments\":[{\"containerID\":\"c\"}]}",
			   CNI_CMD_GC), CNI_ERR_INVALID_CONFIG);
}

static void t_versions(void)
{
	CHECK(cni_version_cmp("1.0.0", "1.1.0") < 0);
	CHECK(cni_version_cmp("1.1.0", "1.1.0") == 0);
	CHECK(cni_version_cmp("0.4.0", "0.3.1") > 0);
	CHECK(cni_version_cmp("1.10.0", "1.9.0") > 0);
	CHECK(cni_version_cmp("bogus", "0.1.0") < 0);
	CHECK(cni_version_supported("1.0.0"));
	CHECK(cni_version_supported("1.1.0"));
	CHECK(cni_version_supported("0.4.0"));
	CHECK(!cni_version_supported("1.2.0"));
	CHECK(!cni_version_supported("1.0"));
}

static void t_json_out(void)
{
	struct cni_err e = { 0 };
	json_t *o;
	char *s;

	cni_set_err(&e, CNI_ERR_TRY_AGAIN, "sock", "agent down %d", 7);
	cni_set_err(&e, 5, NULL, "second error is ignored");
	s = cni_err_json(&e, "1.0.0");
	o = json_loads(s, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(o, "cniVersion")), "1.0.0");
	CHECK_EQ(json_integer_value(json_object_get(o, "code")), 11);
	CHECK_STR(json_string_value(json_object_get(o, "msg")), "agent down 7");
	CHECK_STR(json_string_value(json_object_get(o, "details")), "sock");
	json_decref(o);
	free(s);

	s = cni_version_json("1.0.0");
	o = json_loads(s, 0, NULL);
	CHECK_STR(json_string_value(json_object_get(o, "cniVersion")), "1.0.0");
	CHECK_EQ(json_array_size(json_object_get(o, "supportedVersions")), 5);
	CHECK_STR(json_string_value(json_array_get(json_object_get(o, "supportedVersions"), 4)),
		  "1.1.0");
	json_decref(o);
	free(s);
	s = cni_version_json(NULL);
	CHECK(strstr(s, "\"cniVersion\": \"1.1.0\"") != NULL);
	free(s);
}

static void t_host_ifname(void)
{
	char a[16], b[16], c[16];

	proto_host_ifname("c1", "eth0", a);
	proto_host_ifname("c1", "eth0", b);
	proto_host_ifname("c1", "eth1", c);
	CHECK_EQ(strlen(a), 14);
	CHECK(!strncmp(a, "gnt", 3));
	CHECK_EQ(strspn(a + 3, "0123456789abcdef"), 11);
	CHECK_STR(a, b);
	CHECK(strcmp(a, c) != 0);
	/* sha256("c1eth0") starts with 63877c11219... */
	CHECK_STR(a, "gnt63877c11219");
}

static void t_request(void)
{
	const char *kv[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c1", "CNI_NETNS=/run/netns/p",
			     "CNI_IFNAME=eth0", "CNI_PATH=/p", NULL };
	struct cni_env env;
	struct cni_netconf nc;
	struct cni_err e = { 0 };
	json_t *r;

	cni_env_parse(&env, tab_get, kv, &e);
	cni_netconf_parse("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"," SOCK ",\"mtu\":1400}",
			  CNI_CMD_ADD, &nc, &e);
	r = cni_request(&env, &nc);
	CHECK_STR(json_string_value(json_object_get(r, "command")), "ADD");
	CHECK_STR(json_string_value(json_object_get(r, "containerID")), "c1");
	CHECK_STR(json_string_value(json_object_get(r, "ifName")), "eth0");
	CHECK_STR(json_string_value(json_object_get(r, "netns")), "/run/netns/p");
	CHECK_STR(json_string_value(json_object_get(r, "cniVersion")), "1.0.0");
	CHECK_EQ(json_integer_value(json_object_get(r, "mtu")), 1400);
	CHECK(json_object_get(r, "args") == NULL);   /* no CNI_ARGS */
	json_decref(r);
	cni_netconf_free(&nc);
	/* CNI_ARGS reaches the agent (it polices the pod they name) */
	{
		const char *kv2[] = { "CNI_COMMAND=ADD", "CNI_CONTAINERID=c1",
				      "CNI_NETNS=/run/netns/p", "CNI_IFNAME=eth0", "CNI_PATH=/p",
				      "CNI_ARGS=K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-1", NULL };

		cni_env_parse(&env, tab_get, kv2, &e);
		cni_netconf_parse("{\"cniVersion\":\"1.0.0\",\"name\":\"g\"," SOCK "}",
				  CNI_CMD_ADD, &nc, &e);
		r = cni_request(&env, &nc);
		CHECK_STR(json_string_value(json_object_get(r, "args")),
			  "K8S_POD_NAMESPACE=prod;K8S_POD_NAME=web-1");
		json_decref(r);
		cni_netconf_free(&nc);
	}
}

/* Framing: a message larger than one socket buffer, with an fd attached,
 * arrives whole and with the fd. */
static void t_proto_fd(void)
{
	enum { LEN = 300000 };
	char *msg = malloc(LEN + 1), *got;
	int sv[2], fd, rfd = -1, err = 0;
	struct stat a, b;
	pid_t pid;

	memset(msg, 'x', LEN);
	msg[LEN] = 0;
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fd = open("/dev/null", O_RDONLY);
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		_exit(proto_send(sv[1], msg, LEN, fd) || shutdown(sv[1], SHUT_WR) ? 1 : 0);
	}
	close(sv[1]);
	got = proto_recv(sv[0], &rfd, &err);
	CHECK(got != NULL);
	CHECK_EQ(got ? strlen(got) : 0, LEN);
	CHECK(rfd >= 0);
	if (rfd >= 0) {
		fstat(fd, &a);
		fstat(rfd, &b);
		CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		close(rfd);
	}
	waitpid(pid, NULL, 0);
	close(sv[0]);
	close(fd);
	free(got);
	free(msg);
}

TEST_MAIN(T(t_proto_fd), T(t_env), T(t_netconf), T(t_versions), T(t_json_out), T(t_host_ifname), T(t_request))
