#!/usr/bin/env bash
# Make sure a Chromium for the report's browser test is on this machine (Debian's `chromium`).
# Idempotent and quiet; never fails the build: without root or passwordless sudo it only says
# that the browser test will be skipped and how to install the browser.
set -euo pipefail

if [[ -x /usr/bin/chromium ]] || command -v chromium >/dev/null 2>&1; then
    exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "ensure-chromium: chromium not found and no root or passwordless sudo; the browser" \
        "test will be skipped (install it with: sudo apt-get install -y chromium)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium not found and apt-get is not available; the browser test" \
        "will be skipped (install chromium with your system's package manager)"
    exit 0
fi

echo "ensure-chromium: installing Debian's chromium for the report's browser test"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
