# PostgreSQL (Debian `postgresql`): the database of the PostgreSQL sink tests. Sourced by ../services.sh.
# Environment: SLUICE_POSTGRES_PORT (15432).
#
# A cluster of its own in the state dir (initdb + pg_ctl), listening on 127.0.0.1 only, its unix
# socket in the state dir too. PostgreSQL refuses to run as root, so when we are root the cluster
# belongs to the `postgres` system user that the Debian package creates (the state dir is chowned
# to it). Authentication: trust on the unix socket (for the bootstrap), scram-sha-256 over TCP, so
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

start_postgres() {
  local dir bin data
  dir="$(service_dir postgres)"
  bin="$(postgres_bin_dir)"
  data="$dir/data"
  mkdir -p "$dir/socket"
  touch "$(log_file postgres)"
  if [[ "$(id -u)" -eq 0 ]]; then
    chown -R postgres:postgres "$dir"
    as_postgres_owner test -w "$dir" ||
      fail "postgres: the postgres user cannot write $dir (a parent directory is not searchable by it?); set SLUICE_SERVICES_DIR to a directory it can reach"
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    rm -rf "$data"
    say "postgres: initdb $data"
    as_postgres_owner "$bin/initdb" -D "$data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
      --encoding=UTF8 --locale=C.UTF-8 >>"$(log_file postgres)" 2>&1 ||
      { tail -n 20 "$(log_file postgres)" >&2; fail "postgres: initdb failed"; }
    # The role and database the tests use, created in single-user mode before the first start.
    as_postgres_owner "$bin/postgres" --single -D "$data" postgres >>"$(log_file postgres)" 2>&1 <<SQL ||
CREATE ROLE $POSTGRES_USER_NAME LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD';
CREATE DATABASE $POSTGRES_DATABASE OWNER $POSTGRES_USER_NAME;
SQL
      { tail -n 20 "$(log_file postgres)" >&2; fail "postgres: creating role and database failed"; }
  fi
  as_postgres_owner "$bin/pg_ctl" -D "$data" -l "$(log_file postgres)" -w -t "$WAIT_SECONDS" \
    -o "-p $POSTGRES_PORT -c listen_addresses=127.0.0.1 -k $dir/socket -c fsync=off -c max_connections=200" \
    start >&2 || { tail -n 20 "$(log_file postgres)" >&2; fail "postgres: pg_ctl start failed"; }
  head -n 1 "$data/postmaster.pid" >"$(pid_file postgres)"
}

stop_postgres() {
  local bin
  bin="$(postgres_bin_dir)"
  as_postgres_owner "$bin/pg_ctl" -D "$(service_dir postgres)/data" -m fast -w -t 30 stop >&2 || stop_pid postgres "$1"
}

describe_postgres() { echo "postgres://$POSTGRES_USER_NAME:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DATABASE"; }
env_postgres() { echo "export SLUICE_POSTGRES_URL=postgres://$POSTGRES_USER_NAME:$POSTGRES_PASSWORD@127.0.0.1:$POSTGRES_PORT/$POSTGRES_DATABASE"; }
program_postgres() { echo postgres; }
ports_postgres() { echo "$POSTGRES_PORT"; }
