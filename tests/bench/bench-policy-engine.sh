#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NetworkPolicy engine micro-benchmark (make bench): a synthetic cluster of
# 50 namespaces and PODS pods (1000 label sets) with 100 / 1,000 / 10,000
# policies mixing podSelector, namespaceSelector, both, ipBlock+except,
# numeric, endPort and named ports. For each size: the time to compute every
# endpoint from scratch (pol_recompute_all: the baseline) and the median time
# of one incremental change, a pod relabel that creates an identity and a
# policy update, with their ratio to the full recompute. Pure CPU, no root.
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
BUILD=${BUILD:-build}
BIN=$BUILD/tests/bench/policy_bench
PODS=${PODS:-2000}
SIZES=${SIZES:-"100 1000 10000"}
REPS=${REPS:-41}
[ -x "$BIN" ] || { echo "missing $BIN (make all)" >&2; exit 1; }

val() { sed -n "s/^$1 //p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.4f", a/b; else print "-" }'; }

printf '%-9s %6s %8s %7s %9s %10s %11s %9s %9s %10s %9s %9s %12s\n' policies pods idents cidrs entries \
	full_ms relabel_ms p99 relabel/f policy_ms p99 policy/f recomp/chg
for n in $SIZES; do
	out=$("$BIN" "$n" "$PODS" "$REPS") || { echo "policy_bench $n failed" >&2; exit 1; }
	full=$(val full_ms "$out")
	pod=$(val pod_change_ms "$out")
	pol=$(val policy_change_ms "$out")
	printf '%-9s %6s %8s %7s %9s %10s %11s %9s %9s %10s %9s %9s %12s\n' "$n" "$PODS" \
		"$(val identities "$out")" "$(val cidr_identities "$out")" "$(val entries "$out")" \
		"$full" "$pod" "$(val pod_change_p99_ms "$out")" "$(ratio "$pod" "$full")" \
		"$pol" "$(val policy_change_p99_ms "$out")" "$(ratio "$pol" "$full")" \
		"$(val incr_recomputed_per_change "$out")+$(val incr_refreshed_per_change "$out")r"
done
echo "full_ms: every endpoint recomputed; relabel/policy: one incremental change (median and p99 of $REPS);"
echo "recomp/chg: endpoints fully recomputed + endpoint-directions refreshed for one identity, per change"
