#!/usr/bin/env bash
# cluster/restart-component.sh NAME [DOWN_SECONDS] — restarts one daemon of the running local
# cluster (kube-apiserver or kubelet) the way an upgrade or crash would: SIGTERM to the recorded
# pid (lib/proc.sh), DOWN_SECONDS (default 3) with it gone, then the same command line again.
# Prints the UTC epoch milliseconds at which it answers health checks again on its last line
# ("back <ms>"). For the chaos suite (chaos/scenarios/restart.js); the cluster is shared, so
# use it sparingly. Needs root.
set -euo pipefail
KC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$KC_DIR/lib/common.sh"
source "$KC_DIR/lib/proc.sh"
source "$KC_DIR/lib/wait.sh"
kc_need_root
name="${1:-}"; down="${2:-3}"
case "$name" in
  kube-apiserver) ok=kc_apiserver_ok ;;
  kubelet) ok=kc_kubelet_ok ;;
  *) kc_die "usage: cluster/restart-component.sh kube-apiserver|kubelet [DOWN_SECONDS]" ;;
esac
kc_running "$name" || kc_die "$name is not running: start the cluster with cluster/up.sh"
pid="$(kc_pid "$name")"
mapfile -d '' cmd < "/proc/$pid/cmdline"
kc_stop "$name"
sleep "$down"
kc_start "$name" "${cmd[@]}"
kc_wait_for "$name" 120 "$ok" || kc_die "$name did not come back (see $KC_LOGS/$name.log)"
echo "back $(date +%s%3N)"
