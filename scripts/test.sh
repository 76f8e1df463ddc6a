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
# The unit and fuzz projects first (in parallel, all cores), then the namespace tests alone: their
# daemons and probes time things on two shared cores, and a unit-test storm running beside them
# turned control-thread stalls into lost probes and extra role changes. Arguments, when given, go
# to one plain vitest run.
rm -f .vitest-results*.json
set +e
if [ $# -gt 0 ]; then
  npx vitest run --reporter=default --reporter=json --outputFile=.vitest-results.json "$@"
  rc=$?
else
  npx vitest run --project unit --project fuzz --reporter=default --reporter=json --outputFile=.vitest-results-unit.json
  rc=$?
  npx vitest run --project integration --reporter=default --reporter=json --outputFile=.vitest-results-integration.json
  rc2=$?
  [ $rc -eq 0 ] && rc=$rc2
fi
set -e
# one plain closing line, whatever the reporters printed above
node -e '
const fs = require("fs");
let p = 0, f = 0, s = 0;
for (const file of fs.readdirSync(".").filter((n) => /^\.vitest-results.*\.json$/.test(n))) {
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + r.numTodoTests;
}
console.log(`${p} passed, ${f} failed, ${s} skipped`);
'
exit $rc
