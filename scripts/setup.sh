#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for the kiosk: system packages, then a virtual environment in .venv
# with the kiosk installed (editable) and its development tools. Safe to run again: it only installs
# what is missing. Usage: scripts/setup.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail
cd "$(dirname "$0")/.."

# Runtime: OpenGL/EGL for Kivy's SDL2 window, mtdev for touch input, pcsc-lite for the card reader,
# a C compiler and libpcsclite-dev because pyscard has no binary wheel and builds from source,
# libusb for the USB receipt printer (pyusb, through python-escpos), tesseract for the printed NIK,
# espeak-ng and alsa-utils (aplay) for the spoken prompts.
packages=(python3 python3-venv python3-dev gcc libgl1 libegl1 libgl1-mesa-dri libmtdev1
          pcscd libpcsclite1 libpcsclite-dev libusb-1.0-0 tesseract-ocr tesseract-ocr-eng
          espeak-ng alsa-utils)
if [[ "${1:-}" == "--test" ]]; then
  # Tests: a virtual X server for the real Kivy window, and vsmartcard's virtual reader (vpcd) for a
  # real PC/SC stack. vpcd listens on the network: a test dependency only, never on a kiosk image.
  packages+=(xvfb xauth vsmartcard-vpcd systemd prometheus shellcheck)  # unit checks, promtool, shellcheck
  # the gateway service's tests start their own PostgreSQL in a temporary folder (tests/pgserver.py)
  packages+=(postgresql)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
if [[ ! -x .venv/bin/python ]]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'
if [[ "${1:-}" == "--test" ]]; then
  scripts/schemathesis.sh --install  # schemathesis in its own .venv-st (tests/test_gw_schemathesis.py)
fi
echo "setup: ready ($(.venv/bin/kiosk --help | head -n 1))"
