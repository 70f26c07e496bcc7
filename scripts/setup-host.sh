#!/usr/bin/env bash
# Installs the Debian packages kinject's build and tests use (the local cluster's own packages are
# installed by cluster/up.sh). Idempotent and quiet when everything is present; needs root to install.
set -euo pipefail
want=(curl iproute2 sshfs fuse3 acl gcc libc6-dev python3 python3-dotenv dash busybox-static
  openjdk-17-jdk-headless redis-tools redis-server libjemalloc2 libtcmalloc-minimal4
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user binutils make zsh fish
  slirp4netns openssl wrk apache2-utils
  sudo  # sudo: test/e2e/teleport-sudo-real.test.js runs the real `sudo kinject teleport` as a user
  chromium)  # chromium: the inspection page's browser test (test/e2e/inspect-ui.test.js, playwright-core)
# 32-bit binaries for test/native/binary-kinds.test.js, from the i686 cross gcc (gcc-multilib
# conflicts with the arm64 cross gcc that the prebuilt shims need: apt would remove one for the other)
[ "$(dpkg --print-architecture)" = amd64 ] && want+=(gcc-i686-linux-gnu libc6-dev-i386-cross)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
# kinject run --method netns (slirp4netns) opens /dev/net/tun as the user: distributions' udev makes
# it 0666, a container without udev may leave it 0600
if [ -c /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ] && [ "$(id -u)" -eq 0 ]; then
  chmod 0666 /dev/net/tun
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: missing packages: ${missing[*]} (install them with apt-get as root)" >&2
  exit 1
fi
echo "setup-host: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
