#!/usr/bin/env bash
# Runs a command inside a private network namespace so that nothing it sends
# (UDP, multicast, RTP) can leave this machine. Works as root and as an
# ordinary user (unshare -r maps the caller to root inside a new user namespace).
# Inside: only `lo`, up, multicast-capable, with 224.0.0.0/4 routed to it.
set -euo pipefail
# Already inside one (nested call)? Only trust that if lo is the sole interface.
if [[ "${HEADEND_IN_NETNS:-}" == "1" ]] && [[ "$(ip -o link show | grep -vc ': lo:')" == "0" ]]; then
  exec "$@"
fi
export HEADEND_IN_NETNS=1
# As real root: a network namespace only (unshare -n), so that tests can still run a client as
# an unprivileged user (VLC refuses root: `runuser -u nobody -- cvlc …`). As an ordinary user:
# a user namespace too (unshare -rn), where such a test has no other user to become.
if [[ "$(id -u)" == "0" ]] && unshare -n true 2>/dev/null; then
  NS_FLAGS=-n
else
  NS_FLAGS=-rn
fi
exec unshare "$NS_FLAGS" bash -c '
  set -e
  ip link set lo up
  ip link set lo multicast on
  ip route add 224.0.0.0/4 dev lo
  exec "$@"
' in-netns "$@"
