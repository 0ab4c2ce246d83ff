#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy reachability matrix, in the style of the upstream Kubernetes
# NetworkPolicy e2e tests ("netpol"), end to end on a 3-node namespace
# cluster (gannet-apiserver with its controllers, 3 API-mode agents, runc
# pods, BPF datapath; tests/lib/kubelet.sh). Namespaces x y z (label
# ns=<name>; y also team=blue), pods a b c in each (label pod=<name>) spread
# so that every namespace spans the 3 nodes, each serving TCP and UDP on 80
# and 81 with named container ports serve-<port>-<proto>; two external
# clients ext1 ext2 on the fabric serve the same ports (ipBlock targets).
# For each scenario the policies are applied with gannetctl, then every
# (from, to, port, protocol) pair over the 9 pods and the 2 external
# clients - 11 x 11 x 4 = 484 probes, the upstream 324 plus the external
# sources and targets - is probed and compared with the
# expected matrix written here (tests/tools/netcheck.sh: probing, matrices
# of differences on failure). Scenario list: docs/policy.md "Tests".
#
# NP_ONLY=REGEX runs only the scenarios whose name matches (debugging).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/cluster.sh
export APISERVER_CONTROLLERS=1
. tests/lib/kubelet.sh
. tests/tools/netcheck.sh
kl_require
np_require
T0=$SECONDS
NP_ONLY=${NP_ONLY:-}

kl_up 3
t_check "9 pods in namespaces x y z Running on 3 nodes" np_model_up
[ "$T_FAIL" = 0 ] || t_done

# run SCENARIO-NAME: whether to run it (NP_ONLY); clears the policies of the
# previous scenario and announces this one
N_SCEN=0
run() {
	[ -n "$NP_ONLY" ] && ! [[ $1 =~ $NP_ONLY ]] && return 1
	N_SCEN=$((N_SCEN + 1))
	echo "# --- $1"
	np_clear
	return 0
}
# apply SCENARIO-NAME <<YAML: np_apply recording a failure
apply() {
	local out
	out=$(np_apply 2>&1) || { t_fail "$1: apply: $out"; return 1; }
}

# host-originated traffic (kubelet probes): every node reaches its local pods
host_probes_ok() {
	local p out
	for p in "${NP_PODS[@]}"; do
		out=$(in_node "${NP_NODE[$p]}" "$NC" probe -w "$NP_PROBE_MS" "${NP_IP[$p]}:80/tcp" "${NP_IP[$p]}:81/udp")
		grep -qv ' ok ' <<<"$out" && { echo "node${NP_NODE[$p]} -> $p: $out"; return 1; }
	done
	return 0
}

# ------------------------------------------------------------ 1. baseline
S="01 no policy: everything reachable"
if run "$S"; then
	exp_reset 1
	np_check "$S"
fi

# ------------------------------------------------------------ default deny
S="02 default-deny ingress in x (podSelector {}, policyTypes omitted)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec:
  podSelector: {}
EOF
	exp_reset 1
	exp '*' 'x/*' 0
	np_check "$S"
	t_check "02 node -> its local pods still allowed under default-deny ingress (kubelet probes)" host_probes_ok
fi

S="03 default-deny egress in x (policyTypes [Egress])"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
EOF
	exp_reset 1
	exp 'x/*' '*' 0
	np_check "$S"
fi

S="04 default-deny ingress and egress in x"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
EOF
	exp_reset 1
	exp 'x/*' '*' 0
	exp '*' 'x/*' 0
	np_check "$S"
fi

S="05 allow-all ingress (ingress: [{}]) unions with a default deny"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-ingress, namespace: x}
spec:
  podSelector: {}
EOF
	exp_reset 1
	exp '*' 'x/*' 0
	np_check "05a default deny in force first"
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-ingress, namespace: x}
spec:
  podSelector: {}
  ingress: [{}]
EOF
	exp_reset 1
	np_check "$S"
fi

# ------------------------------------------------------------ peers
S="06 podSelector peer: same namespace only (x/b -> x/a)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-to-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{podSelector: {matchLabels: {pod: b}}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'x/b' 'x/a' 1
	np_check "$S"
fi

S="07 namespaceSelector peer (ns=y -> x/a)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'y/*' 'x/a' 1
	np_check "$S"
fi

S="08 namespaceSelector AND podSelector in one peer (only y/b)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {ns: y}}
          podSelector: {matchLabels: {pod: b}}
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'y/b' 'x/a' 1
	np_check "$S"
fi

S="09 namespaceSelector OR podSelector as separate peers (y/* and x/b)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y-or-b, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {ns: y}}
        - podSelector: {matchLabels: {pod: b}}
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'y/*' 'x/a' 1
	exp 'x/b' 'x/a' 1
	np_check "$S"
fi

S="10 namespaceSelector {} with podSelector: pod c of every namespace"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-any-c, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector: {}
          podSelector: {matchLabels: {pod: c}}
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp '*/c' 'x/a' 1
	np_check "$S"
fi

S="11 matchExpressions In (ns In [y, z])"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-y-z, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{key: ns, operator: In, values: [y, z]}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'y/*' 'x/a' 1
	exp 'z/*' 'x/a' 1
	np_check "$S"
fi

S="12 matchExpressions NotIn (ns NotIn [y]; pod NotIn [b] selects the target)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: not-from-y, namespace: x}
spec:
  podSelector:
    matchExpressions: [{key: pod, operator: NotIn, values: [b]}]
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{key: ns, operator: NotIn, values: [y]}]
EOF
	exp_reset 1
	exp 'y/*' 'x/a' 0
	exp 'y/*' 'x/c' 0
	exp 'ext*' 'x/a' 0   # namespaceSelector peers are pods only
	exp 'ext*' 'x/c' 0
	np_check "$S"
fi

S="13 matchExpressions Exists (namespaces with a team label: y)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-teams, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{key: team, operator: Exists}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'y/*' 'x/a' 1
	np_check "$S"
fi

S="14 matchExpressions DoesNotExist (namespaces without team: x, z)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-no-team, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from:
        - namespaceSelector:
            matchExpressions: [{key: team, operator: DoesNotExist}]
EOF
	exp_reset 1
	exp 'y/*' 'x/a' 0
	exp 'ext*' 'x/a' 0
	np_check "$S"
fi

# ------------------------------------------------------------ ports
S="15 port by number: TCP 80 only (protocol defaults to TCP)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: tcp-80, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{namespaceSelector: {}}]
      ports: [{port: 80}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp '?/?' 'x/a' 1 80/tcp   # namespaceSelector {}: pods, not ext
	np_check "$S"
fi

S="16 port by number: UDP 81 only"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: udp-81, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - ports: [{protocol: UDP, port: 81}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp '*' 'x/a' 1 81/udp
	np_check "$S"
fi

S="17 named ports (ingress): serve-81-tcp and serve-80-udp"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: named, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - ports: [{port: serve-81-tcp}, {protocol: UDP, port: serve-80-udp}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp '*' 'x/a' 1 81/tcp
	exp '*' 'x/a' 1 80/udp
	np_check "$S"
fi

S="18 endPort: TCP 80-81, no UDP"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: range, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - ports: [{protocol: TCP, port: 80, endPort: 81}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp '*' 'x/a' 1 '*/tcp'
	np_check "$S"
fi

S="19 SCTP-only rule denies TCP and UDP"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: sctp-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - ports: [{protocol: SCTP, port: 80}, {protocol: SCTP, port: 81}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	np_check "$S"
fi

S="20 named port (egress): serve-80-udp resolved on each destination pod"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-named, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {}}]
      ports: [{protocol: UDP, port: serve-80-udp}]
EOF
	exp_reset 1
	exp 'x/a' '*' 0
	exp 'x/a' '?/?' 1 80/udp
	np_check "$S"
fi

# ------------------------------------------------------------ ipBlock
# ipBlock never matches pod IPs in Gannet (docs/policy.md, Cilium's choice):
# pods have /32 identities that win the longest-prefix match. The external
# clients ext1 ext2 (fabric addresses) are the ipBlock targets.
S="21 egress ipBlock 0.0.0.0/0 except ext2/32: ext1 only, pods are not ipBlock peers"
if run "$S"; then
	apply "$S" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: world-but-ext2, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 0.0.0.0/0, except: [${NP_IP[ext2]}/32]}}]
EOF
	exp_reset 1
	exp 'x/a' '*' 0
	exp 'x/a' 'ext1' 1
	np_check "$S"
fi

S="22 egress ipBlock fabric /24 except ext1/32, OR podSelector {}"
if run "$S"; then
	apply "$S" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fabric-but-ext1, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: {cidr: 192.168.250.0/24, except: [${NP_IP[ext1]}/32]}
        - podSelector: {}
EOF
	exp_reset 1
	exp 'x/*' '*' 0
	exp 'x/*' 'x/*' 1
	exp 'x/*' 'ext2' 1
	np_check "$S"
fi

S="23 egress ipBlock covering the pod CIDR does not select pods"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: cluster-cidr, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 10.244.0.0/16}}]
EOF
	exp_reset 1
	exp 'x/a' '*' 0
	np_check "$S"
fi

S="23b ingress ipBlock 0.0.0.0/0 except ext2/32: ext1 only, pods are not ipBlock peers"
if run "$S"; then
	apply "$S" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-world-but-ext2, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{ipBlock: {cidr: 0.0.0.0/0, except: [${NP_IP[ext2]}/32]}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'ext1' 'x/a' 1
	np_check "$S"
fi

S="23c ingress ipBlock ext2/32 on UDP 81 OR pods of z on TCP 80"
if run "$S"; then
	apply "$S" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ext2-or-z, namespace: x}
spec:
  podSelector: {}
  ingress:
    - from: [{ipBlock: {cidr: ${NP_IP[ext2]}/32}}]
      ports: [{protocol: UDP, port: 81}]
    - from: [{namespaceSelector: {matchLabels: {ns: z}}}]
      ports: [{protocol: TCP, port: 80}]
EOF
	exp_reset 1
	exp '*' 'x/*' 0
	exp 'ext2' 'x/*' 1 81/udp
	exp 'z/*' 'x/*' 1 80/tcp
	np_check "$S"
fi

# ------------------------------------------------------------ policyTypes
S="24 policyTypes omitted with an egress section: Ingress and Egress"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: implied-egress, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress:
    - to: [{podSelector: {}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'x/a' '*' 0
	exp 'x/a' 'x/*' 1
	np_check "$S"
fi

S="25 egress: [] with policyTypes omitted: Ingress only"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: empty-egress, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  egress: []
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	np_check "$S"
fi

S="26 policyTypes [Ingress] ignores an egress section"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ingress-only, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress]
  ingress:
    - from: [{podSelector: {}}]
  egress:
    - to: [{podSelector: {matchLabels: {pod: nobody}}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'x/*' 'x/a' 1
	np_check "$S"
fi

# ------------------------------------------------------------ combinations
S="27 multiple policies selecting a pod are unioned"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: b-tcp-80, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{podSelector: {matchLabels: {pod: b}}}]
      ports: [{protocol: TCP, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: y-udp-81, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {ns: y}}}]
      ports: [{protocol: UDP, port: 81}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'x/b' 'x/a' 1 80/tcp
	exp 'y/*' 'x/a' 1 81/udp
	np_check "$S"
fi

S="28 egress at the source and ingress at the destination both apply"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: x-to-y, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to: [{namespaceSelector: {matchLabels: {ns: y}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: y-from-x-z-80, namespace: y}
spec:
  podSelector: {}
  ingress:
    - from: [{namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [x, z]}]}}]
      ports: [{protocol: TCP, port: 80}]
EOF
	exp_reset 1
	exp 'x/*' '*' 0
	exp '*' 'y/*' 0
	exp 'x/*' 'y/*' 1 80/tcp
	exp 'z/*' 'y/*' 1 80/tcp
	np_check "$S"
fi

S="29 self traffic is always allowed (default deny everywhere)"
if run "$S"; then
	for ns in x y z; do
		apply "$S" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: $ns}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
EOF
	done
	exp_reset 0   # np_check expects pod -> itself allowed
	exp 'ext*' 'ext*' 1
	np_check "$S"
	t_check "29 node -> its local pods allowed under default deny everywhere" host_probes_ok
fi

S="30 a policy in y does not affect x and z"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate-a, namespace: y}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
EOF
	exp_reset 1
	exp '*' 'y/a' 0
	exp 'y/a' '*' 0
	np_check "$S"
fi

S="31 egress default deny + allow DNS (UDP 53 to anything)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns-only, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - ports: [{protocol: UDP, port: 53}]
EOF
	exp_reset 1
	exp 'x/*' '*' 0
	np_check "$S"
	dns_ok() {
		local out
		out=$(np_probe x/a "${NP_IP[y/b]}:53/udp" "${NP_IP[x/c]}:53/udp" "${NP_IP[ext1]}:53/udp")
		echo "$out"
		[ "$(grep -c ' ok ' <<<"$out")" = 3 ]
	}
	t_check "31 x/a -> y/b, x/c, ext1 on UDP 53 allowed" dns_ok
fi

S="32 policy deleted: back to everything allowed"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all, namespace: z}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
EOF
	exp_reset 1
	exp 'z/*' '*' 0
	exp '*' 'z/*' 0
	np_check "32a z isolated"
	np_delete z deny-all
	exp_reset 1
	np_check "$S"
fi

# ------------------------------------------------------------ label changes
S="33 pod label change moves a pod into and out of a peer"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-trusted, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{namespaceSelector: {}, podSelector: {matchLabels: {role: trusted}}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	np_check "33a nobody trusted"
	np_label_pod z/b '{"role":"trusted"}'
	exp 'z/b' 'x/a' 1
	np_check "33b z/b labelled role=trusted"
	np_label_pod z/b '{"role":null}'
	exp 'z/b' 'x/a' 0
	np_check "$S: label removed"
fi

S="34 pod label change moves a pod into and out of the selected set"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: isolate-db, namespace: x}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
EOF
	exp_reset 1
	np_check "34a no pod selected"
	np_label_pod x/c '{"role":"db"}'
	exp '*' 'x/c' 0
	exp 'x/c' '*' 0
	np_check "34b x/c labelled role=db"
	np_label_pod x/c '{"role":null}'
	exp_reset 1
	np_check "$S: label removed"
fi

S="35 namespace label change moves its pods into and out of a peer"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-blue, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress:
    - from: [{namespaceSelector: {matchLabels: {team: blue}}}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'y/*' 'x/a' 1
	np_check "35a team=blue: y"
	np_label_ns z '{"team":"blue"}'
	exp 'z/*' 'x/a' 1
	np_check "35b z labelled team=blue"
	np_label_ns z '{"team":null}'
	exp 'z/*' 'x/a' 0
	np_check "$S: label removed"
fi

S="36 egress AND peer with matchExpressions In (x -> y/a, y/b)"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: to-y-ab, namespace: x}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: y}}
          podSelector: {matchExpressions: [{key: pod, operator: In, values: [a, b]}]}
EOF
	exp_reset 1
	exp 'x/*' '*' 0
	exp 'x/*' 'y/a' 1
	exp 'x/*' 'y/b' 1
	np_check "$S"
fi

S="38 a policy updated in place (same name, new peer) replaces the old rules"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: one-peer, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: b}}}]}]
EOF
	exp_reset 1
	exp '*' 'x/a' 0
	exp 'x/b' 'x/a' 1
	np_check "38a from x/b"
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: one-peer, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  ingress: [{from: [{podSelector: {matchLabels: {pod: c}}}], ports: [{protocol: UDP, port: 81}]}]
EOF
	exp '*' 'x/a' 0
	exp 'x/c' 'x/a' 1 81/udp
	np_check "$S"
fi

S="39 an address in one policy's except is allowed by another policy's ipBlock (union)"
if run "$S"; then
	apply "$S" <<EOF
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: fabric-but-ext1, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: 192.168.250.0/24, except: [${NP_IP[ext1]}/32, ${NP_IP[ext2]}/32]}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: ext1-tcp-80, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Egress]
  egress:
    - to: [{ipBlock: {cidr: ${NP_IP[ext1]}/32}}]
      ports: [{protocol: TCP, port: 80}]
EOF
	exp_reset 1
	exp 'x/a' '*' 0
	exp 'x/a' 'ext1' 1 80/tcp
	np_check "$S"
fi

S="40 egress allow-all (egress: [{}]) unions with a default-deny egress"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-egress, namespace: z}
spec:
  podSelector: {}
  policyTypes: [Egress]
EOF
	exp_reset 1
	exp 'z/*' '*' 0
	np_check "40a default-deny egress in z in force first"
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-egress, namespace: z}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{}]
EOF
	exp_reset 1
	np_check "$S"
fi

S="41 protocol without port: every UDP port, no TCP"
if run "$S"; then
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: all-udp, namespace: y}
spec:
  podSelector: {}
  ingress: [{ports: [{protocol: UDP}]}]
EOF
	exp_reset 1
	exp '*' 'y/*' 0
	exp '*' 'y/*' 1 '*/udp'
	np_check "$S"
fi

# ------------------------------------------------------------ services
# Egress is checked after service translation, i.e. against the backend
# the ClusterIP was translated to (probed from the pod's netns without the
# socket LB: the per-packet translation in the pod program); a pod
# reaching itself through its own Service (hairpin, probed from inside its
# container: the socket LB) is traffic to itself: always allowed.
svc_create() {   # svc_create NS NAME POD-LABEL: ClusterIP, TCP 80 + UDP 81; prints its IP
	local body
	body=$(jq -n --arg ns "$1" --arg n "$2" --arg p "$3" '{apiVersion: "v1", kind: "Service",
		metadata: {name: $n, namespace: $ns},
		spec: {selector: {pod: $p}, ports: [{name: "t80", port: 80, protocol: "TCP"},
						   {name: "u81", port: 81, protocol: "UDP"}]}}')
	acurl -X POST -H 'Content-Type: application/json' -d "$body" "/api/v1/namespaces/$1/services" |
		jq -r '.spec.clusterIP // empty'
}
# svc_expect [-c] SRC VIP VERDICT: TCP 80 and UDP 81 of the VIP answer
# VERDICT (ok|drop) within NP_WAIT s; -c: probe from inside the container
svc_expect() {
	local out end=$((SECONDS + NP_WAIT)) ctr=0
	[ "$1" = -c ] && { ctr=1; shift; }
	while :; do
		if [ $ctr = 1 ]; then
			out=$(np_exec "$1" /nc/netcheck probe -w "$NP_PROBE_MS" "$2:80/tcp" "$2:81/udp")
		else
			out=$(np_probe "$1" "$2:80/tcp" "$2:81/udp")
		fi
		[ -z "$(awk -v w="$3" '$2 != w' <<<"$out")" ] && return 0
		((SECONDS >= end)) && break
		sleep 0.3
	done
	echo "$1 -> $2:"
	echo "$out"
	return 1
}
S="37 services: egress policy applies to the backend after translation; hairpin to itself allowed"
if run "$S"; then
	VIP_YA=$(svc_create y svc-ya a)
	VIP_YB=$(svc_create y svc-yb b)
	VIP_XA=$(svc_create x svc-xa a)
	echo "# svc-ya $VIP_YA (-> y/a), svc-yb $VIP_YB (-> y/b), svc-xa $VIP_XA (-> x/a)"
	t_check "37a without policy x/a reaches svc-ya, svc-yb and (hairpin) svc-xa" \
		eval 'svc_expect x/a "$VIP_YA" ok && svc_expect x/a "$VIP_YB" ok && svc_expect -c x/a "$VIP_XA" ok'
	apply "$S" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: a-to-y-a, namespace: x}
spec:
  podSelector: {matchLabels: {pod: a}}
  policyTypes: [Ingress, Egress]
  egress:
    - to:
        - namespaceSelector: {matchLabels: {ns: y}}
          podSelector: {matchLabels: {pod: a}}
EOF
	t_check "37b x/a (egress to y/a only) -> svc-ya allowed, svc-yb dropped (checked against the backend)" \
		eval 'svc_expect x/a "$VIP_YB" drop && svc_expect x/a "$VIP_YA" ok'
	t_check "37b same through the socket LB (from the container)" \
		eval 'svc_expect -c x/a "$VIP_YB" drop && svc_expect -c x/a "$VIP_YA" ok'
	t_check "37c x/a (isolated both ways) -> its own svc-xa (hairpin) allowed; x/b -> svc-xa dropped" \
		eval 'svc_expect -c x/a "$VIP_XA" ok && svc_expect x/b "$VIP_XA" drop'
	for n in svc-ya svc-yb; do acurl -X DELETE "/api/v1/namespaces/y/services/$n" >/dev/null; done
	acurl -X DELETE /api/v1/namespaces/x/services/svc-xa >/dev/null
fi

np_clear
# SIGTERM: every agent exits 0 (with BUILD=build-san: no ASan/LSan/UBSan
# report from the policy code these scenarios drove)
t_check "agents stop cleanly on SIGTERM (no sanitizer report)" cluster_stop_agents_checked
echo "# $N_SCEN scenarios in $((SECONDS - T0))s"
t_done
