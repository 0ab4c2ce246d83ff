#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Container runtime integration (root, real runc): busybox containers in a
# throwaway pod network namespace through the gannet-runtime CLI (one fresh
# runtime handle per command, so every step after `run` also exercises
# adoption of containers created by another process). Checks: logs and exit
# codes, securityContext (runAsUser 1000 + readOnlyRootFilesystem + no_new_
# privs + capabilities), cgroup limits, SIGTERM -> SIGKILL after the grace
# period, exec, exec/tcpSocket/httpGet probes, bad input (unknown image,
# bad command, impossible resources) leaving nothing behind, OCI layout and
# tarball imports (layers, whiteouts, image config), volumes, log follow.
# Everything (containers, mounts, netns, cgroups, dirs) is removed at exit.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$PWD/$BUILD/bin/gannet-runtime

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
command -v runc >/dev/null || skip "runc not installed"
[ -x /bin/busybox ] || skip "busybox-static not installed"
[ -x "$BIN" ] || { echo "missing $BIN (run make)"; exit 1; }
grep -qw overlay /proc/filesystems || skip "no overlayfs"

T=$(mktemp -d /tmp/gnt-rt-$$-XXXX)
S=$T/node1
CG=gannet-test-rt-$$
NS=gnt-rt-$$-a
NS2=gnt-rt-$$-b
R() { "$BIN" --state "$S" --cgroup-parent "$CG/node1" "$@"; }

cleanup() {
	set +e
	for id in $(R list 2>/dev/null); do R rm "$id" >/dev/null 2>&1; done
	# Anything still mounted below our dir (a failed rm) goes first.
	grep " $T/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do
		umount -l "$m"
	done
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS2" 2>/dev/null
	for d in $(find /sys/fs/cgroup -maxdepth 5 -type d -name "$CG" 2>/dev/null); do
		find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap "exit 130" INT TERM HUP

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
has() { grep -q -- "$1" <<<"$2"; }       # has PATTERN TEXT
hasnt() { ! grep -q -- "$1" <<<"$2"; }
jq_s() { jq -r "$1"; }
ncontainers() { ls "$S/containers" 2>/dev/null | wc -l; }

ip netns add "$NS"
ip netns add "$NS2"
nsenter --net=/run/netns/$NS ip link set lo up
nsenter --net=/run/netns/$NS2 ip link set lo up
NSP=/run/netns/$NS

# ---- image store ----------------------------------------------------------
check "busybox image created from /bin/busybox" bash -c "$(declare -f R); BIN=$BIN S=$S CG=$CG; R image list | grep -qx busybox:latest"

# ---- output in the log, exit code -----------------------------------------
id=$(R run --name echo --netns "$NSP" busybox -- sh -c 'echo hello-out; echo hello-err >&2; exit 3')
st=$(R wait "$id" 10000)
check "exit code 3 captured" [ "$(echo "$st" | jq_s .exitCode)" = 3 ]
check "reason Error" [ "$(echo "$st" | jq_s .reason)" = Error ]
check "finishedAt set" [ -n "$(echo "$st" | jq_s .finishedAt)" ]
logs=$(R logs "$id")
check "stdout in log" grep -qx hello-out <<<"$logs"
check "stderr in log" grep -qx hello-err <<<"$logs"
check "stderr stream filter" [ "$(R logs --stderr "$id")" = hello-err ]
check "timestamps in log file (CRI format)" \
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z stdout F hello-out$' "$S/containers/$id/container.log"
R rm "$id"
check "rm removed the bundle" [ ! -e "$S/containers/$id" ]
check "rm unmounted the rootfs" bash -c "! grep -q '$S/containers/$id' /proc/mounts"

id=$(R run --netns "$NSP" busybox -- true)
check "exit code 0 -> Completed" [ "$(R wait "$id" 10000 | jq_s .reason)" = Completed ]
R rm "$id"

# ---- command, env, workingDir, hostname, fixed ids -------------------------
id=$(R run --id web-0.app --netns "$NSP" --env GREETING=hi --env "SPACED=a b" --workdir /tmp \
	--hostname web-0 busybox -- sh -c 'echo "$GREETING|$SPACED|$(pwd)|$(hostname)"; sleep 30')
check "fixed container id used" [ "$id" = web-0.app ]
sleep 0.3
check "env, workingDir, hostname applied" [ "$(R logs "$id")" = "hi|a b|/tmp|web-0" ]
err=$(R run --id web-0.app --netns "$NSP" busybox -- true 2>&1)
check "duplicate id refused" grep -q "already exists" <<<"$err"
check "duplicate id left the first container alone" [ "$(R status web-0.app | jq_s .state)" = running ]
err=$(R run --id "../evil" --netns "$NSP" busybox -- true 2>&1)
check "invalid id refused" grep -q "invalid container id" <<<"$err"
R rm "$id"

# ---- parallel starts (the agent starts pods concurrently) -----------------
for i in 1 2 3 4 5 6; do
	R run --id par-$i --netns "$NSP" busybox -- sleep 30 >"$T/par-$i.out" 2>&1 &
done
wait
check "6 parallel runs all running" [ "$(R list -v | grep '"id":"par-' | grep -c '"state":"running"')" = 6 ]
for i in 1 2 3 4 5 6; do R rm par-$i & done
wait
check "6 parallel removes" [ "$(ncontainers)" = 0 ]

# ---- tty containers and the two-step create/start -------------------------
id=$(R run --tty --netns "$NSP" busybox -- sh -c 'tty; [ -t 1 ] && echo is-a-tty')
R wait "$id" 10000 >/dev/null
check "tty: process.terminal on a pty, output logged" \
	[ "$(R logs "$id" | tr '\n' ' ')" = "/dev/pts/0 is-a-tty " ]
R rm "$id"
id=$(R run --no-start --tty --netns "$NSP" busybox -- sh -c 'echo started-later; sleep 30')
check "create without start: state created" [ "$(R status "$id" | jq_s .state)" = created ]
check "nothing ran before start" [ -z "$(R logs "$id")" ]
R start "$id"
sleep 0.3
check "start: running and logging" bash -c "[ \"\$($BIN --state $S status $id | jq -r .state)\" = running ] && [ \"\$($BIN --state $S logs $id)\" = started-later ]"
check "exec in a tty container" [ "$(R exec "$id" -- echo exec-in-tty)" = exec-in-tty ]
R stop "$id" 1
check "tty container stopped" [ "$(R status "$id" | jq_s .state)" = exited ]
R rm "$id"
id=$(R run --no-start --netns "$NSP" busybox -- true)
R stop "$id" 5
check "stopping a never-started container" [ "$(R status "$id" | jq_s .state)" = exited ]
R rm "$id"

# ---- securityContext ------------------------------------------------------
id=$(R run --netns "$NSP" --user 1000 --read-only --no-new-privs --cap-drop ALL busybox -- \
	sh -c 'id -u; if echo x > /probe-file; then echo WROTE-ROOT; else echo ROOT-RO; fi;
	       grep -E "^(NoNewPrivs|CapBnd)" /proc/self/status; echo x > /tmp/t 2>/dev/null || echo TMP-RO')
R wait "$id" 10000 >/dev/null
logs=$(R logs "$id")
check "runAsUser 1000: id -u prints 1000" grep -qx 1000 <<<"$logs"
check "readOnlyRootFilesystem: writing / fails" grep -qx ROOT-RO <<<"$logs"
check "readOnlyRootFilesystem: nothing written" hasnt WROTE-ROOT "$logs"
check "allowPrivilegeEscalation=false -> no_new_privs" grep -Eq '^NoNewPrivs:\s+1$' <<<"$logs"
check "capabilities drop ALL" grep -Eq '^CapBnd:\s+0+$' <<<"$logs"
check "upper dir untouched by the read-only container" [ -z "$(ls -A "$S/containers/$id/upper")" ]
R rm "$id"

# Default: root with the default capability set, writable root fs that
# does not touch the image.
id=$(R run --netns "$NSP" busybox -- sh -c 'id -u; echo data > /written && cat /written')
R wait "$id" 10000 >/dev/null
check "default user root, root fs writable" [ "$(R logs "$id" | tr '\n' ' ')" = "0 data " ]
check "write landed in the container's upper dir" [ -f "$S/containers/$id/upper/written" ]
check "image rootfs untouched" [ ! -e "$S/images/busybox_3Alatest/rootfs/written" ]
R rm "$id"

# ---- resources: cgroup limits ---------------------------------------------
id=$(R run --netns "$NSP" --memory 64Mi --cpu 500m --pids 50 busybox -- sleep 30)
pid=$(R status "$id" | jq_s .pid)
memcg=$(awk -F: '$2=="memory"{print $3}' /proc/$pid/cgroup)
cpucg=$(awk -F: '$2=="cpu"||$2=="cpu,cpuacct"{print $3}' /proc/$pid/cgroup)
if [ -n "$memcg" ]; then
	check "memory limit in cgroup v1" [ "$(cat /sys/fs/cgroup/memory$memcg/memory.limit_in_bytes)" = 67108864 ]
	check "cgroup under the runtime's parent" grep -q "$CG/node1/$id" <<<"$memcg"
	cpudir=/sys/fs/cgroup/cpu$cpucg
	[ -d "$cpudir" ] || cpudir=/sys/fs/cgroup/cpu,cpuacct$cpucg
	check "cpu quota 500m" [ "$(cat "$cpudir/cpu.cfs_quota_us")" = 50000 ]
else
	cg2=$(awk -F: '$1=="0"{print $3}' /proc/$pid/cgroup)
	check "memory.max in cgroup v2" [ "$(cat /sys/fs/cgroup$cg2/memory.max)" = 67108864 ]
fi
st=$(R stats "$id")
echo "info: stats $st"
check "stats: memory limit and pids" [ "$(echo "$st" | jq -r '"\(.memoryLimitBytes) \(.pids)"')" = "67108864 1" ]
check "stats: cpu and memory usage" [ "$(echo "$st" | jq -r '.cpuUsageNs > 0 and .memoryUsageBytes > 0')" = true ]
R rm "$id"
check "container cgroup removed" bash -c "[ -z \"$memcg\" ] || [ ! -d /sys/fs/cgroup/memory$memcg ]"

# OOM: allocating past the limit is reported as OOMKilled.
id=$(R run --netns "$NSP" --memory 16Mi busybox -- sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived')
st=$(R wait "$id" 20000)
check "memory limit enforced: OOMKilled" [ "$(echo "$st" | jq_s .reason)" = OOMKilled ]
R rm "$id"

# ---- graceful stop --------------------------------------------------------
id=$(R run --netns "$NSP" busybox -- sh -c 'trap "echo got-term; exit 0" TERM; while :; do sleep 0.1; done')
sleep 0.3
t0=$(date +%s%N); R stop "$id" 10; t1=$(date +%s%N)
st=$(R status "$id")
check "SIGTERM handled: exit 0" [ "$(echo "$st" | jq_s .exitCode)" = 0 ]
check "SIGTERM handled quickly" [ $(( (t1 - t0) / 1000000 )) -lt 3000 ]
check "SIGTERM handler output logged" grep -qx got-term <<<"$(R logs "$id")"
R rm "$id"

id=$(R run --netns "$NSP" busybox -- sh -c 'trap "" TERM; while :; do sleep 0.1; done')
sleep 0.3
t0=$(date +%s%N); R stop "$id" 2; t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
st=$(R status "$id")
check "TERM ignored -> SIGKILL after grace (137)" [ "$(echo "$st" | jq_s .exitCode)" = 137 ]
check "signal 9 recorded" [ "$(echo "$st" | jq_s .signal)" = 9 ]
check "waited the 2 s grace period ($ms ms)" [ "$ms" -ge 1900 ] && [ "$ms" -lt 8000 ]
R rm "$id"

# ---- long-running container: exec, probes, adoption -----------------------
id=$(R run --name web --pod default/web-0/uid-1234 --netns "$NSP" busybox -- sh -c \
	'mkdir -p /www; echo hi > /www/index.html; httpd -p 8080 -h /www; nc -ll -p 9090 -e cat & while :; do sleep 1; done')
sleep 0.5
check "status running (fresh handle adopts it)" [ "$(R status "$id" | jq_s .state)" = running ]
st=$(R status "$id")
check "status carries pod identity for adoption" [ "$(echo "$st" | jq -r '.podNamespace+"/"+.podName+"/"+.podUID+"/"+.name+"/"+.image')" = default/web-0/uid-1234/web/busybox:latest ]
check "list shows it" bash -c "$(declare -f R); BIN=$BIN S=$S CG=$CG; R list | grep -qx $id"
out=$(R exec "$id" -- sh -c 'echo exec-ok; id -u')
check "exec returns output" [ "$(echo "$out" | tr '\n' ' ')" = "exec-ok 0 " ]
R exec "$id" -- sh -c 'exit 7'
check "exec returns the exit code" [ $? = 7 ]
out=$(echo streamed-in | R exec -i "$id" -- sh -c 'cat; exit 4')
check "exec -i streams stdin and returns the exit code" [ "$out:$?" = streamed-in:4 ]
out=$(echo 'tty; exit 5' | timeout 10 "$BIN" --state "$S" exec -t "$id" -- sh | tr -d '\r')
check "exec -t runs on a pty" grep -q '^/dev/pts/' <<<"$out"
check "exec sees the container fs" [ "$(R exec "$id" -- cat /www/index.html)" = hi ]

probe() { R probe "$@" >/dev/null 2>&1; }
check "tcpSocket probe succeeds (open port)" probe --netns "$NSP" --tcp 127.0.0.1:9090
check "tcpSocket probe fails (closed port)" bash -c "! $BIN --state $S probe --netns $NSP --tcp 127.0.0.1:9091"
check "tcpSocket probe fails from another netns" bash -c "! $BIN --state $S probe --netns /run/netns/$NS2 --tcp 127.0.0.1:9090"
check "httpGet probe succeeds (200)" probe --netns "$NSP" --http 127.0.0.1:8080/index.html
msg=$(R probe --netns "$NSP" --http 127.0.0.1:8080/missing)
check "httpGet probe fails (404) with status in message" grep -q "statuscode: 404" <<<"$msg"
check "httpGet probe fails (refused)" bash -c "! $BIN --state $S probe --netns $NSP --http 127.0.0.1:8081/"
check "exec probe succeeds" probe --id "$id" --exec -- test -f /www/index.html
check "exec probe fails" bash -c "! $BIN --state $S probe --id $id --exec -- test -f /nope"
t0=$(date +%s%N)
msg=$(R probe --id "$id" --timeout 1 --exec -- sleep 10)
t1=$(date +%s%N)
check "exec probe timeout reported" grep -q "timed out" <<<"$msg"
check "exec probe timeout bounded" [ $(( (t1 - t0) / 1000000 )) -lt 4000 ]
check "timed-out probe process killed in the container" bash -c \
	"! $BIN --state $S exec $id -- ps | grep -q 'sleep 10'"

# The shim outlives the process that created the container: exit status is
# recorded when it dies under a runtime handle that did not create it.
pid=$(R status "$id" | jq_s .pid)
kill -9 "$pid"
st=$(R wait "$id" 10000)
check "adopted container's exit recorded by its shim" [ "$(echo "$st" | jq_s .exitCode)" = 137 ]
R rm "$id"

# ---- bad input ------------------------------------------------------------
before=$(ncontainers)
err=$(R run --netns "$NSP" nosuchimage:1.0 -- true 2>&1)
check "unknown image -> error" [ $? != 0 ]
check "unknown image -> clear message" grep -q 'image "nosuchimage:1.0" not found' <<<"$err"
check "unknown image -> nothing left behind" [ "$(ncontainers)" = "$before" ]
err=$(R run --netns "$NSP" busybox -- /no/such/binary 2>&1)
check "bad command -> error" [ $? != 0 ]
check "bad command -> clear message" grep -qi 'no such file\|not found' <<<"$err"
check "bad command -> nothing left behind" [ "$(ncontainers)" = "$before" ]
err=$(R run --netns "$NSP" busybox -- nosuchcmd 2>&1)
check "bad command in PATH -> clear message" grep -q 'executable file not found' <<<"$err"
err=$(R run --netns "$NSP" --memory 1Ki busybox -- true 2>&1)
check "impossible memory limit -> clear message" grep -q 'below the minimum' <<<"$err"
err=$(R run --netns "$NSP" --cap-add NET_WIZARDRY busybox -- true 2>&1)
check "unknown capability -> clear message" grep -q 'unknown capability' <<<"$err"
err=$(R run --netns /run/netns/gnt-rt-$$-missing busybox -- true 2>&1)
check "missing pod netns -> clear message" grep -q 'network namespace' <<<"$err"
err=$(R run --netns "$NSP" --non-root busybox -- true 2>&1)
check "runAsNonRoot with root image -> refused" grep -q 'runAsNonRoot' <<<"$err"
check "bad input left no containers, mounts or runc state" bash -c \
	"[ $(ncontainers) = $before ] && ! grep -q ' $S/containers/' /proc/mounts && [ -z \"\$(runc --root $S/runc list -q)\" ]"
# A container exiting 127 (command missing at run time) is reported as such.
id=$(R run --netns "$NSP" busybox -- sh -c 'exec nosuchcmd-late')
st=$(R wait "$id" 10000)
echo "info: $st"
check "exit 127 reported" [ "$(echo "$st" | jq_s .exitCode)" = 127 ]
R rm "$id"

# ---- image import: OCI layout (layers, whiteouts, config) and tarball -----
L=$T/layout
mkdir -p "$L/blobs/sha256" "$T/l1/bin" "$T/l1/etc" "$T/l2/etc"
cp /bin/busybox "$T/l1/bin/busybox"
ln -s busybox "$T/l1/bin/sh"; ln -s busybox "$T/l1/bin/ls"; ln -s busybox "$T/l1/bin/cat"
echo a > "$T/l1/etc/a"; echo b > "$T/l1/etc/b"
mkdir -p "$T/l1/opq"; echo old > "$T/l1/opq/old"
touch "$T/l2/etc/.wh.a"; echo c > "$T/l2/etc/c"
mkdir -p "$T/l2/opq"; touch "$T/l2/opq/.wh..wh..opq"; echo new > "$T/l2/opq/new"
blob() { local d; d=$(sha256sum "$1" | cut -d' ' -f1); mv "$1" "$L/blobs/sha256/$d"; echo "$d"; }
tar -C "$T/l1" -cf "$T/layer1.tar" .
tar -C "$T/l2" -czf "$T/layer2.tgz" .
d1=$(blob "$T/layer1.tar"); d2=$(blob "$T/layer2.tgz")
jq -n '{architecture:"amd64",os:"linux",config:{Env:["PATH=/bin","GREETING=from-config"],
	Entrypoint:["sh","-c"],Cmd:["echo $GREETING; ls /etc /opq; pwd"],WorkingDir:"/etc"},
	rootfs:{type:"layers",diff_ids:[]}}' > "$T/config.json"
dc=$(blob "$T/config.json")
jq -n --arg c "$dc" --arg l1 "$d1" --arg l2 "$d2" '{schemaVersion:2,
	mediaType:"application/vnd.oci.image.manifest.v1+json",
	config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:("sha256:"+$c),size:1},
	layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:("sha256:"+$l1),size:1},
		{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:("sha256:"+$l2),size:1}]}' > "$T/manifest.json"
dm=$(blob "$T/manifest.json")
jq -n --arg m "$dm" '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",
	digest:("sha256:"+$m),size:1,annotations:{"org.opencontainers.image.ref.name":"v1"}}]}' > "$L/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
check "OCI layout import" R image import-oci "$L" example.org/test/app:v1
check "imported image listed" bash -c "$(declare -f R); BIN=$BIN S=$S CG=$CG; R image list | grep -qx example.org/test/app:v1"
id=$(R run --netns "$NSP" example.org/test/app:v1)
R wait "$id" 10000 >/dev/null
logs=$(R logs "$id" | tr '\n' ' ')
echo "info: image log: $logs"
check "image config Env+Entrypoint+Cmd used" grep -q "^from-config " <<<"$logs"
check "whiteout removed /etc/a, later layer added /etc/c" grep -Eq "/etc: b c +/opq: new /etc" <<<"$logs"
check "opaque whiteout hid the lower /opq/old" hasnt "old" "$logs"
R rm "$id"
# A hostile layout: layer 1 plants a symlink to a host directory, layer 2
# writes and whites out through it. Nothing may happen outside the image.
V=$T/victim
mkdir -p "$V" "$T/e1" "$T/e2/evil" "$T/e2/bin"
echo keep > "$V/keep"
ln -s "$V" "$T/e1/evil"
echo pwned > "$T/e2/evil/pwned"; touch "$T/e2/evil/.wh.keep"
cp /bin/busybox "$T/e2/bin/busybox"
L2=$T/layout2
mkdir -p "$L2/blobs/sha256"
L=$L2
tar -C "$T/e1" -cf "$T/e1.tar" .; tar -C "$T/e2" -cf "$T/e2.tar" .
d1=$(blob "$T/e1.tar"); d2=$(blob "$T/e2.tar")
jq -n '{config:{Cmd:["/bin/busybox","ls","/evil"]},rootfs:{type:"layers",diff_ids:[]}}' > "$T/c2.json"
dc=$(blob "$T/c2.json")
jq -n --arg c "$dc" --arg l1 "$d1" --arg l2 "$d2" '{schemaVersion:2,
	config:{digest:("sha256:"+$c),size:1},
	layers:[{digest:("sha256:"+$l1),size:1},{digest:("sha256:"+$l2),size:1}]}' > "$T/m2.json"
dm=$(blob "$T/m2.json")
jq -n --arg m "$dm" '{schemaVersion:2,manifests:[{digest:("sha256:"+$m),size:1}]}' > "$L2/index.json"
check "hostile layout imports" R image import-oci "$L2" hostile:1
check "layer did not write through a lower symlink" [ ! -e "$V/pwned" ]
check "whiteout did not delete through a lower symlink" [ "$(cat "$V/keep")" = keep ]
id=$(R run --netns "$NSP" hostile:1)
R wait "$id" 10000 >/dev/null
check "upper directory replaced the symlink inside the image" [ "$(R logs "$id")" = pwned ]
R rm "$id"

mkdir -p "$T/tarroot/bin"; cp /bin/busybox "$T/tarroot/bin/"; ln -s busybox "$T/tarroot/bin/cat"
echo tar-image-ok > "$T/tarroot/hello"
tar -C "$T/tarroot" -czf "$T/rootfs.tgz" .
check "tarball import" R image import tarimg:1 "$T/rootfs.tgz"
id=$(R run --netns "$NSP" tarimg:1 -- /bin/cat /hello)
R wait "$id" 10000 >/dev/null
check "tarball image runs" [ "$(R logs "$id")" = tar-image-ok ]
R rm "$id"
# Re-import under a running container: its lower layer is kept until no
# mount uses it, then dropped by the next open of the store.
id=$(R run --netns "$NSP" tarimg:1 -- /bin/busybox sleep 30)
echo tar-image-v2 > "$T/tarroot/hello"
tar -C "$T/tarroot" -czf "$T/rootfs2.tgz" .
R image import tarimg:1 "$T/rootfs2.tgz"
nimg() { ls -A "$S/images" | grep -c '^\.img-'; }
before_gc=$(nimg)
R image gc >/dev/null
check "replaced image kept while a container uses it" [ "$(nimg)" = "$before_gc" ]
check "running container still sees its image" [ "$(R exec "$id" -- /bin/cat /hello)" = tar-image-ok ]
R rm "$id"
R image gc >/dev/null
check "replaced image dropped by gc once unused" [ "$(nimg)" = $((before_gc - 1)) ]
R image import rmme:1 "$T/rootfs2.tgz"
n1=$(nimg)
R image rm rmme:1
R image gc >/dev/null
check "image rm + gc drops the content" [ "$(nimg)" = $((n1 - 1)) ]
check "removed image no longer resolvable" bash -c "! $BIN --state $S image inspect rmme:1 2>/dev/null"
id=$(R run --netns "$NSP" tarimg:1 -- /bin/cat /hello)
R wait "$id" 10000 >/dev/null
check "new containers get the re-imported image" [ "$(R logs "$id")" = tar-image-v2 ]
R rm "$id"

# ---- volumes --------------------------------------------------------------
POD=$T/pods/p1
cm=$(R volume files "$POD" configmap cfg app.conf=setting=1 nested/key=deep)
ed=$(R volume empty-dir "$POD" scratch --memory)
check "emptyDir medium Memory is a tmpfs" grep -q " $ed tmpfs " /proc/mounts
id=$(R run --netns "$NSP" --user 1000 --mount "$cm:/etc/config:ro" --mount "$ed:/scratch" busybox -- \
	sh -c 'echo $(cat /etc/config/app.conf) $(cat /etc/config/nested/key); echo x > /etc/config/new 2>/dev/null || echo CM-RO;
	       echo shared > /scratch/f && echo ED-RW')
R wait "$id" 10000 >/dev/null
logs=$(R logs "$id" | tr '\n' ' ')
check "ConfigMap files mounted" grep -q "^setting=1 deep " <<<"$logs"
check "ConfigMap mount read-only" grep -q "CM-RO" <<<"$logs"
check "emptyDir writable by uid 1000" has ED-RW "$logs"
check "emptyDir content visible on the host" [ "$(cat "$ed/f")" = shared ]
R rm "$id"
etc=$(R volume pod-etc "$POD" web-0 10.244.1.7 --ns 10.96.0.10 --search default.svc.cluster.local --ndots 5)
id=$(R run --netns "$NSP" --read-only --hostname web-0 --mount "$etc/hosts:/etc/hosts" \
	--mount "$etc/resolv.conf:/etc/resolv.conf:ro" --mount "$etc/hostname:/etc/hostname:ro" busybox -- \
	sh -c 'grep web-0 /etc/hosts; grep nameserver /etc/resolv.conf; hostname')
R wait "$id" 10000 >/dev/null
logs=$(R logs "$id" | tr '\t\n' '  ')
check "pod /etc/hosts, resolv.conf, hostname in a read-only container" \
	[ "$logs" = "10.244.1.7 web-0 nameserver 10.96.0.10 web-0 " ]
R rm "$id"
R volume files "$POD" configmap cfg app.conf=setting=2 >/dev/null
check "ConfigMap update rewrites and prunes keys" bash -c "[ \"\$(cat $cm/app.conf)\" = setting=2 ] && [ ! -e $cm/nested ]"
check "hostPath type check" bash -c "! $BIN --state $S volume host-path $T/nope Directory 2>/dev/null"
R volume cleanup "$POD"
check "volume cleanup unmounts and removes" bash -c "! grep -q ' $POD/' /proc/mounts && [ ! -e $POD/volumes ] && [ ! -e $POD/etc ]"

# ---- log follow ------------------------------------------------------------
id=$(R run --netns "$NSP" busybox -- sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done')
out=$(timeout 10 "$BIN" --state "$S" --cgroup-parent "$CG/node1" logs -f "$id" | tr '\n' ' ')
check "logs -f streams until exit" [ "$out" = "line1 line2 line3 " ]
check "logs --tail 1" [ "$(R logs --tail 1 "$id")" = line3 ]
R rm "$id"

# ---- log rotation ----------------------------------------------------------
id=$("$BIN" --state "$S" --cgroup-parent "$CG/node1" --log-max 4096 run --netns "$NSP" busybox -- \
	sh -c 'i=1; while [ $i -le 200 ]; do echo "line-$i-padding-padding-padding"; i=$((i+1)); done')
R wait "$id" 10000 >/dev/null
lp=$S/containers/$id/container.log
check "log rotated to .1" [ -s "$lp.1" ]
check "rotated log bounded" [ "$(stat -c %s "$lp")" -le 4200 ]
check "logs continue across rotation" [ "$(R logs "$id" | tail -n 1)" = line-200-padding-padding-padding ]
check "logs --tail spans both files" [ "$(R logs --tail 60 "$id" | head -n 1)" = line-141-padding-padding-padding ]
check "old records dropped, no duplicates" [ "$(R logs "$id" | sort | uniq -d | wc -l)" = 0 ]
R rm "$id"

# ---- the library linked into a threaded program ---------------------------
API=$PWD/$BUILD/tests/unit/runtime_api_test
if [ -x "$API" ]; then
	echo "--- runtime_api_test (gannet-shim binary)"
	GANNET_SHIM=$PWD/$BUILD/bin/gannet-shim "$API" "$T/api1" "$CG/api1" "$NSP"
	check "API: concurrent run/probe, adoption, stop (shim binary)" [ $? = 0 ]
	echo "--- runtime_api_test (in-process shim fallback)"
	GANNET_SHIM=/nonexistent "$API" "$T/api2" "$CG/api2" "$NSP"
	check "API: same with the in-process shim" [ $? = 0 ]
else
	bad "missing $API (run make)"
fi

# ---- start latency (informational) ----------------------------------------
t0=$(date +%s%N)
ids=()
for i in 1 2 3 4 5 6 7 8 9 10; do ids+=("$(R run --netns "$NSP" busybox -- sleep 30)"); done
t1=$(date +%s%N)
echo "info: 10 containers created+started in $(( (t1 - t0) / 1000000 )) ms (sequential)"
check "10 containers running" [ "$(R list -v | grep -c '"state":"running"')" = 10 ]
for id in "${ids[@]}"; do R rm "$id"; done
check "all removed" [ "$(ncontainers)" = 0 ]

echo
if [ $fails -gt 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all runtime checks passed"
