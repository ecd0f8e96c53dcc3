# DynamoDB (npm dynalite, a devDependency, LevelDB-based, by kinesalite's author): the server of
# the `*.dynamodb.test.ts` tests. Sourced by ../services.sh. DynamoDB Local is not used: its
# licence does not allow it here. Started through its module API on 127.0.0.1 only, in memory,
# with tables ACTIVE at once. aws_json_call is defined in kinesis.sh.
# Environment: SLUICE_DYNAMODB_PORT (14568).

SERVICES+=(dynamodb)
DYNAMODB_PORT="${SLUICE_DYNAMODB_PORT:-14568}"

install_dynamodb() {
  [[ -f "$REPO/node_modules/dynalite/package.json" ]] || fail "dynamodb: node_modules/dynalite is missing; run \`npm install\` in $REPO"
  (cd "$REPO" && node -e "require('leveldown')" 2>/dev/null) || fail "dynamodb: dynalite needs leveldown, which does not load; run \`npm rebuild leveldown\` in $REPO"
}

healthy_dynamodb() {
  aws_json_call "http://127.0.0.1:$DYNAMODB_PORT/" DynamoDB_20120810.ListTables '{}' 2>/dev/null | grep -q '"TableNames"'
}

start_dynamodb() {
  setsid node -e '
    const [port, module] = process.argv.slice(1);
    const server = require(module)({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server.listen(Number(port), "127.0.0.1", () => console.log(`dynalite listening on http://127.0.0.1:${port}`));
    process.on("SIGTERM", () => server.close(() => process.exit(0)));' "$DYNAMODB_PORT" "$REPO/node_modules/dynalite" \
    >>"$(log_file dynamodb)" 2>&1 </dev/null &
  echo $! >"$(pid_file dynamodb)"
}

stop_dynamodb() { stop_pid dynamodb "$1"; }

describe_dynamodb() { echo "dynalite http://127.0.0.1:$DYNAMODB_PORT (in memory)"; }
env_dynamodb() { echo "export SLUICE_DYNAMODB_ENDPOINT=http://127.0.0.1:$DYNAMODB_PORT"; }
program_dynamodb() { echo node; }
ports_dynamodb() { echo "$DYNAMODB_PORT"; }
