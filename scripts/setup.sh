#!/usr/bin/env bash
# First-time setup on a fresh Debian/Ubuntu machine: installs ffmpeg (and dvb-tools and
# python3 for DVB adapters, make and a C compiler for the native UDP addon), checks Node ≥ 20,
# installs the npm dependencies and builds. Safe to run again.
# Debian 12 and Ubuntu 24.04 ship Node 18, which is too old: this script then says how to get
# Node 20 or newer and stops (exit 1) rather than installing a Node for you.
set -euo pipefail
cd "$(dirname "$0")/.."

need_sudo() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# ffmpeg for sources; the DejaVu font for the names burned into test patterns; dvb-tools
# (dvbv5-zap) and python3 (scripts/dvb-demux.py) for local DVB adapters.
missing=()
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
[[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)
command -v dvbv5-zap >/dev/null 2>&1 || missing+=(dvb-tools)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
# make and a C compiler build the native UDP addon (native/udp.c: sendmmsg/recvmmsg) at npm ci.
{ command -v make >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; } || missing+=(build-essential)
if [[ ${#missing[@]} -gt 0 ]]; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} (apt-get)"
    need_sudo apt-get update
    need_sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
  else
    echo "setup: ${missing[*]} missing and this is not a Debian/Ubuntu system; install them and run again" >&2
    exit 1
  fi
fi

node_major=0
if command -v node >/dev/null 2>&1; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
fi
if [[ "$node_major" -lt 20 ]] || ! command -v npm >/dev/null 2>&1; then
  if [[ "$node_major" -eq 0 ]]; then found="no node"; else found="node $(node --version)"; fi
  cat >&2 <<MSG
setup: headend needs Node.js 20 or newer (with npm); found ${found}.
Debian 12 and Ubuntu 24.04 ship Node 18. Get Node 20+ in one of these ways, then run this again:
  * Debian 13 (trixie) or newer, Ubuntu 25.04 or newer:
      sudo apt-get install -y nodejs npm
  * NodeSource packages (Debian/Ubuntu):
      curl -fsSL https://deb.nodesource.com/setup_22.x | sudo -E bash -
      sudo apt-get install -y nodejs
  * nvm, as your user:
      curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.40.3/install.sh | bash
      . ~/.nvm/nvm.sh && nvm install 22
MSG
  exit 1
fi

echo "setup: node $(node --version), npm $(npm --version), $(ffmpeg -version | head -n1)"
npm ci
npm run build
echo "setup: done. Start the example channels with: npx headend run"
