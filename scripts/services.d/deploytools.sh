# Tools, not a server: what the offline checks of deploy/ (`*.deploytools.test.ts`) run.
# Sourced by ../services.sh.
#   promtool             Debian `prometheus` (checks and unit-tests deploy/prometheus/alerts.yml)
#   kubectl              renders deploy/kubernetes with `kubectl kustomize` (Debian's kubernetes-client)
#   kubernetes-validate  PyPI, in a venv under $STATE_DIR/cache: validates the rendered manifests
#                        against the Kubernetes schemas it ships, offline (no cluster runs here)
# "Healthy" means installed; starting installs and runs nothing; stopping has nothing to stop.
# Env lines: SLUICE_PROMTOOL, SLUICE_KUBECTL, SLUICE_KUBERNETES_VALIDATE.

SERVICES+=(deploytools)
DEPLOYTOOLS_VALIDATE_VERSION=1.37.0
DEPLOYTOOLS_VENV="$STATE_DIR/cache/kubernetes-validate-$DEPLOYTOOLS_VALIDATE_VERSION"

install_deploytools() {
  local missing=()
  command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  [[ ${#missing[@]} -eq 0 ]] || apt_install "${missing[@]}"
  [[ -x "$DEPLOYTOOLS_VENV/bin/kubernetes-validate" ]] && return 0
  command -v python3 >/dev/null 2>&1 || apt_install python3
  rm -rf "$DEPLOYTOOLS_VENV"
  mkdir -p "$(dirname "$DEPLOYTOOLS_VENV")"
  python3 -m venv "$DEPLOYTOOLS_VENV" >&2 || { rm -rf "$DEPLOYTOOLS_VENV"; apt_install python3-venv; python3 -m venv "$DEPLOYTOOLS_VENV" >&2; }
  say "deploytools: pip install kubernetes-validate==$DEPLOYTOOLS_VALIDATE_VERSION into $DEPLOYTOOLS_VENV"
  "$DEPLOYTOOLS_VENV/bin/pip" install -q --disable-pip-version-check "kubernetes-validate==$DEPLOYTOOLS_VALIDATE_VERSION" >&2 ||
    fail "deploytools: pip install of kubernetes-validate failed (see above)"
}

healthy_deploytools() {
  command -v promtool >/dev/null 2>&1 && command -v kubectl >/dev/null 2>&1 && [[ -x "$DEPLOYTOOLS_VENV/bin/kubernetes-validate" ]]
}

# Nothing runs: the pid file names this script's own shell, which is gone once it returns.
start_deploytools() { echo $$ >"$(pid_file deploytools)"; }
stop_deploytools() { :; }

describe_deploytools() { echo "promtool, kubectl (kustomize) and kubernetes-validate $DEPLOYTOOLS_VALIDATE_VERSION, installed"; }
env_deploytools() {
  echo "export SLUICE_PROMTOOL=$(command -v promtool)"
  echo "export SLUICE_KUBECTL=$(command -v kubectl)"
  echo "export SLUICE_KUBERNETES_VALIDATE=$DEPLOYTOOLS_VENV/bin/kubernetes-validate"
}
program_deploytools() { echo none; }
ports_deploytools() { echo ""; }
