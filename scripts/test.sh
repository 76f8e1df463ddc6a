#!/usr/bin/env bash
# The test command: set up, type check, check generated code for drift, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: type check"
npm run --silent typecheck
echo "test: generated protobuf code is up to date"
node scripts/gen-proto.mjs --check
echo "test: vitest"
results=.vitest-results.json
rm -f "$results"
set +e
npx vitest run --reporter=default --reporter=json --outputFile="$results" "$@"
rc=$?
set -e
# one plain closing line, whatever the reporter printed above
if [ -f "$results" ]; then
  node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`)' "$results"
fi
exit $rc
