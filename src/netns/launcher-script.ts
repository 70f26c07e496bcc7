// The shell script that runs first in the new user + network + mount namespace, as the namespace's
// root (the user's own uid outside): it puts kinject's resolv.conf over /etc/resolv.conf (and
// removes the file from the host at once: the mount keeps it, so not even a SIGKILL leaves it), hides
// the host's local resolver sockets (systemd-resolved, nscd: reached through the file system, they
// would answer with the host's DNS), bind-mounts the volumes at their in-cluster paths, tells
// kinject it is ready (fd 3), waits until the network is up (kinject writes a line back), then
// enters a nested user namespace that maps the user's uid/gid to themselves and execs the command:
// same pid all along, so kinject's child is the command itself.
// Positional parameters: UNSHARE MOUNT UID GID RESOLV_CONF [SRC DST]... -- CMD [ARG]...

export const LAUNCHER_SCRIPT = String.raw`
set -e
unshare=$1 mount=$2 uid=$3 gid=$4 resolv=$5
shift 5
fail() { echo "kinject: netns: $*" >&2; exit 125; }
"$mount" --bind "$resolv" /etc/resolv.conf 2>/dev/null || fail "cannot put the cluster's resolv.conf over /etc/resolv.conf"
rm -f "$resolv" && rmdir "$(dirname "$resolv")" 2>/dev/null || true
for d in /run/systemd/resolve /run/nscd /var/run/nscd; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then "$mount" -t tmpfs -o size=4k,mode=0755 kinject-hidden "$d" 2>/dev/null || fail "cannot hide $d"; fi
done
while [ "$1" != "--" ]; do
  "$mount" --rbind "$1" "$2" 2>/dev/null || fail "cannot bind-mount the volume $2"
  shift 2
done
shift
echo ns >&3
read -r go <&3 || exit 125
[ "$go" = go ] || exit 125
exec 3>&-
exec "$unshare" --user --map-user="$uid" --map-group="$gid" -- "$@"
`;
