#!/usr/bin/env bash
# Fill the wheelhouse the TLS scanner Lambda asset is installed from at synth time (offline).
#   usage: build-lambda-wheelhouse.sh PYTHON WHEELHOUSE
# Downloads manylinux x86_64 wheels for CPython 3.14 (the Lambda runtime) of everything in
# lambda_src/requirements-scanner.txt and its dependencies. Packages published only as source
# (sslyze, tls-parser are pure Python) are built into py3 wheels first. Idempotent.
set -euo pipefail
PYTHON=${1:?python}
WHEELHOUSE=${2:?wheelhouse}
REQUIREMENTS=lambda_src/requirements-scanner.txt
PIP_PLATFORM=(--platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64
  --python-version 3.14 --implementation cp --abi cp314 --abi abi3 --abi none)
mkdir -p "$WHEELHOUSE"
# 1. pure-Python packages that ship only an sdist: build wheels locally (no dependencies).
"$PYTHON" -m pip wheel --quiet --no-deps --wheel-dir "$WHEELHOUSE" -r "$REQUIREMENTS" tls-parser
# 2. every dependency as a Lambda-platform binary wheel (the local wheels satisfy step 1's).
"$PYTHON" -m pip download --quiet --dest "$WHEELHOUSE" --find-links "$WHEELHOUSE" \
  --only-binary=:all: "${PIP_PLATFORM[@]}" -r "$REQUIREMENTS"
# 3. prove the set is complete: an offline install for the Lambda platform must resolve.
check=$(mktemp -d)
trap 'rm -rf "$check"' EXIT
"$PYTHON" -m pip install --quiet --no-index --find-links "$WHEELHOUSE" --only-binary=:all: \
  "${PIP_PLATFORM[@]}" --target "$check" -r "$REQUIREMENTS"
cp "$REQUIREMENTS" "$WHEELHOUSE/requirements-scanner.txt"
touch "$WHEELHOUSE/.complete"
