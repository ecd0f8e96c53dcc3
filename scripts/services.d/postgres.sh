# PostgreSQL (Debian `postgresql`): the database of the PostgreSQL sink tests. Sourced by ../services.sh.
# Environment: SLUICE_POSTGRES_PORT (15432).
#
# A cluster of its own in the state dir (initdb + pg_ctl), listening on 127.0.0.1 only, its unix
# socket in the state dir too. PostgreSQL refuses to run as root, so when we are root the cluster
# belongs to the `postgres` system user that the Debian package creates (its directory is chowned
# to it; see postgres_cluster_dir for a state dir it cannot reach). Authentication: trust on the unix socket (for the bootstrap), scram-sha-256 over TCP, so
# a wrong password is refused as on RDS. The tests connect as sluice/sluice to database sluice.
# fsync is off: a test server whose data may be lost with the machine.

SERVICES+=(postgres)
POSTGRES_PORT="${SLUICE_POSTGRES_PORT:-15432}"
POSTGRES_USER_NAME=sluice
POSTGRES_PASSWORD=sluice
POSTGRES_DATABASE=sluice

# The newest installed server's bin directory (Debian keeps them in /usr/lib/postgresql/<ver>/bin).
postgres_bin_dir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$dir" && -x "$dir/initdb" ]] && echo "$dir"
}

# Runs a command as the cluster's owner: ourselves, or the postgres user when we are root.
as_postgres_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

install_postgres() {
  postgres_bin_dir >/dev/null || apt_install postgresql
  postgres_bin_dir >/dev/null || fail "postgresql installed but no /usr/lib/postgresql/<version>/bin/initdb"
  if [[ "$(id -u)" -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || fail "postgres: we are root and PostgreSQL refuses root, but there is no 'postgres' user to run it as (the Debian package creates it)"
  fi
}

healthy_postgres() {
  local bin
  bin="$(postgres_bin_dir)" || return 1
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" -t 2 >/dev/null 2>&1
}

# Where the cluster (data, socket, server log) lives: <state dir>/postgres/cluster, or — when we
# are root and the postgres user cannot reach the state dir (a parent such as /root is private) —
# a directory of its own under /var/tmp. Chosen at the first start and remembered.
postgres_cluster_dir() {
  cat "$(service_dir postgres)/cluster-dir" 2>/dev/null || true
}

choose_postgres_cluster_dir() {
  local dir cluster
  dir="$(service_dir postgres)"
  cluster="$(postgres_cluster_dir)"
  if [[ -z "$cluster" ]]; then
    cluster="$dir/cluster"
    if [[ "$(id -u)" -eq 0 ]]; then
      mkdir -p "$cluster"
      chown postgres:postgres "$cluster"
      if ! as_postgres_owner test -w "$cluster"; then
        cluster="/var/tmp/sluice-postgres-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)"
        say "postgres: the postgres user cannot reach $dir; the cluster goes to $cluster"
      fi
    fi
    echo "$cluster" >"$dir/cluster-dir"
  fi
  mkdir -p "$cluster/socket"
  touch "$cluster/postgres.log"
  [[ "$(id -u)" -ne 0 ]] || chown -R postgres:postgres "$cluster"
  ln -sfn "$cluster/postgres.log" "$(log_file postgres)"
}

start_postgres() {
  local bin cluster data
  bin="$(postgres_bin_dir)"
  choose_postgres_cluster_dir
  cluster="$(postgres_cluster_dir)"
  data="$cluster/data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    rm -rf "$data"
    say "postgres: initdb $data"
    as_postgres_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >>"$cluster/postgres.log" 2>&1 ||
      { tail -n 20 "$cluster/postgres.log" >&2; fail "postgres: initdb failed"; }
    # The role and database the tests use, created in single-user mode before the first start.
    as_postgres_owner "$bin/postgres" --single -D "$data" postgres >>"$cluster/postgres.log" 2>&1 <<SQL ||
CREATE ROLE $POSTGRES_USER_NAME LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD';
CREATE DATABASE $POSTGRES_DATABASE OWNER $POSTGRES_USER_NAME;
SQL
      { tail -n 20 "$cluster/postgres.log" >&2; fail "postgres: creating role and database failed"; }
  fi
  as_postgres_owner "$bin/pg_ctl" -D "$data" -l "$cluster/postgres.log" -w -t "$WAIT_SECONDS" \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -k $cluster/socket -c fsync=off -c max_connections=200" \
    start >&2 || { tail -n 20 "$cluster/postgres.log" >&2; fail "postgres: pg_ctl start failed"; }
  head -n 1 "$data/postmaster.pid" >"$(pid_file postgres)"
}

stop_postgres() {
  local bin cluster
  bin="$(postgres_bin_dir)"
  cluster="$(postgres_cluster_dir)"
  if [[ -n "$cluster" ]]; then
    as_postgres_owner "$bin/pg_ctl" -D "$cluster/data" -m fast -w -t 30 stop >&2 && return 0
  fi
  stop_pid postgres "$1"
}

describe_postgres() { echo "postgres://$POSTGRES_USER_NAME:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DATABASE"; }
env_postgres() { echo "export SLUICE_POSTGRES_URL=postgres://$POSTGRES_USER_NAME:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DATABASE"; }
program_postgres() { echo postgres; }
ports_postgres() { echo "$POSTGRES_PORT"; }
