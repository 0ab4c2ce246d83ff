#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Scheduler throughput (make bench): pods bound per second with 100
# simulated Node objects, end to end through a live gannet-apiserver on
# 127.0.0.1 (list+watch, decision, bind request, server write), for
# PODS_LIST pending pods (default "1000 5000") with 1 and 4 concurrent
# binders; each run uses a fresh server. Baselines in the same run:
#   - the pure decision rate in-process (sched_pick + assume on 100 nodes,
#     no API): the ceiling, so e2e/pick says how much the API costs;
#   - the API's own pod-create rate with 4 client threads (one write per
#     pod, like a bind): e2e/create says how close binding is to the
#     server's write throughput.
# Target: >= 1000 pods/s (kube-scheduler does about 100/s at scale).
set -u
cd "${GANNET_ROOT:-$(dirname "$0")/../..}"
export GANNET_ROOT=$PWD
BUILD=${BUILD:-build}
BIN=$BUILD/tests/bench/sched_bench
NODES=${NODES:-100}
PODS_LIST=${PODS_LIST:-"1000 5000"}
BINDERS_LIST=${BINDERS_LIST:-"1 4"}
[ -x "$BIN" ] || { echo "missing $BIN (make all)" >&2; exit 1; }
[ -x "$BUILD/bin/gannet-apiserver" ] || { echo "missing gannet-apiserver (make all)" >&2; exit 1; }
. tests/lib/apiserver.sh
trap apiserver_cleanup EXIT

val() { sed -n "s/^$1 //p" <<<"$2"; }

pick=$("$BIN" pick "$NODES" 5000) || { echo "pick benchmark failed" >&2; exit 1; }
pick_rate=$(val pick_rate "$pick")

printf '%-30s %8s %8s %12s %12s %10s %10s %8s\n' \
	"scheduler, $NODES nodes" pods binders "binds/s" "creates/s" e2e/pick e2e/create spread
printf '%-30s %8s %8s %12s %12s %10s %10s %8s\n' \
	"in-process sched_pick" 5000 - "$pick_rate" - 1.00 - -
for pods in $PODS_LIST; do
	for binders in $BINDERS_LIST; do
		APISERVER_NO_TRAP=1 apiserver_start >/dev/null 2>&1 || { echo "apiserver did not start" >&2; exit 1; }
		out=$("$BIN" e2e "$KUBECONFIG" "$NODES" "$pods" "$binders")
		st=$?
		apiserver_cleanup
		if [ $st -ne 0 ]; then
			echo "e2e run failed ($pods pods, $binders binders):" >&2
			echo "$out" >&2
			exit 1
		fi
		rate=$(val e2e_rate "$out")
		create=$(val api_create_rate "$out")
		printf '%-30s %8s %8s %12s %12s %10s %10s %8s\n' \
			"end to end via API" "$pods" "$binders" "$rate" "$create" \
			"$(awk -v a="$rate" -v b="$pick_rate" 'BEGIN{printf "%.3f", a/b}')" \
			"$(awk -v a="$rate" -v b="$create" 'BEGIN{printf "%.2f", a/b}')" \
			"$(val spread_min "$out")-$(val spread_max "$out")"
	done
done
# Pods created while the scheduler runs: they arrive through the watch and
# are bound as fast as 4 client threads create them (e2e/create ~ 1 means
# the scheduler keeps up with the API's write rate).
LIVE_PODS=${LIVE_PODS:-3000}
APISERVER_NO_TRAP=1 apiserver_start >/dev/null 2>&1 || { echo "apiserver did not start" >&2; exit 1; }
out=$("$BIN" live "$KUBECONFIG" "$NODES" "$LIVE_PODS" 4)
st=$?
apiserver_cleanup
[ $st -eq 0 ] || { echo "live run failed:" >&2; echo "$out" >&2; exit 1; }
rate=$(val live_rate "$out")
create=$(val live_create_rate "$out")
printf '%-30s %8s %8s %12s %12s %10s %10s %8s\n' \
	"live (created while running)" "$LIVE_PODS" 4 "$rate" "$create" \
	"$(awk -v a="$rate" -v b="$pick_rate" 'BEGIN{printf "%.3f", a/b}')" \
	"$(awk -v a="$rate" -v b="$create" 'BEGIN{printf "%.2f", a/b}')" \
	"$(val spread_min "$out")-$(val spread_max "$out")"
echo "target: >= 1000 pods/s end to end (kube-scheduler: ~100 pods/s at scale)"
echo "spread: fewest-most pods per node"
