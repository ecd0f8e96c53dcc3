# Kinesis (npm kinesalite, a devDependency): the server of the `*.kinesis.test.ts` tests. Sourced by
# ../services.sh. kinesalite's own CLI listens on every interface, so it is started through its
# module API on 127.0.0.1 only, in memory (its LevelDB store is memdown; leveldown must load),
# with streams ACTIVE at once (createStreamMs etc. 0) and a high shard limit for resharding tests.
# Environment: SLUICE_KINESIS_PORT (14567).

SERVICES+=(kinesis)
KINESIS_PORT="${SLUICE_KINESIS_PORT:-14567}"

install_kinesis() {
  [[ -f "$REPO/node_modules/kinesalite/package.json" ]] || fail "kinesis: node_modules/kinesalite is missing; run \`npm install\` in $REPO"
  (cd "$REPO" && node -e "require('leveldown')" 2>/dev/null) || fail "kinesis: kinesalite needs leveldown, which does not load; run \`npm rebuild leveldown\` in $REPO"
}

# An AWS JSON-protocol call with a syntactically complete (unchecked) signature: kinesalite and
# dynalite refuse unsigned requests but do not verify signatures. DynamoDB speaks JSON 1.0, Kinesis 1.1.
aws_json_call() { # url target body
  node -e '
    const [url, target, body] = process.argv.slice(1);
    const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, "");
    fetch(url, {
      method: "POST",
      body,
      headers: {
        "content-type": target.startsWith("DynamoDB") ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
        "x-amz-target": target,
        "x-amz-date": date,
        authorization: `AWS4-HMAC-SHA256 Credential=sluice/${date.slice(0, 8)}/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=0`,
      },
      signal: AbortSignal.timeout(2000),
    }).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, () => process.exit(1))' "$1" "$2" "$3"
}

healthy_kinesis() {
  aws_json_call "http://127.0.0.1:$KINESIS_PORT/" Kinesis_20131202.ListStreams '{}' 2>/dev/null | grep -q '"StreamNames"'
}

start_kinesis() {
  setsid node -e '
    const [port, module] = process.argv.slice(1);
    const server = require(module)({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 });
    server.listen(Number(port), "127.0.0.1", () => console.log(`kinesalite listening on http://127.0.0.1:${port}`));
    process.on("SIGTERM", () => server.close(() => process.exit(0)));' "$KINESIS_PORT" "$REPO/node_modules/kinesalite" \
    >>"$(log_file kinesis)" 2>&1 </dev/null &
  echo $! >"$(pid_file kinesis)"
}

stop_kinesis() { stop_pid kinesis "$1"; }

describe_kinesis() { echo "kinesalite http://127.0.0.1:$KINESIS_PORT (in memory)"; }
env_kinesis() { echo "export SLUICE_KINESIS_ENDPOINT=http://127.0.0.1:$KINESIS_PORT"; }
program_kinesis() { echo node; }
ports_kinesis() { echo "$KINESIS_PORT"; }
