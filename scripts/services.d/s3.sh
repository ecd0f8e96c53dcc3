# S3-compatible object store (moto server from PyPI, Apache-2.0): checkpoints, snapshots and the
# S3 sink in the `*.s3.test.ts` tests. Sourced by ../services.sh.
# Environment: SLUICE_S3_PORT (19000).
#
# Why moto: it installs from PyPI into a venv (no Docker, no download outside a registry), is
# Apache-licensed (MinIO is AGPL), and it honours what Sluice relies on. Checked here with
# @aws-sdk/client-s3 (path-style, any credentials):
#   - PutObject with `If-None-Match: *` on an existing key fails with 412 PreconditionFailed; moto
#     checks that condition and writes without a lock between, so racing conditional puts to one
#     new key could both succeed (seen in CI): scripts/s3/moto-server.py serves requests carrying
#     If-None-Match one at a time, and then exactly one of them wins, as on S3;
#   - multipart uploads: create, upload parts (5 MiB minimum except the last), the object stays
#     invisible until CompleteMultipartUpload, ListMultipartUploads shows open uploads, abort;
#     CompleteMultipartUpload with `If-None-Match: *` on an existing key fails with 412.
# Limits: objects live in the server's memory (gone when it stops; fine for tests), and it does
# not check signatures, so any access key works. Completing or uploading a part to an upload id it
# does not know answers 500 (a KeyError), not S3's 404 NoSuchUpload; S3ObjectStore copes (it asks
# ListParts, which answers NoSuchUpload). A retried complete of an upload whose object is still
# the current one answers 200, as S3 does.
# Measured here: first install 23 s (cold pip cache; 30 s for moto[server]), start with the venv
# cached under 1 s.
# Only `moto[s3]` plus Flask (what `moto_server` needs) is installed: `moto[server]` brings every
# AWS service's dependencies (317 MB against 140 MB, twice the install time).
# Install: a venv under $STATE_DIR/cache (kept across stops); pip's own cache makes a rebuild fast.

SERVICES+=(s3)
S3_PORT="${SLUICE_S3_PORT:-19000}"
S3_MOTO_VERSION="5.2.5"
S3_VENV="$STATE_DIR/cache/moto-$S3_MOTO_VERSION"

install_s3() {
  [[ -f "$S3_VENV/.installed" && -x "$S3_VENV/bin/moto_server" ]] && return 0
  mkdir -p "$(dirname "$S3_VENV")"
  # Two starts at once (two test runs) must not build the venv over each other.
  local lock
  exec {lock}>"$S3_VENV.lock"
  flock "$lock"
  if [[ ! -f "$S3_VENV/.installed" ]]; then
    build_s3_venv
  fi
  flock -u "$lock"
  exec {lock}>&-
}

build_s3_venv() {
  command -v python3 >/dev/null 2>&1 || apt_install python3
  rm -rf "$S3_VENV"
  if ! python3 -m venv "$S3_VENV" >&2; then
    # Debian's python3 keeps venv (ensurepip) in a separate package.
    rm -rf "$S3_VENV"
    apt_install python3-venv
    python3 -m venv "$S3_VENV" >&2
  fi
  say "s3: pip install moto[s3]==$S3_MOTO_VERSION flask flask-cors into $S3_VENV"
  "$S3_VENV/bin/pip" install -q --disable-pip-version-check \
    "moto[s3]==$S3_MOTO_VERSION" "flask==3.1.*" "flask-cors==6.*" >&2 ||
    fail "s3: pip install of moto failed (see above)"
  touch "$S3_VENV/.installed"
}

healthy_s3() {
  # ListBuckets: answers only once the S3 backend is loaded.
  http_get "http://127.0.0.1:$S3_PORT/" | grep -q 'ListAllMyBucketsResult'
}

start_s3() {
  # moto's server with conditional writes made atomic, as S3's are (see scripts/s3/moto-server.py).
  setsid "$S3_VENV/bin/python" "$REPO/scripts/s3/moto-server.py" 127.0.0.1 "$S3_PORT" \
    >>"$(log_file s3)" 2>&1 </dev/null &
  echo $! >"$(pid_file s3)"
}

stop_s3() { stop_pid s3 "$1"; }

describe_s3() { echo "S3 (moto $S3_MOTO_VERSION) http://127.0.0.1:$S3_PORT, path-style, any credentials"; }
env_s3() {
  echo "export SLUICE_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
  echo "export SLUICE_S3_REGION=us-east-1"
  echo "export SLUICE_S3_ACCESS_KEY_ID=sluice-test"
  echo "export SLUICE_S3_SECRET_ACCESS_KEY=sluice-test-secret"
}
program_s3() { echo python; }
ports_s3() { echo "$S3_PORT"; }
