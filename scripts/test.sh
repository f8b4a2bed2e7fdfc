#!/usr/bin/env bash
# The test command: set up what is missing, then lint, type-check and run every test, the Kivy UI
# tests in a real window under Xvfb. Screenshots land in test-artefacts/ui/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "== ruff"
.venv/bin/ruff check kiosk tests
.venv/bin/ruff format --check kiosk tests
echo "== mypy"
.venv/bin/mypy kiosk tests
echo "== pytest"
rm -rf test-artefacts
exec xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python -m pytest -p no:cacheprovider "$@"
