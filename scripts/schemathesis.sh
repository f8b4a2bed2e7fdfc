#!/usr/bin/env bash
# schemathesis (property-based contract testing) against the real gateway: a throwaway PostgreSQL,
# seeded, `loket-gateway serve` with mutual TLS, and `st run kiosk/gateway/openapi.yaml --checks all`
# with every phase, as kiosk KIOSK-01 (tests/gw_schemathesis.py). schemathesis lives in its own virtual
# environment, .venv-st, pinned so that a seed gives the same cases everywhere.
# Usage: scripts/schemathesis.sh [--install] [--examples N (default 200)] [--seed N (default 16)]
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
if [[ ! -x .venv-st/bin/st ]] || ! .venv-st/bin/st --version | grep -q "$version"; then
  python3 -m venv .venv-st
  .venv-st/bin/python -m pip install -q --disable-pip-version-check "schemathesis==$version"
fi
if [[ "${1:-}" == "--install" ]]; then
  exit 0
fi
exec .venv/bin/python -m tests.gw_schemathesis "$@"
