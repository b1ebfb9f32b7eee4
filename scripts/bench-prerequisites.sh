#!/usr/bin/env bash
# Runs before `npm run bench`: the C load generators the benchmark drives the server with, wrk
# (the workers scenario's lock/unlock) and h2load (its reads, and the gRPC cross-check;
# nghttp2-client). Installs what is
# missing once where that is possible, else names the command and stops.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v h2load >/dev/null || missing+=(nghttp2-client)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "npm run bench needs ${missing[*]}: install them as root with apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "bench: installing ${missing[*]} (once)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
