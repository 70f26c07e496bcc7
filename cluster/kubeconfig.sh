#!/usr/bin/env bash
# cluster/kubeconfig.sh — prints the path of the local cluster's admin kubeconfig, nothing else.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib/common.sh"
echo "$KC_ADMIN_KUBECONFIG"
