#!/usr/bin/env bash
# Make sure Debian's chromium is present for the browser test of the web page.
# Without it the browser tests cannot run: on CI (CI=true) that fails the run; elsewhere
# it is said loudly here and in pytest's summary (the tests are skipped, not passed).
set -euo pipefail
CHROMIUM="${BOUSSOLE_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
    echo "error: $CHROMIUM is missing and this CI run is not root: install Debian's 'chromium' package; the browser tests must run on CI" >&2
    exit 1
  fi
  echo "WARNING: $CHROMIUM is missing: the web page will NOT be tested in a browser." >&2
  echo "WARNING: install it with 'sudo apt-get install chromium' (or set BOUSSOLE_CHROMIUM)." >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
