#!/usr/bin/env bash
# Installs what tandem needs on a Debian machine and builds it. Idempotent: each step runs only
# when its result is missing or stale. Needs root for apt (the lab needs root anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

# prometheus: promtool (alert rules, metrics exposition) and the server for the scrape test; curl: its
# query API from inside a namespace; util-linux: chrt and setpriv (the daemon uses both); chromium: the
# status page test drives it headless with playwright-core (which downloads no browser of its own); iperf3:
# the TCP load of bench/tcp (installed noninteractively, its debconf question defaults to no daemon);
# openssl: `tandem lab up --tls` mints the lab's private CA and certificates with it (the TLS tests).
APT_PACKAGES=(libpcap-dev iproute2 ethtool tcpdump iputils-ping procps python3 make g++ netsniff-ng nftables prometheus systemd curl util-linux chromium iperf3 traceroute iputils-tracepath bind9-dnsutils dnsmasq-base openssl)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" != "20" ]; then
  echo "setup: tandem runs on Node.js 20 (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# npm ci only when the lock file changed since the last install (node_modules/.package-lock.json
# is written by npm at the end of a successful install).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
# tandem's own addon (native/packet-ring): npm ci builds it; rebuilt here when its source is newer
ring=native/packet-ring/build/Release/packet_ring.node
if [ ! -f "$ring" ] || [ -n "$(find native/packet-ring/src native/packet-ring/binding.gyp -newer "$ring" 2>/dev/null)" ]; then
  echo "setup: build native/packet-ring"
  npm run --silent build:native >/dev/null
fi
for addon in node_modules/cap/build/Release/cap.node node_modules/raw-socket/build/Release/raw.node node_modules/better-sqlite3/build/Release/better_sqlite3.node "$ring"; do
  if [ ! -f "$addon" ]; then
    echo "setup: native addon $addon was not built (are libpcap-dev, python3, make and g++ installed?)" >&2
    exit 1
  fi
done

echo "setup: build"
npm run --silent build
