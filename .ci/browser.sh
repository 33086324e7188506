#!/usr/bin/env bash
# The browser tests (tests/browser) drive Debian's Chromium with Playwright; install it when missing.
# Playwright's own browser download is never used: the tests launch /usr/bin/chromium by path.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
# Colour emoji for the screenshots (messages use them). Best effort: no test depends on it.
if ! fc-list 2>/dev/null | grep -qi "color emoji"; then
  apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq fonts-noto-color-emoji >/dev/null 2>&1; } || true
fi
chromium --version 2>/dev/null || true
