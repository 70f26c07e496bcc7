#!/usr/bin/env bash
# cluster/down.sh — stops the local cluster: every daemon up.sh started (by its recorded pid, never
# by name), the pod containers and their containerd shims (pids recorded by our containerd), then
# unmounts what the cluster mounted, removes pod network namespaces, the interfaces, routes and
# iptables chains it added, and the cgroups the kubelet created. Keeps certs, etcd data, the image
# store and the caches so the next up.sh is fast; `down.sh --purge` also deletes all state.
set -euo pipefail
KC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$KC_DIR/lib/common.sh"
source "$KC_DIR/lib/proc.sh"
source "$KC_DIR/lib/net.sh"

kc_need_root
PURGE=0; [ "${1:-}" = "--purge" ] && PURGE=1
kc_lock 2400

CTR=(ctr -a "$KC_CONTAINERD_SOCK" -n k8s.io)
SHIM_STATE="$KC_RUN/containerd/state/io.containerd.runtime.v2.task"

# 1. no new pods: stop the kubelet first
kc_stop kubelet 20

# 2. pod containers: kill their tasks and delete them so that containerd's shims exit by themselves
if kc_running containerd; then
  ids="$("${CTR[@]}" containers ls -q 2>/dev/null || true)"
  for id in $ids; do "${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
  sleep 0.5
  for id in $ids; do "${CTR[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true; done
  for id in $ids; do "${CTR[@]}" containers delete "$id" >/dev/null 2>&1 || true; done
fi

# 3. the other daemons, in reverse start order
for d in coredns kube-proxy kube-scheduler kube-controller-manager kube-apiserver etcd; do
  kc_stop "$d" 20
done
kc_stop containerd 20

# 4. shims still alive, with the container processes they parent. Their pids are the ones our
#    containerd recorded (state dir shim.pid); as a safety net also any shim whose command line
#    names our private containerd socket (its state may be gone if a previous run was interrupted).
kill_shim() {
  local pid="$1" kids
  [[ "$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline")" == *" -address $KC_CONTAINERD_SOCK "* ]] || return 0
  kids="$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -s ' \n' ' ')"
  kc_log "killing leftover containerd shim pid $pid (children:${kids:- none})"
  if [ -n "${kids// }" ]; then kill -KILL $kids 2>/dev/null || true; fi
  kill -KILL "$pid" 2>/dev/null || true
}
shims=""
if [ -d "$SHIM_STATE" ]; then
  for f in "$SHIM_STATE"/*/*/shim.pid; do [ -f "$f" ] && shims+=" $(cat "$f")"; done
fi
for d in /proc/[0-9]*; do
  [[ "$(tr '\0' ' ' 2>/dev/null < "$d/cmdline")" == *containerd-shim*" -address $KC_CONTAINERD_SOCK "* ]] \
    && shims+=" ${d#/proc/}"
done
for pid in $(echo "$shims" | tr ' ' '\n' | sort -un); do kill_shim "$pid"; done
sleep 0.3

# 5. kube-proxy's own rule cleanup, then every chain we added (see net.sh)
if [ -x "$KC_K8S_DIR/bin/kube-proxy" ]; then
  "$KC_K8S_DIR/bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
fi

# 6. mounts under our directories, deepest first: pod rootfs overlays, /dev/shm of sandboxes,
#    pod network namespaces (containerd keeps them under its state dir), kubelet volumes
umount_under() {
  local root="$1" m pass
  for pass in 1 2 3; do
    local mounts
    mounts="$(awk -v r="$root" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -ru)"
    [ -n "$mounts" ] || return 0
    while read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done <<<"$mounts"
  done
  awk -v r="$root" '$5 == r || index($5, r "/") == 1 {print "could not unmount " $5}' /proc/self/mountinfo >&2
}
umount_under "$KC_STATE"
umount_under "$KC_RUN"
rm -f /var/lib/cni/results/kinject-* 2>/dev/null || true
rm -rf "$KC_STATE/cni/ipam"

# 7. cgroups the kubelet created (only empty ones can go; all their processes are gone)
for c in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/kubepods.slice; do
  [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

# 8. interfaces, routes, iptables chains
kc_net_down

rm -rf "$KC_RUN" || kc_log "warning: could not remove all of $KC_RUN"
if [ "$PURGE" = 1 ]; then
  kc_log "purging $KC_STATE"
  umount_under "$KC_STATE"
  rm -rf "$KC_STATE"
fi
kc_log "cluster stopped"
