#!/usr/bin/env bash
# Make sure strace is present: the crash-window test kills `boussole build` at each rename
# with strace's fault injection.
set -euo pipefail
if command -v strace >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "strace is missing: install Debian's 'strace' package (the crash-window test fails without it)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq strace >/dev/null
