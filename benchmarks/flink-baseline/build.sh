#!/usr/bin/env bash
# Builds the Flink side of the Nexmark comparison: target/flink-nexmark.jar, an executable jar
# with Flink (fetched from Maven Central into ~/.m2 on the first build; nothing is committed).
# Idempotent: run it again to rebuild after a change. Needs Java 17+ and Maven 3.8+.
#
#   benchmarks/flink-baseline/build.sh
#   java -jar benchmarks/flink-baseline/target/flink-nexmark.jar --query q1 --events 5000000 --parallelism 1
set -euo pipefail
cd "$(dirname "$0")"

command -v java >/dev/null || { echo "build.sh: java not found (Java 17+ needed)" >&2; exit 1; }
command -v mvn >/dev/null || { echo "build.sh: mvn not found (Maven 3.8+ needed)" >&2; exit 1; }

echo "[flink-baseline] $(java -version 2>&1 | head -1), $(mvn -v 2>/dev/null | head -1 | sed 's/\x1b\[[0-9;]*m//g')"
echo "[flink-baseline] building with Maven (the first build downloads Flink, ~100 MB, into ~/.m2)…"
started=$(date +%s)
mvn -q -B -Dstyle.color=never package -DskipTests
echo "[flink-baseline] built in $(( $(date +%s) - started )) s"

jar="$(pwd)/target/flink-nexmark.jar"
[ -f "$jar" ] || { echo "build.sh: $jar was not produced" >&2; exit 1; }
echo "[flink-baseline] self-test (JavaRandom = java.util.Random)…"
java -jar "$jar" --self-test >/dev/null
echo "[flink-baseline] jar: $jar ($(du -h "$jar" | cut -f1))"
