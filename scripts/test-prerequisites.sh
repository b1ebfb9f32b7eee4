#!/usr/bin/env bash
# Runs before `npm test` (npm's pretest): the admin console's browser test drives Debian's
# Chromium, which a fresh machine does not have. Installs it once where that is possible.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "npm test needs /usr/bin/chromium for the console test: install Debian's chromium (apt-get install -y chromium) as root" >&2
  exit 1
fi
echo "pretest: installing Debian's chromium for the console test (once, ~1 min)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
