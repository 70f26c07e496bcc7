# cluster/lib/wait.sh — readiness checks and bounded waits used by up.sh and status.sh.
# shellcheck shell=bash

KC_BIN_K8S="$KC_K8S_DIR/bin"

# kc_kubectl ARGS... — kubectl against this cluster with the admin kubeconfig.
kc_kubectl() { kubectl --kubeconfig "$KC_ADMIN_KUBECONFIG" --request-timeout=20s "$@"; }

# kc_wait_for DESCRIPTION TIMEOUT_S CMD... — poll CMD every 0.5 s until it succeeds.
kc_wait_for() {
  local what="$1" t="$2"; shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= end)); then kc_log "timed out after ${t}s waiting for $what"; return 1; fi
    sleep 0.5
  done
}

kc_containerd_ok() { ctr -a "$KC_CONTAINERD_SOCK" version >/dev/null 2>&1; }
kc_etcd_ok() { [[ "$(curl -fsS --max-time 2 http://127.0.0.1:2379/health)" == *'"health":"true"'* ]]; }
kc_apiserver_ok() {
  [ "$(curl -fsS --max-time 3 --cacert "$KC_PKI/ca.crt" --cert "$KC_PKI/admin.crt" --key "$KC_PKI/admin.key" \
    "https://$KC_NODE_IP:$KC_APISERVER_PORT/readyz")" = ok ]
}
# Status written before the current kubelet started is stale (the cluster may just have been
# restarted from etcd data), so Ready only counts if reported after the kubelet's start.
kc_node_ready() {
  local out since
  since="$(kc_started_iso kubelet)"
  out="$(kc_kubectl get node "$KC_NODE_NAME" \
    -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.status} {.lastHeartbeatTime}{end}' 2>/dev/null)" || return 1
  [ "${out%% *}" = True ] && [[ ! "${out#* }" < "$since" ]]
}
kc_coredns_ok() { curl -fsS --max-time 2 http://127.0.0.1:10281/ready >/dev/null; }
kc_kubelet_ok() { [ "$(curl -fsS --max-time 2 http://127.0.0.1:10248/healthz)" = ok ]; }
kc_proxy_ok() { curl -fsS --max-time 2 http://127.0.0.1:10256/healthz >/dev/null; }

# every sample Deployment fully available and every sample Service backed by ready endpoints
kc_workloads_ok() {
  local d want have
  for d in hello echo web; do
    want="$(kc_kubectl -n kinject-demo get deploy "$d" -o jsonpath='{.spec.replicas}' 2>/dev/null)" || return 1
    have="$(kc_kubectl -n kinject-demo get deploy "$d" -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" || return 1
    [ -n "$want" ] && [ "$want" = "$have" ] || return 1
  done
  # (outputs are captured first: `cmd | grep -q` can fail under pipefail when grep exits early)
  local s out
  for s in hello echo web hello-headless; do
    out="$(kc_kubectl -n kinject-demo get endpointslices -l "kubernetes.io/service-name=$s" \
      -o jsonpath='{range .items[*].endpoints[*]}{.conditions.ready}{"\n"}{end}' 2>/dev/null)" || return 1
    [[ "$out" == *true* ]] || return 1
  done
  # every sample pod Running and Ready since the current kubelet started (tests may run pods of
  # their own in the namespace: not counted)
  local since
  since="$(kc_started_iso kubelet)"
  out="$(kc_kubectl -n kinject-demo get pods -l 'app in (hello,echo,web)' -o jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.metadata.deletionTimestamp}{range .status.conditions[?(@.type=="Ready")]} {.status} {.lastTransitionTime}{end}{"\n"}{end}' 2>/dev/null)" || return 1
  [ -n "$out" ] || return 1
  local name phase rest
  while read -r name phase rest; do
    [ -n "$name" ] || continue
    # rest = "True <time>" for a live ready pod; a deletionTimestamp would come first
    [ "$phase" = Running ] || return 1
    [ "${rest%% *}" = True ] || return 1
    [[ ! "${rest#* }" < "$since" ]] || return 1
  done <<<"$out"
}
