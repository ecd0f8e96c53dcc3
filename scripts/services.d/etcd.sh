# etcd (Debian etcd-server 3.4): the HA store of the cluster tests. Sourced by ../services.sh.
# Environment: SLUICE_ETCD_PORT (23790), SLUICE_ETCD_PEER_PORT (23800).

SERVICES+=(etcd)
ETCD_PORT="${SLUICE_ETCD_PORT:-23790}"
ETCD_PEER_PORT="${SLUICE_ETCD_PEER_PORT:-23800}"

install_etcd() {
  command -v etcd >/dev/null 2>&1 || apt_install etcd-server
  command -v etcd >/dev/null 2>&1 || fail "etcd-server installed but no etcd on PATH"
}

healthy_etcd() {
  # etcdctl comes with etcd-client, which is not always there; /health answers the same question.
  if command -v etcdctl >/dev/null 2>&1; then
    ETCDCTL_API=3 etcdctl --endpoints="127.0.0.1:$ETCD_PORT" --dial-timeout=1s --command-timeout=2s \
      endpoint health >/dev/null 2>&1
  else
    http_get "http://127.0.0.1:$ETCD_PORT/health" | grep -q '"health":"true"'
  fi
}

start_etcd() {
  local dir
  dir="$(service_dir etcd)"
  mkdir -p "$dir/data"
  chmod 700 "$dir/data" # etcd 3.4 insists on a private data dir
  setsid etcd \
    --name sluice-test \
    --data-dir "$dir/data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "sluice-test=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --logger zap \
    >>"$(log_file etcd)" 2>&1 </dev/null &
  echo $! >"$(pid_file etcd)"
}

stop_etcd() { stop_pid etcd "$1"; }

describe_etcd() { echo "client http://127.0.0.1:$ETCD_PORT, peer http://127.0.0.1:$ETCD_PEER_PORT"; }
env_etcd() { echo "export SLUICE_ETCD_ENDPOINTS=127.0.0.1:$ETCD_PORT"; }
program_etcd() { echo etcd; }
ports_etcd() { echo "$ETCD_PORT $ETCD_PEER_PORT"; }
