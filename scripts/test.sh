#!/usr/bin/env bash
# `npm test` after the build: every test, inside the private network namespace (in-netns.sh).
# Unit and integration tests run two files at a time; the end-to-end tests, each of which
# starts the real daemon with its ffmpeg children (and players), run one at a time so that on
# a 2-core box they do not starve each other's pacing. tap prints a `# { total, pass, fail }`
# line per run; .ci/run adds them up.
set -uo pipefail
cd "$(dirname "$0")/.."
opts=(--disable-coverage --timeout=600)
status=0
npx tap "${opts[@]}" --jobs=2 "dist/test/{mpegts,scheduler,headend,interop}/**/*.test.js" || status=1
npx tap "${opts[@]}" --jobs=1 "dist/test/e2e/**/*.test.js" || status=1
exit "$status"
