# The services deploy/docker-compose.yml runs beside Sluice, in one image built from Debian
# packages and the registries this machine reaches (no image registry is): etcd (Debian
# etcd-server), an S3-compatible store (the moto server from PyPI, Apache-2.0; not MinIO, which
# is AGPL), Apache Kafka in KRaft mode (its jars from Maven Central, put into the build context
# by deploy/build-images.sh) and Prometheus (Debian). Each compose service runs one of them.
# Build context: made by deploy/build-images.sh (kafka-libs/, moto-server.py, kafka-start.sh).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
# A CA bundle for pip where the network needs one (a path inside the base image).
ARG PIP_CERT=
ENV PIP_CERT=${PIP_CERT} PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      tini curl etcd-server openjdk-17-jre-headless prometheus python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
# The same moto as scripts/services.d/s3.sh: only its S3 part and Flask.
RUN python3 -m venv /opt/moto \
 && /opt/moto/bin/pip install -q "moto[s3]==5.2.5" "flask==3.1.*" "flask-cors==6.*"
COPY moto-server.py /opt/moto/moto-server.py
COPY kafka-libs/ /opt/kafka/libs/
COPY kafka-start.sh /opt/kafka/kafka-start.sh
ENTRYPOINT ["/usr/bin/tini", "--"]
