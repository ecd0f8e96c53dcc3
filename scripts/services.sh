#!/usr/bin/env bash
# Starts, stops and reports the real services that the `*.<service>.test.ts` tests talk to, on
# loopback ports, with everything (data, logs, pid files) under one state directory.
#
#   scripts/services.sh start [service...]   start what is not running, reuse what is healthy
#   scripts/services.sh stop [service...]    stop what this script started (pid files)
#   scripts/services.sh status               one line per service
#   scripts/services.sh env                  `export SLUICE_…` lines for the healthy services
#   scripts/services.sh list                 the known service names, one a line
#
# Without service names, every known service. A service is one set of functions:
# install_<name> (make its binary available), start_<name> (launch it in the background and
# write its pid file), stop_<name>, healthy_<name> (does it answer?), plus one-liners:
# describe_<name> (where it listens), env_<name> (the export lines the tests read),
# program_<name> (its process name, to tell our pid from a recycled one), ports_<name>.
# Each service lives in its own file, scripts/services.d/<name>.sh, which defines those functions
# and appends its name to SERVICES; its ports and variables are described at its top.
#
# Environment: SLUICE_SERVICES_DIR (state, default <repo>/.services), SLUICE_SERVICES_WAIT_SECONDS
# (how long a start may take, 30; a service may allow itself longer).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${SLUICE_SERVICES_DIR:-$REPO/.services}"
WAIT_SECONDS="${SLUICE_SERVICES_WAIT_SECONDS:-30}"
SERVICES=() # each services.d/<name>.sh appends its name

# Progress and problems go to stderr so that `env` prints nothing but export lines on stdout.
say() { echo "services: $*" >&2; }
fail() { say "error: $*"; exit 1; }

# --- shared helpers ----------------------------------------------------------------------------

APT_UPDATED=""
apt_install() { # package...
  if [[ "$(id -u)" -ne 0 ]]; then
    say "missing: $*; install it with:"
    say "  sudo apt-get update && sudo apt-get install -y $*"
    exit 1
  fi
  if [[ -z "$APT_UPDATED" ]]; then
    say "apt-get update"
    apt-get update -q >&2
    APT_UPDATED=1
  fi
  say "apt-get install -y $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2
}

service_dir() { echo "$STATE_DIR/$1"; }
pid_file() { echo "$STATE_DIR/$1/pid"; }
log_file() { echo "$STATE_DIR/$1/$1.log"; }

# The pid from the service's pid file, if that process is still alive and is still the program
# we started (a recycled pid must not be mistaken for it); empty otherwise.
running_pid() { # service program
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ "$(ps -o comm= -p "$pid" 2>/dev/null)" == "$2" ]]; then
    echo "$pid"
  fi
}

# The body of a loopback HTTP GET, failing on an error status; node's fetch where curl is missing.
http_get() { # url
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 2 "$1" 2>/dev/null
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1))' "$1"
  fi
}

port_in_use() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops a process we started: SIGTERM, then SIGKILL after 10 s.
stop_pid() { # service pid
  local service="$1" pid="$2" i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$service: pid $pid ignored SIGTERM for 10s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# Waits until healthy_<service> answers, for at most WAIT_SECONDS; on failure shows the log tail.
wait_healthy() { # service pid
  local service="$1" pid="$2" deadline=$((SECONDS + WAIT_SECONDS))
  while ((SECONDS < deadline)); do
    if "healthy_$service"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$service (pid $pid) exited during start-up; last lines of $(log_file "$service"):"
      tail -n 30 "$(log_file "$service")" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
  say "$service (pid $pid) not healthy after ${WAIT_SECONDS}s; last lines of $(log_file "$service"):"
  tail -n 30 "$(log_file "$service")" >&2 || true
  exit 1
}

# --- the services: one file each in services.d/ ------------------------------------------------

for service_file in "$REPO"/scripts/services.d/*.sh; do
  # shellcheck source=/dev/null
  source "$service_file"
done

# --- generic commands --------------------------------------------------------------------------

start_service() { # service
  local service="$1" pid port
  pid="$(running_pid "$service" "$("program_$service")")"
  if "healthy_$service"; then
    if [[ -n "$pid" ]]; then
      echo "$service: reusing pid $pid, $("describe_$service")"
    else
      echo "$service: reusing one not started by this script, $("describe_$service")"
    fi
    return 0
  fi
  if [[ -n "$pid" ]]; then
    # Ours but not answering: it may be starting up; give it the usual time, then replace it.
    say "$service: pid $pid is not healthy yet; waiting"
    if (WAIT_SECONDS=10 wait_healthy "$service" "$pid"); then
      echo "$service: reusing pid $pid, $("describe_$service")"
      return 0
    fi
    say "$service: replacing unhealthy pid $pid"
    stop_service "$service"
  fi
  for port in $("ports_$service"); do
    port_in_use "$port" && fail "$service: port $port is taken by another program; free it or set the port variable (see the top of $0)"
  done
  "install_$service"
  mkdir -p "$(service_dir "$service")"
  say "$service: starting (log $(log_file "$service"))"
  "start_$service"
  pid="$(cat "$(pid_file "$service")")"
  wait_healthy "$service" "$pid"
  echo "$service: started pid $pid, $("describe_$service")"
}

stop_service() { # service
  local service="$1" pid
  pid="$(running_pid "$service" "$("program_$service")")"
  if [[ -z "$pid" ]]; then
    rm -f "$(pid_file "$service")"
    if "healthy_$service"; then
      echo "$service: running but not started by this script; left alone"
    else
      echo "$service: not running"
    fi
    return 0
  fi
  "stop_$service" "$pid"
  rm -f "$(pid_file "$service")"
  echo "$service: stopped pid $pid"
}

status_service() { # service
  local service="$1" pid
  pid="$(running_pid "$service" "$("program_$service")")"
  if "healthy_$service"; then
    local owner="not started by this script"
    [[ -z "$pid" ]] || owner="pid $pid"
    echo "$service: healthy, $owner, $("describe_$service")"
  elif [[ -n "$pid" ]]; then
    echo "$service: pid $pid running but not healthy (log $(log_file "$service"))"
  else
    echo "$service: not running"
  fi
}

known_service() {
  local s
  for s in "${SERVICES[@]}"; do [[ "$s" == "$1" ]] && return 0; done
  return 1
}

usage() {
  echo "usage: $0 start|stop [service...] | status | env | list    (services: ${SERVICES[*]})" >&2
  exit 2
}

main() {
  [[ $# -ge 1 ]] || usage
  local command="$1" service
  shift
  local selected=("$@")
  [[ ${#selected[@]} -gt 0 ]] || selected=("${SERVICES[@]}")
  for service in "${selected[@]}"; do
    known_service "$service" || fail "unknown service '$service' (known: ${SERVICES[*]})"
  done
  mkdir -p "$STATE_DIR"
  case "$command" in
    start) for service in "${selected[@]}"; do start_service "$service"; done ;;
    stop) for service in "${selected[@]}"; do stop_service "$service"; done ;;
    status) for service in "${selected[@]}"; do status_service "$service"; done ;;
    list) printf '%s\n' "${SERVICES[@]}" ;;
    env) for service in "${selected[@]}"; do if "healthy_$service"; then "env_$service"; fi; done ;;
    *) usage ;;
  esac
}

main "$@"
