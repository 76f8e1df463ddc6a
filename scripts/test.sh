#!/usr/bin/env bash
# The test command: set up, type check, the layer rule, lint and format, check generated code for
# drift, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
echo "test: type check"
npm run --silent typecheck
echo "test: layer rule (imports point down; no cycles, no orphans)"
npm run --silent lint:layers
echo "test: lint (ESLint, type-aware)"
npm run --silent lint
echo "test: format (Prettier)"
npm run --silent format:check
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
# one plain closing line, whatever the reporters printed above; with two runs, their reports are
# merged into .vitest-results.json as one run would have written it
node -e '
const fs = require("fs");
const parts = [".vitest-results-unit.json", ".vitest-results-integration.json"].filter((n) => fs.existsSync(n));
if (parts.length > 0) {
  const rs = parts.map((n) => JSON.parse(fs.readFileSync(n, "utf8")));
  const merged = { ...rs[0], testResults: rs.flatMap((r) => r.testResults), success: rs.every((r) => r.success) };
  for (const k of Object.keys(rs[0])) if (typeof rs[0][k] === "number" && k !== "startTime") merged[k] = rs.reduce((a, r) => a + (r[k] ?? 0), 0);
  fs.writeFileSync(".vitest-results.json", JSON.stringify(merged));
  for (const n of parts) fs.unlinkSync(n);
}
if (fs.existsSync(".vitest-results.json")) {
  const r = JSON.parse(fs.readFileSync(".vitest-results.json", "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
}
'
exit $rc
