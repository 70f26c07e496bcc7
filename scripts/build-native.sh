#!/usr/bin/env bash
# Builds the preload shim with node-gyp. Debian's Node keeps its headers in /usr/include/node:
# point node-gyp there when present so the build works offline.
set -euo pipefail
cd "$(dirname "$0")/.."
args=(rebuild --silent)
if [ -f /usr/include/node/node.h ]; then args+=(--nodedir=/usr); fi
gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(command -v node-gyp)"
exec node "$gyp" "${args[@]}"
