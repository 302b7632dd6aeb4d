#!/usr/bin/env bash
# System packages for the TLS scanner's test lab and benchmark (Debian), installed idempotently:
#   nginx       - legacy-protocol lab servers (started by tests/scanner fixtures on 127.0.0.1 only)
#   sslscan     - comparison tool for `make bench-scan`
#   testssl.sh  - comparison tool for `make bench-scan`
# Skips packages that are already installed; needs root (apt-get) only when something is missing.
set -euo pipefail

packages=(nginx-light sslscan testssl.sh)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-system-deps: apt-get not found; install ${missing[*]} by hand (tests that need them skip)" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-system-deps: not root; install ${missing[*]} by hand (tests that need them skip)" >&2
    exit 0
  fi
fi
echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package's own service is not wanted: fixtures start nginx with their own config.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
if [ -f /run/nginx.pid ]; then $SUDO kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
