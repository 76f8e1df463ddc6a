#!/usr/bin/env bash
# The lab demo: two tandem daemons in network namespaces, live traffic, a crash of the active box,
# the takeover and the recovery, with the measured gap. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node bin/tandem.js lab demo "$@"
