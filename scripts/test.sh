#!/usr/bin/env bash
# `npm test` after the build: every test, inside the private network namespace (in-netns.sh).
# Unit and integration tests run two files at a time. The end-to-end tests, each of which
# starts the real daemon with its ffmpeg children (and players), run in two lanes at once,
# each lane one file at a time and in a network namespace of its own (no group, port or
# loopback address is shared between them):
#   A  the tests that judge arrival times (PCR and PSI intervals, pictures after a failover)
#      and the heavy ones (HLS in Chromium, 200 HTTP clients), so that on a 2-core box only
#      light work runs beside them;
#   B  the tests that check what arrives, not when: scans and probes of stand-in tuners, the
#      CLI, shutdown, relay, the HDHomeRun emulation, the cluster.
# tap prints a `# { total, pass, fail }` line per run; .ci/run adds them up. Lane B's output
# is printed after lane A's, whole.
set -uo pipefail
cd "$(dirname "$0")/.."
opts=(--disable-coverage --timeout=600)
status=0
npx tap "${opts[@]}" --jobs=2 "dist/test/{mpegts,scheduler,headend,interop}/**/*.test.js" || status=1

LANE_B=(scan-network scan shutdown relay operate mpts hdhomerun-emulation probe interface
  cluster-config cluster)
b_files=()
for n in "${LANE_B[@]}"; do b_files+=("dist/test/e2e/$n.test.js"); done
a_files=()
for f in dist/test/e2e/*.test.js; do
  n="$(basename "$f" .test.js)"
  [[ " ${LANE_B[*]} " == *" $n "* ]] || a_files+=("$f")
done
b_log="$(mktemp "${TMPDIR:-/tmp}/headend-lane-b.XXXXXX")"
# A namespace of its own: in-netns.sh makes a new one unless told it is already inside one.
HEADEND_IN_NETNS=0 bash scripts/in-netns.sh npx tap "${opts[@]}" --jobs=1 "${b_files[@]}" \
  >"$b_log" 2>&1 &
b_pid=$!
npx tap "${opts[@]}" --jobs=1 "${a_files[@]}" || status=1
wait "$b_pid" || status=1
echo "# end-to-end lane B (run beside lane A):"
cat "$b_log"
rm -f "$b_log"
exit "$status"
