#!/usr/bin/env bash
# The demo (`npm run demo`): builds kinject, starts the local cluster if none is running, and runs a
# local command inside the `web` workload's world: it prints a variable that comes from the
# web-secret Secret and fetches http://hello, a ClusterIP service, by its short name.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
npm run -s build
bash cluster/up.sh
KUBECONFIG="$(bash cluster/kubeconfig.sh)"
export KUBECONFIG
echo "+ kinject run -n kinject-demo --target deployment/web -- sh -c 'echo API_KEY=\$API_KEY; curl -sS http://hello/'" >&2
exec ./bin/kinject run -n kinject-demo --target deployment/web -- \
  sh -c 'echo "API_KEY=$API_KEY (from Secret web-secret)"; curl -sS --max-time 10 http://hello/; echo'
