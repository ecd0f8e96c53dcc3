# MariaDB (Debian `mariadb-server`, 10.11): the database of the MySQL sink tests. Sourced by ../services.sh.
# Environment: SLUICE_MARIADB_PORT (13306).
#
# A server of its own in the state dir (mariadb-install-db, then mariadbd --no-defaults, so the
# system's /etc/mysql settings play no part), listening on 127.0.0.1 only, its unix socket in the
# state dir too. When we are root the server runs as the `mysql` system user that the Debian
# package creates (mariadbd drops to it; its directory is chowned to it; see mariadb_server_dir for
# a state dir it cannot reach). The tests connect as sluice/sluice (mysql_native_password over
# TCP, so a wrong password is refused as on RDS) to database sluice; the user and database are
# made in bootstrap mode before the first start. Durability is traded for speed as PostgreSQL's
# fsync=off does: a test server whose data may be lost with the machine.

SERVICES+=(mariadb)
MARIADB_PORT="${SLUICE_MARIADB_PORT:-13306}"
MARIADB_USER_NAME=sluice
MARIADB_PASSWORD=sluice
MARIADB_DATABASE=sluice

# Runs a command as the server's owner: ourselves, or the mysql user when we are root.
as_mariadb_owner() {
  if [[ "$(id -u)" -eq 0 ]]; then
    setpriv --reuid=mysql --regid=mysql --init-groups -- "$@"
  else
    "$@"
  fi
}

install_mariadb() {
  if ! command -v mariadbd >/dev/null 2>&1 && [[ ! -x /usr/sbin/mariadbd ]]; then
    # The package's postinst starts the system server (port 3306, /var/lib/mysql) unless a
    # policy-rc.d forbids it; we do not want that one, so forbid it for the install alone.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [[ "$(id -u)" -eq 0 && ! -e "$policy" ]]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
    fi
    apt_install mariadb-server mariadb-client || { [[ -z "$added_policy" ]] || rm -f "$policy"; exit 1; }
    [[ -z "$added_policy" ]] || rm -f "$policy"
  fi
  [[ -x /usr/sbin/mariadbd ]] || fail "mariadb-server installed but no /usr/sbin/mariadbd"
  command -v mariadb-install-db >/dev/null 2>&1 || fail "mariadb-server installed but no mariadb-install-db on PATH"
  command -v mariadb >/dev/null 2>&1 || fail "mariadb-client installed but no mariadb on PATH"
  if [[ "$(id -u)" -eq 0 ]]; then
    id mysql >/dev/null 2>&1 || fail "mariadb: we are root, but there is no 'mysql' user to run the server as (the Debian package creates it)"
  fi
}

healthy_mariadb() {
  command -v mariadb >/dev/null 2>&1 || return 1
  MYSQL_PWD="$MARIADB_PASSWORD" mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$MARIADB_PORT" \
    -u "$MARIADB_USER_NAME" --connect-timeout=2 -e 'SELECT 1' "$MARIADB_DATABASE" >/dev/null 2>&1
}

# Where the server's files (data, socket, log) live: <state dir>/mariadb/server, or — when we are
# root and the mysql user cannot reach the state dir (a parent such as /root is private) — a
# directory of its own under /var/tmp. Chosen at the first start and remembered.
mariadb_server_dir() {
  cat "$(service_dir mariadb)/server-dir" 2>/dev/null || true
}

choose_mariadb_server_dir() {
  local dir server
  dir="$(service_dir mariadb)"
  server="$(mariadb_server_dir)"
  if [[ -z "$server" ]]; then
    server="$dir/server"
    if [[ "$(id -u)" -eq 0 ]]; then
      mkdir -p "$server"
      chown mysql:mysql "$server"
      if ! as_mariadb_owner test -w "$server"; then
        server="/var/tmp/sluice-mariadb-$(printf '%s' "$STATE_DIR" | sha256sum | cut -c1-12)"
        say "mariadb: the mysql user cannot reach $dir; the server's files go to $server"
      fi
    fi
    echo "$server" >"$dir/server-dir"
  fi
  mkdir -p "$server"
  touch "$server/mariadb.log"
  [[ "$(id -u)" -ne 0 ]] || chown -R mysql:mysql "$server"
  ln -sfn "$server/mariadb.log" "$(log_file mariadb)"
}

# The options both the bootstrap and the server take: no option files, our data dir, our user.
mariadb_common_options() { # server dir
  local options=(--no-defaults "--datadir=$1/data")
  [[ "$(id -u)" -ne 0 ]] || options+=(--user=mysql)
  printf '%s\n' "${options[@]}"
}

start_mariadb() {
  local server data options=()
  choose_mariadb_server_dir
  server="$(mariadb_server_dir)"
  data="$server/data"
  mapfile -t options < <(mariadb_common_options "$server")
  if [[ ! -f "$data/sluice-ready" ]]; then
    rm -rf "$data"
    say "mariadb: mariadb-install-db $data"
    as_mariadb_owner mariadb-install-db "${options[@]}" --skip-test-db --auth-root-authentication-method=socket \
      >>"$server/mariadb.log" 2>&1 ||
      { tail -n 20 "$server/mariadb.log" >&2; fail "mariadb: mariadb-install-db failed"; }
    # The user and database the tests use, made in bootstrap mode before the first start.
    /usr/sbin/mariadbd "${options[@]}" --bootstrap --log-warnings=0 >>"$server/mariadb.log" 2>&1 <<SQL ||
FLUSH PRIVILEGES;
CREATE USER '$MARIADB_USER_NAME'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('$MARIADB_PASSWORD');
CREATE DATABASE $MARIADB_DATABASE CHARACTER SET utf8mb4;
GRANT ALL PRIVILEGES ON *.* TO '$MARIADB_USER_NAME'@'%';
SQL
      { tail -n 20 "$server/mariadb.log" >&2; fail "mariadb: creating the user and database failed"; }
    touch "$data/sluice-ready"
    [[ "$(id -u)" -ne 0 ]] || chown mysql:mysql "$data/sluice-ready"
  fi
  # innodb_flush_log_at_trx_commit=0 and no doublewrite: durability traded for speed (a test server).
  setsid /usr/sbin/mariadbd "${options[@]}" \
    --port="$MARIADB_PORT" --bind-address=127.0.0.1 --socket="$server/mariadb.sock" \
    --pid-file="$server/mariadbd.pid" --log-error="$server/mariadb.log" \
    --skip-name-resolve --max-connections=200 \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
    --innodb-buffer-pool-size=64M --innodb-log-file-size=32M \
    --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 \
    >>"$server/mariadb.log" 2>&1 </dev/null &
  echo $! >"$(pid_file mariadb)"
}

stop_mariadb() { stop_pid mariadb "$1"; }

describe_mariadb() { echo "mysql://$MARIADB_USER_NAME:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$MARIADB_DATABASE"; }
env_mariadb() { echo "export SLUICE_MYSQL_URL=mysql://$MARIADB_USER_NAME:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/$MARIADB_DATABASE"; }
program_mariadb() { echo mariadbd; }
ports_mariadb() { echo "$MARIADB_PORT"; }
