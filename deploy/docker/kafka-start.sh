#!/bin/sh
# Starts one Apache Kafka node, broker and controller combined (KRaft), on loopback listeners, as
# scripts/services.d/kafka.sh does on the host. Environment: KAFKA_PORT (PLAINTEXT),
# KAFKA_CONTROLLER_PORT, KAFKA_HEAP (512m), KAFKA_DATA (/var/lib/kafka). A fresh data directory
# is formatted first. The broker logs to stdout and to $KAFKA_DATA/server.log (the health check
# reads it: "Kafka Server started").
set -eu
set -f # the class path below holds a literal `*` for java
: "${KAFKA_PORT:=9092}" "${KAFKA_CONTROLLER_PORT:=9093}" "${KAFKA_HEAP:=512m}" "${KAFKA_DATA:=/var/lib/kafka}"
mkdir -p "$KAFKA_DATA/data"
cat >"$KAFKA_DATA/server.properties" <<PROPERTIES
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA/data
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
log.retention.ms=-1
PROPERTIES
cat >"$KAFKA_DATA/log4j2.properties" <<PROPERTIES
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
appender.file.type = File
appender.file.name = file
appender.file.fileName = $KAFKA_DATA/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = warn
PROPERTIES
java_command="java -Xmx$KAFKA_HEAP -Xms256m -XX:+UseG1GC -Djava.awt.headless=true -Dlog4j2.configurationFile=$KAFKA_DATA/log4j2.properties -cp /opt/kafka/libs/*"
if [ ! -f "$KAFKA_DATA/data/meta.properties" ]; then
  cluster_id="$($java_command kafka.tools.StorageTool random-uuid | tail -n 1)"
  $java_command kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" -c "$KAFKA_DATA/server.properties"
fi
exec $java_command kafka.Kafka "$KAFKA_DATA/server.properties"
