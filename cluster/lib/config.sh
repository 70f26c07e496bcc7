# cluster/lib/config.sh — writes the configuration files of every component into $KC_STATE:
# containerd (private instance: own socket/root/state), the CNI bridge network, the kubelet and
# kube-proxy config files, the CoreDNS Corefile and the pods' resolv.conf. Sourced by up.sh.
# shellcheck shell=bash

# kc_put FILE — write stdin to FILE only if the content differs (kube-proxy exits when its config
# file changes, and a concurrent up.sh must not disturb a running cluster).
kc_put() {
  local f="$1" tmp
  tmp="$(mktemp "$f.XXXXXX")"
  cat > "$tmp"
  if cmp -s "$tmp" "$f"; then rm -f "$tmp"; else chmod 644 "$tmp"; mv -f "$tmp" "$f"; fi
}

kc_write_configs() {
  mkdir -p "$KC_STATE/containerd" "$KC_STATE/cni/net.d" "$KC_STATE/cni/ipam" "$KC_STATE/kubelet" \
           "$KC_STATE/certs.d/_default" "$KC_RUN/containerd" "$KC_LOGS" "$KC_PIDS"

  # Registry pulls must never leave this machine: every registry host is mapped to a dead
  # loopback port, so an image that was not imported fails fast instead of being fetched.
  local reg
  for reg in _default docker.io registry.k8s.io k8s.gcr.io gcr.io ghcr.io quay.io registry-1.docker.io \
             mcr.microsoft.com public.ecr.aws kinject.local; do
    mkdir -p "$KC_STATE/certs.d/$reg"
    kc_put "$KC_STATE/certs.d/$reg/hosts.toml" <<TOML
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
TOML
  done

  kc_put "$KC_STATE/containerd/config.toml" <<TOML
version = 2
root = "$KC_STATE/containerd/root"
state = "$KC_RUN/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$KC_CONTAINERD_SOCK"

[ttrpc]
  address = "$KC_CONTAINERD_SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$KC_STATE/containerd/opt"

[plugins."io.containerd.gc.v1.scheduler"]
  pause_threshold = 0.02

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$KC_PAUSE_IMAGE"
  enable_unprivileged_ports = true
  enable_unprivileged_icmp = true
  # pod network namespaces live under our state dir (not /run/netns), so down.sh finds them all
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  # this machine's root lacks CAP_SYS_RESOURCE, so runc cannot lower oom_score_adj below ours
  # (the kubelet asks -998 for sandboxes: "failed to update /proc/self/oom_score_adj: Permission
  # denied"); clamp container values to containerd's own instead
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    discard_unpacked_layers = false
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$KC_STATE/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$KC_STATE/certs.d"
TOML

  # Pods: one bridge ($KC_BRIDGE, created by net.sh with the gateway address), host-local IPAM in
  # our own data dir, hostPort support. No IP masquerade: pods only talk to cluster addresses.
  kc_put "$KC_STATE/cni/net.d/10-kinject.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "kinject",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$KC_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$KC_STATE/cni/ipam",
        "ranges": [[{"subnet": "$KC_POD_CIDR", "gateway": "$KC_POD_GW"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON

  # What pods with dnsPolicy Default (and the kubelet's own search list) see: cluster DNS only.
  printf 'nameserver %s\n' "$KC_DNS_IP" | kc_put "$KC_STATE/resolv.conf"

  kc_put "$KC_STATE/kubelet/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $KC_NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $KC_PKI/ca.crt
authorization:
  mode: Webhook
tlsCertFile: $KC_PKI/kubelet-serving.crt
tlsPrivateKeyFile: $KC_PKI/kubelet-serving.key
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$KC_CONTAINERD_SOCK
imageServiceEndpoint: unix://$KC_CONTAINERD_SOCK
failSwapOn: false
clusterDNS: ["$KC_DNS_IP"]
clusterDomain: $KC_CLUSTER_DOMAIN
resolvConf: $KC_STATE/resolv.conf
# locally imported images must never be garbage-collected
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
imageMinimumGCAge: 87600h
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
evictionPressureTransitionPeriod: 30s
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
maxPods: 110
syncFrequency: 10s
nodeStatusReportFrequency: 10s
fileCheckFrequency: 10s
staticPodPath: ""
protectKernelDefaults: false
makeIPTablesUtilChains: true
enableControllerAttachDetach: true
shutdownGracePeriod: 0s
shutdownGracePeriodCriticalPods: 0s
YAML

  kc_put "$KC_STATE/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection:
  kubeconfig: $KC_STATE/kube-proxy.kubeconfig
hostnameOverride: $KC_NODE_NAME
mode: iptables
clusterCIDR: $KC_POD_CIDR
detectLocalMode: ClusterCIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: ["$KC_NODE_IP/32"]
oomScoreAdj: 0
conntrack:
  maxPerCore: 0
  min: 0
iptables:
  localhostNodePorts: false
  syncPeriod: 10s
  minSyncPeriod: 1s
YAML

  # CoreDNS as a host process on the node IP. Names outside the cluster get NXDOMAIN here and are
  # never forwarded anywhere.
  kc_put "$KC_STATE/Corefile" <<COREFILE
$KC_CLUSTER_DOMAIN:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $KC_DNS_IP
    errors
    health 127.0.0.1:10280
    ready 127.0.0.1:10281
    kubernetes $KC_CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $KC_STATE/coredns.kubeconfig kinject
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }
    cache 5
    loadbalance
}
.:53 {
    bind $KC_DNS_IP
    errors
    template ANY ANY . {
        rcode NXDOMAIN
    }
}
COREFILE
}
