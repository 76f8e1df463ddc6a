#!/usr/bin/env bash
# The lab demo: two tandem daemons in network namespaces, live traffic, a crash of the active box,
# the takeover and the recovery, with the measured gaps, and a picture of the failover timeline
# (./tandem-failover.svg, or --svg PATH). Cleans up after itself.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$repo" && bash scripts/setup.sh)
# run from where the user is: the picture lands next to them, a relative --svg means what it says
exec node "$repo/bin/tandem.js" lab demo "$@"
