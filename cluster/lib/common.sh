# cluster/lib/common.sh — shared settings for the local cluster scripts: pinned versions,
# cache/state locations, network plan, and small logging helpers. Sourced by every script.
# shellcheck shell=bash

# ---- pinned versions (the cache is keyed on these) -------------------------------------------
K8S_VERSION="${K8S_VERSION:-v1.34.4}"        # newest 1.34.x on the module proxy; see cluster/README.md
ETCD_VERSION="${ETCD_VERSION:-v3.6.4}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.12.4}"
IMAGES_REV="${IMAGES_REV:-1}"                 # bump to force the OCI images to be rebuilt

# ---- locations --------------------------------------------------------------------------------
KC_CACHE="${KC_CACHE:-/var/cache/kinject}"    # heavy, reusable artifacts (Go caches, binaries, images)
KC_GO_CACHE="$KC_CACHE/go"
KC_K8S_DIR="$KC_CACHE/k8s-$K8S_VERSION"
KC_ETCD_DIR="$KC_CACHE/etcd-$ETCD_VERSION"
KC_COREDNS_DIR="$KC_CACHE/coredns-$COREDNS_VERSION"
KC_STATE="${KC_STATE:-/var/lib/kinject-cluster}"   # certs, configs, etcd data, containerd root, logs
KC_RUN="${KC_RUN:-/run/kinject-cluster}"           # pids, sockets, containerd state
KC_PKI="$KC_STATE/pki"
KC_LOGS="$KC_STATE/logs"
KC_PIDS="$KC_RUN/pids"
KC_ADMIN_KUBECONFIG="$KC_STATE/admin.kubeconfig"
KC_CONTAINERD_SOCK="$KC_RUN/containerd/containerd.sock"
# up.sh and down.sh serialize on this file; it lives outside $KC_RUN because down.sh deletes that
KC_LOCK="${KC_LOCK:-/run/kinject-cluster.lock}"

# ---- network plan -----------------------------------------------------------------------------
# All invented ranges are private and routed only here: the node IP lives on a dummy interface,
# pods on a bridge, and the service range gets a blackhole route so nothing leaves the machine.
KC_IFACE="kinject0"                 # dummy interface holding the node IP
KC_NODE_IP="10.213.0.1"
KC_NODE_CIDR="10.213.0.1/32"
KC_BRIDGE="kinjectbr0"              # CNI bridge for pods
KC_POD_CIDR="10.214.0.0/16"
KC_POD_GW="10.214.0.1"
KC_SERVICE_CIDR="10.215.0.0/16"
KC_APISERVER_SVC_IP="10.215.0.1"
KC_DNS_IP="$KC_NODE_IP"             # CoreDNS runs as a host process on the node IP
KC_NODE_NAME="kinject-node"
KC_APISERVER_PORT=6443
KC_CLUSTER_DOMAIN="cluster.local"

export PATH="/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH"

kc_log()  { printf '[cluster %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
kc_die()  { kc_log "ERROR: $*"; exit 1; }
kc_need_root() { [ "$(id -u)" = 0 ] || kc_die "must run as root"; }

# kc_lock TIMEOUT — take the cluster lock on fd 9 (released when the script exits; daemons are
# started with fd 9 closed so they never hold it).
kc_lock() {
  exec 9>>"$KC_LOCK"
  flock -w "$1" 9 || kc_die "another cluster/up.sh or down.sh holds $KC_LOCK"
}

# kc_apt PKG... — install Debian packages that are missing, non-interactively.
kc_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  kc_log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f "$KC_CACHE/.apt-updated" ] || [ -n "$(find "$KC_CACHE/.apt-updated" -mmin +720 2>/dev/null)" ]; then
    mkdir -p "$KC_CACHE"
    apt-get update -qq >/dev/null && touch "$KC_CACHE/.apt-updated"
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
