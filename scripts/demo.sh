#!/usr/bin/env bash
# Set up what is missing, then start `kiosk demo`: the real app on simulated hardware and a seeded
# real gateway on 127.0.0.1. Extra arguments go to `kiosk demo` (e.g. --windowed, --language en).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/kiosk demo "$@"
