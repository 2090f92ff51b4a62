#!/usr/bin/env bash
# Build the hotline image without a Docker engine or a registry: buildah (chroot isolation) on a Debian bookworm
# base image made here with debootstrap from deb.debian.org. Re-runnable: the base is made once and reused.
#
#   scripts/build-image.sh                 # base if missing, then the image
#   scripts/build-image.sh --rebuild-base  # make the base again first (e.g. for Debian security updates)
#   scripts/build-image.sh --check         # then, from the image: --help, migrate, scheduler, serve + /healthz
#
# Needs root and Debian's buildah and debootstrap (apt-get install buildah debootstrap). Environment:
#   IMAGE (localhost/hotline:dev), BASE_IMAGE (localhost/hotline-base:bookworm),
#   DEBIAN_MIRROR (http://deb.debian.org/debian), STORAGE_DRIVER (overlay if it works here, else vfs),
#   CA_BUNDLE (default $PIP_CERT: a CA bundle pip in the build must trust, e.g. a TLS-inspecting proxy's),
#   CHECK_PORT (18080: where --check serves, on the host's network).
set -euo pipefail

IMAGE=${IMAGE:-localhost/hotline:dev}
BASE_IMAGE=${BASE_IMAGE:-localhost/hotline-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
REPO=$(cd "$(dirname "$0")/.." && pwd)
REBUILD_BASE=0
CHECK=0

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }
for arg in "$@"; do
  case $arg in
    --rebuild-base) REBUILD_BASE=1 ;;
    --check) CHECK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $arg" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*"; }
[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and buildah's chroot isolation need it)" >&2; exit 1; }
for tool in buildah debootstrap; do
  command -v "$tool" >/dev/null || { echo "$tool missing: apt-get install buildah debootstrap" >&2; exit 1; }
done
export BUILDAH_ISOLATION=chroot

# overlay where the kernel allows it (needs a mount, not just a container); vfs otherwise (slower, more disk).
if [ -z "${STORAGE_DRIVER:-}" ]; then
  probe=$(buildah from scratch 2>/dev/null) || probe=""
  if [ -n "$probe" ] && buildah mount "$probe" >/dev/null 2>&1; then
    buildah umount "$probe" >/dev/null
  else
    export STORAGE_DRIVER=vfs
  fi
  [ -n "$probe" ] && buildah rm "$probe" >/dev/null
fi
say "buildah $(buildah --version | awk '{print $3}'), storage driver ${STORAGE_DRIVER:-overlay}, isolation chroot"

rootfs=""
remove_rootfs() {
  case $rootfs in /var/tmp/hotline-base.?*) ;; *) return 0 ;; esac
  # A failed debootstrap may leave /proc, /sys or a bind of /dev mounted inside: unmount, never delete through.
  awk -v r="$rootfs/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | xargs -r -n 1 umount -l
  rm -rf --one-file-system "$rootfs"
  rootfs=""
}

make_base() {
  local ctr mnt
  rootfs=$(mktemp -d /var/tmp/hotline-base.XXXXXX)
  case $rootfs in /var/tmp/hotline-base.?*) ;; *) echo "mktemp gave '$rootfs'" >&2; exit 1 ;; esac
  trap remove_rootfs EXIT
  say "debootstrap $SUITE from $MIRROR into $rootfs"
  debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$SUITE" "$rootfs" "$MIRROR"
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb ${MIRROR%/debian}/debian-security $SUITE-security main
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/90container" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
EOF
  say "security and point-release updates"
  chroot "$rootfs" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -y -qq upgrade'
  chroot "$rootfs" apt-get clean
  # Documentation and translations out, now and for later installs (copyright files stay), as slim images do.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    'path-include /usr/share/locale/locale.alias' >"$rootfs/etc/dpkg/dpkg.cfg.d/90container-excludes"
  chroot "$rootfs" /bin/sh -c 'find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete;
    find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +;
    rm -rf /usr/share/man/* /usr/share/info/* /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log \
      /var/cache/debconf/*-old /tmp/* /root/.cache'
  : >"$rootfs/etc/resolv.conf"     # the host's, copied by debootstrap; buildah and docker mount their own
  echo hotline-base >"$rootfs/etc/hostname"

  say "importing the root filesystem as $BASE_IMAGE"
  ctr=$(buildah from scratch)
  mnt=$(buildah mount "$ctr")
  tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  buildah umount "$ctr" >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 \
    --cmd /bin/bash --label org.opencontainers.image.description="Debian $SUITE minbase with python3" "$ctr"
  buildah commit --quiet --rm --format docker "$ctr" "$BASE_IMAGE" >/dev/null
  remove_rootfs
  trap - EXIT
}

if [ "$REBUILD_BASE" -eq 1 ] && buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  buildah rmi --force "$BASE_IMAGE" >/dev/null
fi
if buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  say "reusing $BASE_IMAGE (--rebuild-base to make it again)"
else
  started=$SECONDS
  make_base
  say "base $BASE_IMAGE made in $((SECONDS - started)) s"
fi

# pip in the build trusts what pip trusts here (a TLS-inspecting proxy's CA): the bundle is mounted, not copied.
ca_args=()
CA_BUNDLE=${CA_BUNDLE:-${PIP_CERT:-}}
if [ -n "$CA_BUNDLE" ] && [ -f "$CA_BUNDLE" ]; then
  ca_args=(--volume "$CA_BUNDLE:/run/build-ca.pem:ro" --build-arg PIP_CERT=/run/build-ca.pem)
fi

say "building $IMAGE from $REPO"
started=$SECONDS
# docker format: OCI images cannot carry HEALTHCHECK. --pull=never: the base exists only in local storage.
buildah bud --isolation chroot --format docker --layers --pull=never "${ca_args[@]}" \
  --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f "$REPO/Dockerfile" "$REPO"
say "built $IMAGE in $((SECONDS - started)) s"

if [ "$CHECK" -eq 1 ]; then
  say "check: hotline --help; hotline migrate; hotline serve with 2 workers; GET /healthz and /readyz"
  ctr=$(buildah from --pull=never "$IMAGE")
  server=""
  stop_server() {
    # buildah run leaves the workers behind when it alone is killed: stop the whole process group.
    [ -n "$server" ] || return 0
    kill -TERM -- "-$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  }
  trap 'stop_server; buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
  env_args=(--env HOTLINE_ENV=development --env HOTLINE_DATABASE_URL=sqlite:////tmp/check.db
    --env HOTLINE_MIGRATE_ON_START=false --env HOTLINE_WEB_WORKERS=2)
  buildah run "$ctr" -- id
  buildah run "$ctr" -- hotline --help
  buildah run "${env_args[@]}" "$ctr" -- hotline migrate
  buildah run "$ctr" -- espeak-ng --version
  # The scheduler runs until stopped: 8 seconds of it, then SIGTERM (timeout's exit status 124 is the good one).
  buildah run "${env_args[@]}" "$ctr" -- timeout 8 hotline scheduler || [ $? -eq 124 ]
  port=${CHECK_PORT:-18080}
  # chroot isolation shares the host's network, so the host reaches the port directly.
  setsid buildah run "${env_args[@]}" "$ctr" -- hotline serve --host 127.0.0.1 --port "$port" &
  server=$!
  health="" ready=""
  for _ in $(seq 60); do
    if health=$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null); then break; fi
    sleep 1
  done
  ready=$(curl -sS "http://127.0.0.1:$port/readyz" 2>&1) || true
  echo "GET /healthz -> ${health:-no answer}"
  echo "GET /readyz  -> ${ready:-no answer}"
  stop_server
  [ -n "$health" ] || { echo "check failed: /healthz did not answer" >&2; exit 1; }
fi

for image in "$BASE_IMAGE" "$IMAGE"; do
  say "$(buildah images --format '{{.Name}}:{{.Tag}} {{.ID}} {{.Size}}' "$image" | head -1)"
done
# Earlier builds stay as untagged images (the layer cache); `buildah rmi --prune` frees their space.
