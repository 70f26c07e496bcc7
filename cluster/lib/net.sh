# cluster/lib/net.sh — host networking for the cluster: kernel switches, the node interface
# ($KC_IFACE, holding the node IP), the pod bridge, blackhole routes for the invented ranges, a
# default route only if the machine has none, and an egress guard that rejects pod traffic bound
# anywhere but the cluster. Everything added is recorded in $KC_STATE/net so down.sh removes
# exactly that (iptables chains: those absent from the snapshot taken before the first start).
# shellcheck shell=bash

KC_NET_STATE="$KC_STATE/net"

kc_net_up() {
  mkdir -p "$KC_NET_STATE"
  # containerd's CRI bind-mounts /run/netns onto itself; remember whether it was a mount before
  if [ ! -f "$KC_NET_STATE/netns-dir-was-mount" ]; then
    if mountpoint -q /run/netns 2>/dev/null; then echo yes; else echo no; fi > "$KC_NET_STATE/netns-dir-was-mount"
  fi
  # iptables snapshot of chains that existed before this cluster touched anything
  if [ ! -f "$KC_NET_STATE/chains-before.v4" ]; then
    iptables-save 2>/dev/null | awk '/^:/{print $1}' | sort -u > "$KC_NET_STATE/chains-before.v4" || true
    ip6tables-save 2>/dev/null | awk '/^:/{print $1}' | sort -u > "$KC_NET_STATE/chains-before.v6" || true
  fi
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null || true
  # kernel switches; the values found before the first start are restored by down.sh
  local k
  for k in net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 \
           fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288; do
    if ! grep -q "^${k%%=*}=" "$KC_NET_STATE/sysctl-before" 2>/dev/null; then
      echo "${k%%=*}=$(sysctl -n "${k%%=*}" 2>/dev/null)" >> "$KC_NET_STATE/sysctl-before"
    fi
    sysctl -qw "$k" >/dev/null 2>&1 || kc_log "warning: sysctl $k failed"
  done

  # The kernel here has no "dummy" link type (ip link add ... type dummy: Unknown device type),
  # so the node interface is a port-less bridge: it holds addresses exactly like a dummy does.
  if ! ip link show "$KC_IFACE" >/dev/null 2>&1; then
    ip link add "$KC_IFACE" type dummy 2>/dev/null || ip link add "$KC_IFACE" type bridge
  fi
  ip addr replace "$KC_NODE_CIDR" dev "$KC_IFACE"
  ip link set "$KC_IFACE" up
  if ! ip link show "$KC_BRIDGE" >/dev/null 2>&1; then
    ip link add "$KC_BRIDGE" type bridge
  fi
  ip addr replace "$KC_POD_GW/${KC_POD_CIDR#*/}" dev "$KC_BRIDGE"
  ip link set "$KC_BRIDGE" up
  # unallocated addresses in our invented ranges must fail here, never leave the machine
  ip route replace blackhole "${KC_NODE_IP%.*.*}.0.0/16"
  ip route replace blackhole "$KC_SERVICE_CIDR"
  if [ -z "$(ip -4 route show default)" ]; then
    ip route add default dev "$KC_IFACE" && touch "$KC_NET_STATE/added-default-route"
  fi

  # Egress guard: pod packets may be forwarded only back into the pod bridge (to other pods);
  # node and service addresses are local (INPUT) after kube-proxy's DNAT, so they still work.
  iptables -N KINJECT-EGRESS 2>/dev/null || true
  iptables -F KINJECT-EGRESS
  iptables -A KINJECT-EGRESS -i "$KC_BRIDGE" -o "$KC_BRIDGE" -j RETURN
  iptables -A KINJECT-EGRESS -i "$KC_BRIDGE" -j REJECT --reject-with icmp-net-unreachable
  kc_net_guard_first
}

# kc_net_guard_first — keep the egress guard as FORWARD's first rule (kube-proxy and the kubelet
# insert their own jumps at the top when they start).
kc_net_guard_first() {
  [ "$(iptables -S FORWARD 2>/dev/null | sed -n 2p)" = "-A FORWARD -j KINJECT-EGRESS" ] && return 0
  while iptables -D FORWARD -j KINJECT-EGRESS 2>/dev/null; do :; done
  iptables -I FORWARD 1 -j KINJECT-EGRESS
}

# _kc_ipt_cleanup FAMILY(v4|v6) — remove chains (and jumps to them) that were not there before.
_kc_ipt_cleanup() {
  local fam="$1" save restore before table
  if [ "$fam" = v4 ]; then save=iptables-save; restore=iptables-restore; else save=ip6tables-save; restore=ip6tables-restore; fi
  command -v "$save" >/dev/null || return 0
  before="$KC_NET_STATE/chains-before.$fam"
  [ -f "$before" ] || return 0
  for table in filter nat mangle raw; do
    local dump new
    dump="$($save -t "$table" 2>/dev/null)" || continue
    # chains we added: KUBE-*, CNI-*, KINJECT-* not present in the snapshot
    new="$(awk '/^:/{print substr($1,2)}' <<<"$dump" | grep -E '^(KUBE-|CNI-|KINJECT-)' \
           | while read -r c; do grep -qxF ":$c" "$before" || echo "$c"; done || true)"
    [ -n "$new" ] || continue
    awk -v list="$new" '
      BEGIN { n = split(list, a, "\n"); for (i = 1; i <= n; i++) drop[a[i]] = 1 }
      /^:/ { if (substr($1, 2) in drop) next }
      /^-A / {
        if ($2 in drop) next
        for (i = 3; i <= NF; i++) if (($i == "-j" || $i == "-g") && ($(i+1) in drop)) next
      }
      { print }' <<<"$dump" | $restore -T "$table" 2>/dev/null \
      || kc_log "warning: could not clean $fam table $table"
  done
}

kc_net_down() {
  if [ -f "$KC_NET_STATE/sysctl-before" ]; then
    local kv
    while read -r kv; do [ -n "${kv#*=}" ] && sysctl -qw "$kv" >/dev/null 2>&1 || true; done < "$KC_NET_STATE/sysctl-before"
    rm -f "$KC_NET_STATE/sysctl-before"
  fi
  _kc_ipt_cleanup v4
  _kc_ipt_cleanup v6
  if [ -f "$KC_NET_STATE/added-default-route" ]; then
    ip route del default dev "$KC_IFACE" 2>/dev/null || true
    rm -f "$KC_NET_STATE/added-default-route"
  fi
  ip route del blackhole "${KC_NODE_IP%.*.*}.0.0/16" 2>/dev/null || true
  ip route del blackhole "$KC_SERVICE_CIDR" 2>/dev/null || true
  # pod veths die with their network namespaces; remove what is left on the bridge anyway
  local l
  for l in $(ip -o link show master "$KC_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$l" 2>/dev/null || true
  done
  ip link del "$KC_BRIDGE" 2>/dev/null || true
  ip link del "$KC_IFACE" 2>/dev/null || true
  if [ "$(cat "$KC_NET_STATE/netns-dir-was-mount" 2>/dev/null)" = no ] && mountpoint -q /run/netns 2>/dev/null \
     && [ -z "$(ls -A /run/netns 2>/dev/null)" ]; then
    umount /run/netns 2>/dev/null || true
  fi
  rm -f "$KC_NET_STATE/netns-dir-was-mount"
  # the next up.sh takes a fresh snapshot of the host
  rm -rf "$KC_NET_STATE"
}
