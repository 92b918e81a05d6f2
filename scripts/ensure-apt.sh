#!/usr/bin/env bash
# Make sure a Debian package a test needs is on this machine:
#   scripts/ensure-apt.sh PACKAGE PROBE WHAT_FOR
# PROBE is a path glob that exists once the package is installed. Idempotent and quiet; never
# fails the build: without root or passwordless sudo (or apt-get) it only says which tests will
# be skipped and how to install the package.
#   scripts/ensure-apt.sh chromium /usr/bin/chromium "the report's browser test"
#   scripts/ensure-apt.sh postgresql "/usr/lib/postgresql/*/bin/initdb" "the team-server test"
set -euo pipefail

package=$1 probe=$2 what_for=$3

# shellcheck disable=SC2086  # the probe is a glob on purpose
if compgen -G $probe >/dev/null; then
    exit 0
fi

if [[ "$(id -u)" -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
    as_root=(sudo -n)
else
    echo "ensure-apt: $package not found and no root or passwordless sudo; $what_for will be" \
        "skipped (install it with: sudo apt-get install -y $package)"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-apt: $package not found and apt-get is not available; $what_for will be" \
        "skipped (install $package with your system's package manager)"
    exit 0
fi

echo "ensure-apt: installing Debian's $package for $what_for"
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
