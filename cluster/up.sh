#!/usr/bin/env bash
# cluster/up.sh — brings up (idempotently) the local single-node Kubernetes cluster: etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, a private containerd + runc with CNI
# bridge networking, kubelet, kube-proxy (iptables) and CoreDNS, all as host processes recorded by
# pid; then applies the sample workloads (cluster/manifests) and returns once the node is Ready,
# the demo pods Running and their Services have endpoints. A healthy cluster makes this a no-op.
# Needs root. See cluster/README.md.
set -euo pipefail
KC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$KC_DIR/lib/common.sh"
source "$KC_DIR/lib/proc.sh"
source "$KC_DIR/lib/wait.sh"

kc_need_root
T0=$SECONDS
KC_DAEMONS=(containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy coredns)

kc_all_running() { local d; for d in "${KC_DAEMONS[@]}"; do kc_running "$d" || return 1; done; }

# ---- fast path: already up and healthy -------------------------------------------------------
if kc_all_running && kc_apiserver_ok && kc_node_ready && kc_workloads_ok; then
  kc_log "cluster already up and healthy (kubeconfig: $KC_ADMIN_KUBECONFIG)"
  exit 0
fi

source "$KC_DIR/lib/build.sh"
source "$KC_DIR/lib/certs.sh"
source "$KC_DIR/lib/config.sh"
source "$KC_DIR/lib/images.sh"
source "$KC_DIR/lib/net.sh"

kc_lock 2400
# another up.sh may have finished while we waited for the lock
if kc_all_running && kc_apiserver_ok && kc_node_ready && kc_workloads_ok; then
  kc_log "cluster already up and healthy (kubeconfig: $KC_ADMIN_KUBECONFIG)"
  exit 0
fi
mkdir -p "$KC_STATE" "$KC_RUN" "$KC_PIDS" "$KC_LOGS"

# ---- packages, binaries, images (all cached) -------------------------------------------------
kc_apt containerd runc containernetworking-plugins iptables conntrack socat ethtool \
       busybox-static openssl curl ca-certificates gcc libc6-dev binutils util-linux iproute2 procps kmod
command -v kubectl >/dev/null || kc_die "kubectl not found on PATH"
kc_build_all
kc_images_build
kc_certs
kc_write_configs
kc_net_up

K="$KC_K8S_DIR/bin"

# ---- containerd (private instance) ------------------------------------------------------------
if ! kc_running containerd; then
  rm -f "$KC_CONTAINERD_SOCK" "$KC_CONTAINERD_SOCK.ttrpc"
  kc_start containerd containerd --config "$KC_STATE/containerd/config.toml"
fi
kc_wait_for containerd 60 kc_containerd_ok || kc_die "containerd did not start (see $KC_LOGS/containerd.log)"
kc_images_import

# ---- etcd -------------------------------------------------------------------------------------
kc_start etcd "$KC_ETCD_DIR/bin/etcd" --name kinject --data-dir "$KC_STATE/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster kinject=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 \
  --unsafe-no-fsync --quota-backend-bytes 2147483648 --log-level warn
kc_wait_for etcd 60 kc_etcd_ok || kc_die "etcd did not become healthy (see $KC_LOGS/etcd.log)"

# ---- control plane ---------------------------------------------------------------------------
P="$KC_PKI"
kc_start kube-apiserver "$K/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:2379 \
  --bind-address="$KC_NODE_IP" --advertise-address="$KC_NODE_IP" --secure-port="$KC_APISERVER_PORT" \
  --service-cluster-ip-range="$KC_SERVICE_CIDR" \
  --client-ca-file="$P/ca.crt" --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$P/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer="https://kubernetes.default.svc.$KC_CLUSTER_DOMAIN" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --allow-privileged=true --profiling=false --v=1
kc_wait_for kube-apiserver 120 kc_apiserver_ok || kc_die "kube-apiserver not ready (see $KC_LOGS/kube-apiserver.log)"

kc_start kube-controller-manager "$K/kube-controller-manager" \
  --kubeconfig="$KC_STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$KC_STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$KC_STATE/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --controllers='*' \
  --use-service-account-credentials=true --root-ca-file="$P/ca.crt" \
  --service-account-private-key-file="$P/sa.key" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --cluster-cidr="$KC_POD_CIDR" --service-cluster-ip-range="$KC_SERVICE_CIDR" --allocate-node-cidrs=false \
  --profiling=false --v=1
kc_start kube-scheduler "$K/kube-scheduler" \
  --kubeconfig="$KC_STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig="$KC_STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig="$KC_STATE/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1

kc_kubectl apply -f "$KC_DIR/manifests/00-cluster-rbac.yaml" >/dev/null

# ---- node -------------------------------------------------------------------------------------
kc_start kubelet "$K/kubelet" --config="$KC_STATE/kubelet/config.yaml" \
  --kubeconfig="$KC_STATE/kubelet.kubeconfig" --root-dir="$KC_STATE/kubelet" \
  --hostname-override="$KC_NODE_NAME" --node-ip="$KC_NODE_IP" --v=1
kc_start kube-proxy "$K/kube-proxy" --config="$KC_STATE/kube-proxy.yaml" --v=1
kc_start coredns "$KC_COREDNS_DIR/bin/coredns" -conf "$KC_STATE/Corefile"

kc_wait_for "node $KC_NODE_NAME Ready" 180 kc_node_ready || kc_die "node not Ready (see $KC_LOGS/kubelet.log)"
kc_wait_for kube-proxy 60 kc_proxy_ok || kc_die "kube-proxy not healthy (see $KC_LOGS/kube-proxy.log)"
kc_wait_for coredns 60 kc_coredns_ok || kc_die "CoreDNS not ready (see $KC_LOGS/coredns.log)"
kc_net_guard_first

# ---- sample workloads ---------------------------------------------------------------------------
kc_wait_for "default service account" 60 kc_kubectl -n default get serviceaccount default
kc_kubectl apply -f "$KC_DIR/manifests/" >/dev/null
kc_wait_for "sample workloads Running with endpoints" 240 kc_workloads_ok || {
  kc_kubectl -n kinject-demo get pods -o wide >&2 || true
  kc_die "sample workloads not ready"
}
kc_log "cluster up in $((SECONDS - T0))s — kubeconfig: $KC_ADMIN_KUBECONFIG, node IP $KC_NODE_IP"
