#!/usr/bin/env bash
# `npm test` after the build: every test, inside the private network namespace (in-netns.sh).
#   1. Unit and integration tests, two files at a time.
#   2. The end-to-end tests that judge arrival times (PCR and PSI intervals, PTS gaps, pictures
#      after a failover) or load the box (HLS in Chromium, 200 HTTP clients), one at a time and
#      alone: each starts the real daemon with its ffmpeg children, and on a 2-core box
#      anything beside it would be measured as the daemon's own stalls.
#   3. The end-to-end tests that check what arrives, not when (scans and probes of stand-in
#      tuners, the CLI, shutdown, the relay, the HDHomeRun emulation, the access rules on every
#      surface, the HTTP client limits, the cluster), in two
#      lanes at once, each one file at a time in a network namespace of its own (no group,
#      port or loopback address shared); their output is printed after, whole.
# Each phase runs its files as plain node processes (scripts/run-tests.mjs: tap's own runner
# loads its process tracker into every test and every node process a test starts) and prints
# one `# { total, pass, fail }` line; .ci/run adds them up.
set -uo pipefail
shopt -s globstar nullglob
cd "$(dirname "$0")/.."
run=(node scripts/run-tests.mjs --timeout 600)
status=0
"${run[@]}" --jobs 2 dist/test/{mpegts,scheduler,headend,interop}/**/*.test.js || status=1

LANE_X=(scan-network relay interface probe access-matrix http-limits)
LANE_Y=(cluster cluster-config scan shutdown hdhomerun-emulation)
files() { for n in "$@"; do echo "dist/test/e2e/$n.test.js"; done; }
alone=()
for f in dist/test/e2e/*.test.js; do
  n="$(basename "$f" .test.js)"
  [[ " ${LANE_X[*]} ${LANE_Y[*]} " == *" $n "* ]] || alone+=("$f")
done
"${run[@]}" --jobs 1 "${alone[@]}" || status=1

x_log="$(mktemp "${TMPDIR:-/tmp}/headend-lane-x.XXXXXX")"
y_log="$(mktemp "${TMPDIR:-/tmp}/headend-lane-y.XXXXXX")"
# A namespace of its own each: in-netns.sh makes a new one unless told it is inside one.
mapfile -t x_files < <(files "${LANE_X[@]}")
mapfile -t y_files < <(files "${LANE_Y[@]}")
HEADEND_IN_NETNS=0 bash scripts/in-netns.sh "${run[@]}" --jobs 1 "${x_files[@]}" \
  >"$x_log" 2>&1 &
x_pid=$!
HEADEND_IN_NETNS=0 bash scripts/in-netns.sh "${run[@]}" --jobs 1 "${y_files[@]}" \
  >"$y_log" 2>&1 &
y_pid=$!
wait "$x_pid" || status=1
wait "$y_pid" || status=1
echo "# end-to-end, two lanes at once: lane X"
cat "$x_log"
echo "# end-to-end, two lanes at once: lane Y"
cat "$y_log"
rm -f "$x_log" "$y_log"
exit "$status"
