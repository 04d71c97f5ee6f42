#!/usr/bin/env bash
# Makes samples/sample.ts: 6 s of a 320x240 25 fps H.264 test pattern with a 1 kHz AAC tone,
# as a single-program MPEG-TS. Run once; the result is committed so that the README's first
# command works without ffmpeg tricks. Needs ffmpeg with libx264 (Debian: apt-get install ffmpeg).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-samples/sample.ts}"
mkdir -p "$(dirname "$out")"
ffmpeg -hide_banner -loglevel error -y \
  -f lavfi -i testsrc2=size=320x240:rate=25 \
  -f lavfi -i sine=frequency=1000:sample_rate=48000 \
  -t 6 \
  -c:v libx264 -threads 1 -preset veryfast -profile:v main -pix_fmt yuv420p \
  -b:v 600k -maxrate 600k -bufsize 600k -g 25 -keyint_min 25 -sc_threshold 0 \
  -c:a aac -b:a 96k -ac 2 \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact \
  -metadata service_name="headend sample" -metadata service_provider="headend" \
  -f mpegts "$out"
echo "wrote $out ($(stat -c %s "$out") bytes)"
