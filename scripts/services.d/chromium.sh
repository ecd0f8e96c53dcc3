# A browser, not a server: the headless Chromium the `*.chromium.*.test.ts` tests drive with
# puppeteer-core (the web console). Debian's `chromium` package: puppeteer's own browser download
# cannot reach its host here. Sourced by ../services.sh.
# "Healthy" means installed; starting installs and runs nothing; stopping has nothing to stop.
# Env line: SLUICE_CHROMIUM (the executable the tests launch).

SERVICES+=(chromium)
CHROMIUM_BINARY=/usr/bin/chromium

install_chromium() {
  [[ -x "$CHROMIUM_BINARY" ]] || apt_install chromium
}

healthy_chromium() { [[ -x "$CHROMIUM_BINARY" ]]; }

# Nothing runs: the pid file names this script's own shell, which is gone once it returns.
start_chromium() { echo $$ >"$(pid_file chromium)"; }
stop_chromium() { :; }

describe_chromium() { echo "$("$CHROMIUM_BINARY" --version 2>/dev/null || echo chromium), installed at $CHROMIUM_BINARY"; }
env_chromium() { echo "export SLUICE_CHROMIUM=$CHROMIUM_BINARY"; }
program_chromium() { echo none; }
ports_chromium() { echo ""; }
