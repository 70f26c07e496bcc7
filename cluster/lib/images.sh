# cluster/lib/images.sh — builds the cluster's container images as OCI layout tarballs (no
# registry exists here) and imports them into the cluster's containerd (namespace k8s.io):
#   kinject.local/pause:3.10.1     static pause binary from the k8s.io/kubernetes module
#   kinject.local/node:<major>     host node binary + the shared libs ldd lists (runs as uid 1000)
#   kinject.local/toolbox:1        the node image + busybox-static applets (shell, wget, nc, ...)
# Tarballs are cached in $KC_CACHE/images, keyed on the node version, busybox version, K8S_VERSION
# and IMAGES_REV.
# shellcheck shell=bash

KC_IMG_DIR="$KC_CACHE/images"
KC_NODE_MAJOR="$(node --version 2>/dev/null | sed 's/^v\([0-9]*\).*/\1/')"
KC_PAUSE_IMAGE="kinject.local/pause:3.10.1"
KC_NODE_IMAGE="kinject.local/node:${KC_NODE_MAJOR:-20}"
KC_TOOLBOX_IMAGE="kinject.local/toolbox:1"

_kc_sha() { sha256sum "$1" | cut -d' ' -f1; }
_kc_size() { stat -c %s "$1"; }

# _kc_oci_pack ROOTFS REF OUT.tar CONFIG_JSON_FRAGMENT — one-layer OCI layout tarball.
# CONFIG_JSON_FRAGMENT is the body of the image config's "config" object (Env, Cmd, User, ...).
_kc_oci_pack() {
  local rootfs="$1" ref="$2" out="$3" cfg="$4" work
  work="$(mktemp -d "$KC_IMG_DIR/.pack.XXXXXX")"
  mkdir -p "$work/blobs/sha256"
  tar --sort=name --numeric-owner --mtime=@0 --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
      -C "$rootfs" -cf "$work/layer.tar" .
  local ldig lsize
  ldig="$(_kc_sha "$work/layer.tar")"; lsize="$(_kc_size "$work/layer.tar")"
  mv "$work/layer.tar" "$work/blobs/sha256/$ldig"
  printf '{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z","config":{%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kinject cluster/lib/images.sh"}]}' \
    "$cfg" "$ldig" > "$work/config.json"
  local cdig csize
  cdig="$(_kc_sha "$work/config.json")"; csize="$(_kc_size "$work/config.json")"
  mv "$work/config.json" "$work/blobs/sha256/$cdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$cdig" "$csize" "$ldig" "$lsize" > "$work/manifest.json"
  local mdig msize
  mdig="$(_kc_sha "$work/manifest.json")"; msize="$(_kc_size "$work/manifest.json")"
  mv "$work/manifest.json" "$work/blobs/sha256/$mdig"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
    "$mdig" "$msize" "$ref" "${ref##*:}" > "$work/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' > "$work/oci-layout"
  tar --sort=name --numeric-owner --owner=0 --group=0 --mtime=@0 -C "$work" -cf "$out.tmp" oci-layout index.json blobs
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

# _kc_base_rootfs DIR — /etc files, /tmp 1777, home for user node (uid/gid 1000).
_kc_base_rootfs() {
  local r="$1"
  mkdir -p "$r/etc" "$r/tmp" "$r/root" "$r/home/node" "$r/proc" "$r/sys" "$r/dev" "$r/run" "$r/var/tmp"
  chmod 1777 "$r/tmp" "$r/var/tmp"; chmod 700 "$r/root"
  chown 1000:1000 "$r/home/node"
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000:node:/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n' > "$r/etc/group"
  printf 'hosts: files dns\npasswd: files\ngroup: files\nservices: files\nprotocols: files\n' > "$r/etc/nsswitch.conf"
  [ -f /etc/services ] && cp /etc/services "$r/etc/services"
  [ -f /etc/protocols ] && cp /etc/protocols "$r/etc/protocols"
  : > "$r/etc/hosts"; : > "$r/etc/resolv.conf"; echo kinject > "$r/etc/hostname"
}

# _kc_node_rootfs DIR — the host node binary and the shared libraries it links.
_kc_node_rootfs() {
  local r="$1" nodebin lib
  nodebin="$(readlink -f "$(command -v node)")"
  mkdir -p "$r/usr/local/bin"
  cp "$nodebin" "$r/usr/local/bin/node"
  strip --strip-debug "$r/usr/local/bin/node" 2>/dev/null || true
  for lib in $(ldd "$nodebin" | awk '/=> \//{print $3} /^[[:space:]]*\/[^ ]*ld-linux/{print $1}'); do
    mkdir -p "$r$(dirname "$lib")"
    cp -L "$lib" "$r$lib"
  done
  # the dynamic loader's path is fixed in the binary (/lib64/ld-linux-x86-64.so.2): make sure the
  # usual merged-/usr layout resolves
  [ -e "$r/lib64/ld-linux-x86-64.so.2" ] || kc_die "dynamic loader missing from node rootfs"
}

kc_images_build() {
  kc_apt busybox-static binutils
  [ -n "$KC_NODE_MAJOR" ] || kc_die "node is not installed on the host (needed to build images)"
  mkdir -p "$KC_IMG_DIR"
  local nodever bbver key
  nodever="$(node --version)"
  bbver="$(dpkg-query -W -f='${Version}' busybox-static)"
  key="r$IMAGES_REV-$K8S_VERSION-node$nodever-bb$bbver"
  key="$(echo "$key" | tr -c 'A-Za-z0-9._\n-' '_')"
  KC_PAUSE_TAR="$KC_IMG_DIR/pause-$key.tar"
  KC_NODE_TAR="$KC_IMG_DIR/node-$key.tar"
  KC_TOOLBOX_TAR="$KC_IMG_DIR/toolbox-$key.tar"
  local env='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'
  local tmp
  if [ ! -f "$KC_PAUSE_TAR" ]; then
    kc_log "building image $KC_PAUSE_IMAGE"
    tmp="$(mktemp -d "$KC_IMG_DIR/.root.XXXXXX")"
    install -m 755 "$KC_K8S_DIR/bin/pause" "$tmp/pause"
    _kc_oci_pack "$tmp" "$KC_PAUSE_IMAGE" "$KC_PAUSE_TAR" "$env"',"Entrypoint":["/pause"],"User":"65535:65535"'
    rm -rf "$tmp"
  fi
  if [ ! -f "$KC_NODE_TAR" ]; then
    kc_log "building image $KC_NODE_IMAGE"
    tmp="$(mktemp -d "$KC_IMG_DIR/.root.XXXXXX")"
    _kc_base_rootfs "$tmp"; _kc_node_rootfs "$tmp"
    _kc_oci_pack "$tmp" "$KC_NODE_IMAGE" "$KC_NODE_TAR" \
      "$env"',"Cmd":["node"],"User":"1000:1000","WorkingDir":"/home/node"'
    rm -rf "$tmp"
  fi
  if [ ! -f "$KC_TOOLBOX_TAR" ]; then
    kc_log "building image $KC_TOOLBOX_IMAGE"
    tmp="$(mktemp -d "$KC_IMG_DIR/.root.XXXXXX")"
    _kc_base_rootfs "$tmp"; _kc_node_rootfs "$tmp"
    ldd /bin/busybox >/dev/null 2>&1 && kc_die "/bin/busybox is not static (need busybox-static)"
    mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin"
    install -m 755 /bin/busybox "$tmp/bin/busybox"
    local a
    for a in $(/bin/busybox --list-full); do
      [ -e "$tmp/$a" ] || ln -s /bin/busybox "$tmp/$a"
    done
    _kc_oci_pack "$tmp" "$KC_TOOLBOX_IMAGE" "$KC_TOOLBOX_TAR" "$env"',"Cmd":["/bin/sh"]'
    rm -rf "$tmp"
  fi
}

# kc_images_import — import any image containerd does not have yet (idempotent).
kc_images_import() {
  local have ref tar
  have="$(ctr -a "$KC_CONTAINERD_SOCK" -n k8s.io images ls -q 2>/dev/null || true)"
  for pair in "$KC_PAUSE_IMAGE=$KC_PAUSE_TAR" "$KC_NODE_IMAGE=$KC_NODE_TAR" "$KC_TOOLBOX_IMAGE=$KC_TOOLBOX_TAR"; do
    ref="${pair%%=*}"; tar="${pair#*=}"
    if ! grep -qxF "$ref" <<<"$have" || [ "$(cat "$KC_STATE/images/$(echo "$ref" | tr '/:' '__')" 2>/dev/null)" != "$tar" ]; then
      kc_log "importing $ref"
      ctr -a "$KC_CONTAINERD_SOCK" -n k8s.io images import "$tar" >/dev/null
      mkdir -p "$KC_STATE/images"; echo "$tar" > "$KC_STATE/images/$(echo "$ref" | tr '/:' '__')"
    fi
  done
}
