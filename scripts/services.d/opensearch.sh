# OpenSearch 2.19 (one node): the search engine of the `*.opensearch.test.ts` tests. Sourced by
# ../services.sh.
#
# No distribution archive is downloaded: the server jar (org.opensearch:opensearch), the netty4
# network module (org.opensearch.plugin:transport-netty4-client) and log4j-core come from Maven
# Central, and a small launcher (scripts/opensearch/src, built with Maven) starts a Node in one JVM
# with the netty4 module as a classpath plugin: single-node discovery, HTTP and transport on
# 127.0.0.1, no security plugin (plain HTTP, no authentication), data under the state dir. The
# jars and the launcher's classes are cached in ~/.cache/sluice/opensearch-<version> (~60 MB),
# rebuilt when the files under scripts/opensearch change. Java 17 and Maven come from Debian when missing.
#
# Environment: SLUICE_OPENSEARCH_PORT (19200, HTTP), SLUICE_OPENSEARCH_TRANSPORT_PORT (19300),
# SLUICE_OPENSEARCH_VERSION (2.19.6; 3.x needs Java 21), SLUICE_OPENSEARCH_HEAP (512m),
# SLUICE_OPENSEARCH_WAIT_SECONDS (120: a JVM node on a loaded machine starts slowly).

SERVICES+=(opensearch)
OPENSEARCH_VERSION="${SLUICE_OPENSEARCH_VERSION:-2.19.6}"
OPENSEARCH_PORT="${SLUICE_OPENSEARCH_PORT:-19200}"
OPENSEARCH_TRANSPORT_PORT="${SLUICE_OPENSEARCH_TRANSPORT_PORT:-19300}"
OPENSEARCH_HEAP="${SLUICE_OPENSEARCH_HEAP:-512m}"
OPENSEARCH_WAIT_SECONDS="${SLUICE_OPENSEARCH_WAIT_SECONDS:-120}"
OPENSEARCH_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sluice/opensearch-$OPENSEARCH_VERSION"

# A fingerprint of the launcher's sources and pom: a change rebuilds the cache.
opensearch_sources_stamp() {
  (cd "$REPO/scripts/opensearch" && find pom.xml src -type f | sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
}

install_opensearch() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  local stamp
  stamp="$(opensearch_sources_stamp)"
  if [[ "$(cat "$OPENSEARCH_CACHE/stamp" 2>/dev/null)" != "$stamp" ]]; then
    command -v mvn >/dev/null 2>&1 || apt_install maven openjdk-17-jdk-headless
    command -v javac >/dev/null 2>&1 || apt_install openjdk-17-jdk-headless
    say "opensearch: fetching OpenSearch $OPENSEARCH_VERSION jars from Maven Central and building the launcher into $OPENSEARCH_CACHE"
    local partial="$OPENSEARCH_CACHE.partial"
    rm -rf "$partial"
    mkdir -p "$partial"
    mvn -q -B -Dstyle.color=never -f "$REPO/scripts/opensearch/pom.xml" package dependency:copy-dependencies \
      -Dopensearch.version="$OPENSEARCH_VERSION" -Dsluice.build.directory="$partial/build" \
      -DincludeScope=runtime -DoutputDirectory="$partial/lib" >&2 \
      || fail "opensearch: mvn could not fetch org.opensearch:opensearch:$OPENSEARCH_VERSION or build scripts/opensearch (see the output above)"
    echo "$stamp" >"$partial/stamp"
    rm -rf "$OPENSEARCH_CACHE"
    mv "$partial" "$OPENSEARCH_CACHE" # only a complete build counts as cached
  fi
}

healthy_opensearch() {
  http_get "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health" 2>/dev/null | grep -Eq '"status":"(green|yellow)"'
}

start_opensearch() {
  local dir pid
  dir="$(service_dir opensearch)"
  mkdir -p "$dir/node"
  setsid java "-Xms$OPENSEARCH_HEAP" "-Xmx$OPENSEARCH_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dopensearch.set.netty.runtime.available.processors=false \
    -cp "$OPENSEARCH_CACHE/build/classes:$OPENSEARCH_CACHE/lib/*" dev.sluice.opensearch.SingleNode \
    "$dir/node" "$OPENSEARCH_PORT" "$OPENSEARCH_TRANSPORT_PORT" >>"$(log_file opensearch)" 2>&1 </dev/null &
  echo $! >"$(pid_file opensearch)"
  pid="$(cat "$(pid_file opensearch)")"
  # The generic wait allows SLUICE_SERVICES_WAIT_SECONDS (30); a JVM node gets longer.
  WAIT_SECONDS="$OPENSEARCH_WAIT_SECONDS" wait_healthy opensearch "$pid"
}

stop_opensearch() { stop_pid opensearch "$1"; }

describe_opensearch() { echo "http://127.0.0.1:$OPENSEARCH_PORT (OpenSearch $OPENSEARCH_VERSION, one node, no security), transport 127.0.0.1:$OPENSEARCH_TRANSPORT_PORT"; }
env_opensearch() { echo "export SLUICE_OPENSEARCH_URL=http://127.0.0.1:$OPENSEARCH_PORT"; }
program_opensearch() { echo java; }
ports_opensearch() { echo "$OPENSEARCH_PORT $OPENSEARCH_TRANSPORT_PORT"; }
