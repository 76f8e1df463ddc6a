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
npx vitest run "$@"
