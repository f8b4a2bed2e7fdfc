#!/usr/bin/env bash
# The test command: set up what is missing, then lint, type-check and run every test, the Kivy UI
# tests in a real window under Xvfb. Screenshots land in test-artefacts/ui/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
echo "== ruff"
.venv/bin/ruff check kiosk tests loket_gateway
.venv/bin/ruff format --check kiosk tests loket_gateway
echo "== mypy"
.venv/bin/mypy kiosk tests loket_gateway
echo "== pytest"
rm -rf test-artefacts
mkdir -p test-artefacts
# pytest reports on stdout. Kivy's and the libraries' own logging (and nanobind's leak notes, which
# zxing-cpp prints at interpreter exit, after pytest's summary) go to a file instead, shown on failure.
status=0
xvfb-run -a -s "-screen 0 1920x1920x24" .venv/bin/python -m pytest -p no:cacheprovider "$@" \
  2>test-artefacts/pytest-stderr.log || status=$?
if [[ $status -ne 0 ]]; then
  echo "== last lines of test-artefacts/pytest-stderr.log"
  tail -n 40 test-artefacts/pytest-stderr.log
fi
exit $status
