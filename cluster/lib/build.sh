#!/usr/bin/env bash
# cluster/lib/build.sh — builds (once, cached) the cluster's binaries from Go modules:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy (k8s.io/kubernetes
# via a wrapper module), etcd (go.etcd.io/etcd/server/v3), a slim CoreDNS (only the plugins the
# cluster uses), and the static pause binary. Output: $KC_*_DIR/bin, guarded by .done stamps that
# are keyed on the pinned versions. Run directly (`bash cluster/lib/build.sh`) or source it.
set -euo pipefail
KC_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=common.sh
source "$KC_LIB/common.sh"

kc_go_env() {
  export GOMODCACHE="$KC_GO_CACHE/mod" GOCACHE="$KC_GO_CACHE/build" GOPATH="$KC_GO_CACHE/path"
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
  command -v go >/dev/null || kc_die "go not found (expected /usr/local/go/bin/go)"
}

# Wrapper module for k8s.io/kubernetes: its go.mod points every staging module (k8s.io/api, ...)
# at v0.0.0 + a replace into ./staging, which a dependent module cannot use. We replace each such
# module by its published v0.<minor>.<patch> release instead, and copy the godebug line.
kc_build_k8s() {
  local bin="$KC_K8S_DIR/bin" src="$KC_K8S_DIR/src"
  [ -f "$KC_K8S_DIR/.done" ] && return 0
  kc_go_env
  mkdir -p "$bin" "$src"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local patch="${K8S_VERSION##*.}"
  local staging_ver="v0.$minor.$patch"
  kc_log "building Kubernetes $K8S_VERSION (staging modules at $staging_ver) into $bin"
  local kmod
  kmod="$(cd "$src" && GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
          | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  [ -f "$kmod" ] || kc_die "could not download k8s.io/kubernetes@$K8S_VERSION"
  {
    echo "module kinject.local/k8sbuild"
    echo
    grep -m1 '^go ' "$kmod"
    grep -m1 '^godebug' "$kmod" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    awk '/^replace \(/{r=1;next} r&&/^\)/{r=0} r&&/=> \.\/staging/{print $1}' "$kmod" \
      | while read -r m; do echo "	$m => $m $staging_ver"; done
    echo ")"
  } > "$src/go.mod"
  # a file that imports nothing keeps `go build` happy about the main module having a package
  printf 'package k8sbuild\n' > "$src/doc.go"
  local date; date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ld="-s -w"
  local p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=$date"
  done
  ( cd "$src" && go build -trimpath -ldflags="$ld" -o "$bin/" \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler \
      k8s.io/kubernetes/cmd/kubelet \
      k8s.io/kubernetes/cmd/kube-proxy )
  # pause: the C source ships inside the k8s.io/kubernetes module
  kc_build_pause
  touch "$KC_K8S_DIR/.done"
}

kc_build_pause() {
  local bin="$KC_K8S_DIR/bin" c
  kc_apt gcc libc6-dev
  c="$GOMODCACHE/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
  [ -f "$c" ] || (cd "$KC_K8S_DIR/src" && GOFLAGS= go mod download "k8s.io/kubernetes@$K8S_VERSION")
  gcc -Os -static -DVERSION="$K8S_VERSION" -o "$bin/pause" "$c"
  strip "$bin/pause"
}

kc_build_etcd() {
  local bin="$KC_ETCD_DIR/bin" src="$KC_ETCD_DIR/src" v="$ETCD_VERSION"
  [ -f "$KC_ETCD_DIR/.done" ] && return 0
  kc_go_env
  mkdir -p "$bin" "$src"
  kc_log "building etcd $v into $bin"
  cat > "$src/go.mod" <<GOMOD
module kinject.local/etcdbuild

go 1.24

require (
	go.etcd.io/etcd/server/v3 $v
	go.etcd.io/etcd/api/v3 $v
	go.etcd.io/etcd/client/pkg/v3 $v
	go.etcd.io/etcd/client/v3 $v
	go.etcd.io/etcd/pkg/v3 $v
)
GOMOD
  printf 'package etcdbuild\n' > "$src/doc.go"
  ( cd "$src" && go build -trimpath \
      -ldflags="-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3 )
  touch "$KC_ETCD_DIR/.done"
}

# CoreDNS as a library: a tiny main that links coremain plus only the plugins our Corefile uses
# (the stock binary links every cloud DNS provider and takes far longer to build).
kc_build_coredns() {
  local bin="$KC_COREDNS_DIR/bin" src="$KC_COREDNS_DIR/src"
  [ -f "$KC_COREDNS_DIR/.done" ] && return 0
  kc_go_env
  mkdir -p "$bin" "$src"
  kc_log "building CoreDNS $COREDNS_VERSION (slim) into $bin"
  cat > "$src/go.mod" <<GOMOD
module kinject.local/corednsbuild

go 1.25.0

require github.com/coredns/coredns $COREDNS_VERSION
GOMOD
  cat > "$src/main.go" <<'GOSRC'
// Slim CoreDNS for the kinject local cluster: only the plugins its Corefile uses.
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

func main() { coremain.Run() }
GOSRC
  ( cd "$src" && go build -trimpath -ldflags="-s -w" -o "$bin/coredns" . )
  touch "$KC_COREDNS_DIR/.done"
}

kc_build_all() {
  kc_build_k8s
  kc_build_etcd
  kc_build_coredns
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  case "${1:-all}" in
    all) kc_build_all ;;
    k8s) kc_build_k8s ;;
    etcd) kc_build_etcd ;;
    coredns) kc_build_coredns ;;
    pause) kc_go_env; kc_build_pause ;;
    *) kc_die "usage: build.sh [all|k8s|etcd|coredns|pause]" ;;
  esac
fi
