# Apache Kafka 4.x in KRaft mode (one process, broker and controller combined): the broker of the
# `*.kafka.test.ts` tests. Sourced by ../services.sh.
#
# The jars come from Maven Central (`org.apache.kafka:kafka_2.13` and its runtime dependencies,
# fetched by `mvn dependency:copy-dependencies` from scripts/kafka/pom.xml) into a cache outside
# the repository, ~/.cache/sluice/kafka-<version>/libs, so a machine fetches them once (~45 MB).
# Java 17 and Maven come from Debian when missing.
#
# Listeners, all on 127.0.0.1:
#   SLUICE_KAFKA_PORT (19092)       PLAINTEXT, no authentication
#   SLUICE_KAFKA_SASL_PORT (19094)  SASL_PLAINTEXT with PLAIN and SCRAM-SHA-256; the user is
#                                   sluice / sluice-secret for both (wrong-credentials tests)
#   SLUICE_KAFKA_CONTROLLER_PORT (19093)  the KRaft controller
# Environment: SLUICE_KAFKA_VERSION (4.1.1), SLUICE_KAFKA_HEAP (768m),
# SLUICE_KAFKA_WAIT_SECONDS (120: a JVM broker on a loaded machine starts slowly).
# Topics are not created on first use (auto.create.topics.enable=false), so a missing topic is an
# error the tests can see; the offsets and transaction state topics have replication factor 1.

SERVICES+=(kafka)
KAFKA_VERSION="${SLUICE_KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${SLUICE_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${SLUICE_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_SASL_PORT="${SLUICE_KAFKA_SASL_PORT:-19094}"
KAFKA_HEAP="${SLUICE_KAFKA_HEAP:-768m}"
KAFKA_WAIT_SECONDS="${SLUICE_KAFKA_WAIT_SECONDS:-120}"
KAFKA_SASL_USER=sluice
KAFKA_SASL_PASSWORD=sluice-secret
KAFKA_LIBS="${XDG_CACHE_HOME:-$HOME/.cache}/sluice/kafka-$KAFKA_VERSION/libs"

install_kafka() {
  command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
  if [[ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    command -v mvn >/dev/null 2>&1 || apt_install maven
    say "kafka: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
    local partial="$KAFKA_LIBS.partial"
    rm -rf "$partial"
    mkdir -p "$partial"
    mvn -q -B -f "$REPO/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DincludeScope=runtime -DoutputDirectory="$partial" >&2 \
      || fail "kafka: mvn could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see the output above)"
    rm -rf "$KAFKA_LIBS"
    mv "$partial" "$KAFKA_LIBS" # only a complete download counts as cached
  fi
}

# Healthy = the broker answers a metadata request on the plain listener (kafkajs, from the repo).
healthy_kafka() {
  port_in_use "$KAFKA_PORT" || return 1
  (cd "$REPO" && node -e '
    const { Kafka, logLevel } = require("kafkajs");
    const admin = new Kafka({ brokers: [process.argv[1]], logLevel: logLevel.NOTHING, connectionTimeout: 2000,
      requestTimeout: 3000, retry: { retries: 0 } }).admin();
    admin.connect().then(() => admin.describeCluster()).then(
      (c) => process.exit(c.brokers.length > 0 ? 0 : 1), () => process.exit(1));
    setTimeout(() => process.exit(1), 5000).unref();' "127.0.0.1:$KAFKA_PORT" >/dev/null 2>&1)
}

write_kafka_config() { # dir
  local dir="$1"
  cat >"$dir/server.properties" <<EOF
# Written by scripts/services.d/kafka.sh: one KRaft node, broker and controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER="$KAFKA_SASL_PASSWORD";
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=67108864
# Keep everything: tests write records whose timestamps are event times months in the past, and
# time-based retention would delete them (a segment rolls at once when its records are "old").
log.retention.ms=-1
EOF
  cat >"$dir/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = warn
EOF
}

# The java command line up to the main class, in KAFKA_JAVA (an array).
kafka_java_command() {
  local dir
  dir="$(service_dir kafka)"
  KAFKA_JAVA=(java "-Xmx$KAFKA_HEAP" -Xms256m -XX:+UseG1GC -Djava.awt.headless=true
    "-Dlog4j2.configurationFile=$dir/log4j2.properties" "-Dkafka.logs.dir=$dir" -cp "$KAFKA_LIBS/*")
}

start_kafka() {
  local dir pid
  dir="$(service_dir kafka)"
  mkdir -p "$dir/data"
  write_kafka_config "$dir"
  kafka_java_command
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    # A fresh log dir gets a cluster id and the SCRAM user, once; a restart keeps its data.
    local cluster_id
    cluster_id="$("${KAFKA_JAVA[@]}" kafka.tools.StorageTool random-uuid 2>>"$(log_file kafka)" | tail -n 1)"
    [[ -n "$cluster_id" ]] || fail "kafka: the storage tool gave no cluster id; see $(log_file kafka)"
    say "kafka: formatting $dir/data with cluster id $cluster_id"
    "${KAFKA_JAVA[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$dir/server.properties" \
      --add-scram "SCRAM-SHA-256=[name=$KAFKA_SASL_USER,password=$KAFKA_SASL_PASSWORD]" \
      >>"$(log_file kafka)" 2>&1 || fail "kafka: formatting $dir/data failed; see $(log_file kafka)"
  fi
  setsid "${KAFKA_JAVA[@]}" kafka.Kafka "$dir/server.properties" >>"$(log_file kafka)" 2>&1 </dev/null &
  echo $! >"$(pid_file kafka)"
  pid="$(cat "$(pid_file kafka)")"
  # The generic wait allows SLUICE_SERVICES_WAIT_SECONDS (30); a JVM broker gets longer.
  WAIT_SECONDS="$KAFKA_WAIT_SECONDS" wait_healthy kafka "$pid"
}

stop_kafka() { stop_pid kafka "$1"; }

describe_kafka() {
  echo "PLAINTEXT 127.0.0.1:$KAFKA_PORT, SASL_PLAINTEXT (PLAIN, SCRAM-SHA-256, user $KAFKA_SASL_USER) 127.0.0.1:$KAFKA_SASL_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT, Apache Kafka $KAFKA_VERSION (KRaft)"
}
env_kafka() {
  echo "export SLUICE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
  echo "export SLUICE_KAFKA_SASL_BROKERS=127.0.0.1:$KAFKA_SASL_PORT"
}
program_kafka() { echo java; }
ports_kafka() { echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT $KAFKA_SASL_PORT"; }
