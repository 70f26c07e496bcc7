#!/usr/bin/env bash
# cluster/status.sh — says what of the local cluster is up: each recorded daemon (pid, alive?),
# health endpoints, the node and the sample workloads. Exit 0 only if everything is up.
set -uo pipefail
KC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$KC_DIR/lib/common.sh"
source "$KC_DIR/lib/proc.sh"
source "$KC_DIR/lib/wait.sh"

ok=0
printf '%-24s %s\n' "kubeconfig" "$KC_ADMIN_KUBECONFIG"
printf '%-24s %s (pods %s, services %s)\n' "node IP" "$KC_NODE_IP" "$KC_POD_CIDR" "$KC_SERVICE_CIDR"
for d in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns; do
  if kc_running "$d"; then printf '%-24s running (pid %s)\n' "$d" "$(kc_pid "$d")"
  else printf '%-24s DOWN\n' "$d"; ok=1; fi
done
check() { local name="$1"; shift; if "$@" >/dev/null 2>&1; then printf '%-24s ok\n' "$name"; else printf '%-24s FAIL\n' "$name"; ok=1; fi; }
check "etcd health" kc_etcd_ok
check "apiserver /readyz" kc_apiserver_ok
check "kubelet healthz" kc_kubelet_ok
check "kube-proxy healthz" kc_proxy_ok
check "coredns ready" kc_coredns_ok
check "node Ready" kc_node_ready
check "sample workloads" kc_workloads_ok
if [ "$ok" = 0 ]; then
  echo "cluster: UP"
else
  echo "cluster: NOT (fully) UP"
fi
exit "$ok"
