#!/usr/bin/env bash
# The browser tests (tests/browser) drive Debian's chromium with Playwright, never a browser
# that Playwright downloads.  Install it when it is missing (as root, with apt-get).
# CHROMIUM=/path/to/chromium points the tests at another build.
set -euo pipefail
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "error: the browser tests need chromium at $chromium." >&2
  echo "       Install it (Debian: apt-get install chromium) or set CHROMIUM to its path." >&2
  exit 1
fi
echo "installing chromium..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
