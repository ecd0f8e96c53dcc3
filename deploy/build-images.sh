#!/usr/bin/env bash
# Builds the two images deploy/docker-compose.yml runs:
#   sluice:dev           deploy/docker/Dockerfile (context: the repository)
#   sluice-services:dev  deploy/docker/services.Dockerfile: etcd, moto (S3), Kafka, Prometheus
# With --base IMAGE both build FROM that local image (a Debian bookworm with node, npm and the
# host's CA bundle at /etc/ssl/host-ca-bundle.crt, as scripts/services.d/docker.sh makes it);
# without, from the public node:20-bookworm-slim and debian:bookworm-slim. Builds use the host's
# network (no bridge). The Kafka jars come from Maven Central (scripts/kafka/pom.xml), cached in
# ~/.cache/sluice/kafka-<version>/libs as scripts/services.d/kafka.sh caches them.
#
# Environment: SLUICE_DOCKER (the docker client, default docker), SLUICE_KAFKA_VERSION (4.1.1).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DOCKER="${SLUICE_DOCKER:-docker}"
KAFKA_VERSION="${SLUICE_KAFKA_VERSION:-4.1.1}"
KAFKA_LIBS="${XDG_CACHE_HOME:-$HOME/.cache}/sluice/kafka-$KAFKA_VERSION/libs"
BASE=""
[[ "${1:-}" == "--base" && -n "${2:-}" ]] && BASE="$2"
[[ $# -eq 0 || -n "$BASE" ]] || { echo "usage: $0 [--base IMAGE]" >&2; exit 2; }

say() { echo "build-images: $*" >&2; }
sluice_args=() services_args=()
if [[ -n "$BASE" ]]; then
  sluice_args=(--build-arg "BASE_IMAGE=$BASE" --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.crt)
  services_args=(--build-arg "BASE_IMAGE=$BASE" --build-arg PIP_CERT=/etc/ssl/host-ca-bundle.crt)
fi

if [[ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
  command -v mvn >/dev/null 2>&1 || { say "Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven"; exit 1; }
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS.partial" && mkdir -p "$KAFKA_LIBS.partial"
  mvn -q -B -f "$REPO/scripts/kafka/pom.xml" dependency:copy-dependencies -Dkafka.version="$KAFKA_VERSION" \
    -DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS.partial" >&2
  rm -rf "$KAFKA_LIBS" && mv "$KAFKA_LIBS.partial" "$KAFKA_LIBS"
fi

started=$SECONDS
context="$(mktemp -d "${TMPDIR:-/tmp}/sluice-services-image.XXXXXX")"
trap 'rm -rf "$context"' EXIT
cp -r "$KAFKA_LIBS" "$context/kafka-libs"
cp "$REPO/scripts/s3/moto-server.py" "$REPO/deploy/docker/kafka-start.sh" "$context/"
say "building sluice-services:dev (etcd, moto, Kafka $KAFKA_VERSION, Prometheus)"
"$DOCKER" build -q --network host "${services_args[@]}" -f "$REPO/deploy/docker/services.Dockerfile" -t sluice-services:dev "$context" >/dev/null
say "sluice-services:dev built ($((SECONDS - started)) s)"

started=$SECONDS
say "building sluice:dev (npm ci, npm run build, the example application)"
"$DOCKER" build -q --network host "${sluice_args[@]}" -f "$REPO/deploy/docker/Dockerfile" -t sluice:dev "$REPO" >/dev/null
say "sluice:dev built ($((SECONDS - started)) s)"
