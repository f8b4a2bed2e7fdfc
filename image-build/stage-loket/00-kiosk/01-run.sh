#!/bin/bash -e
# pi-gen stage: the kiosk on Raspberry Pi OS Lite (Bookworm, arm64). pi-gen sources this with
# ROOTFS_DIR set and provides on_chroot; the wheel of the kiosk is in files/ (see image-build/README.md).
# shellcheck disable=SC2154  # ROOTFS_DIR comes from pi-gen
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../../build-overlay.sh" "${ROOTFS_DIR}"
install -d "${ROOTFS_DIR}/opt/loket/wheels"
cp "$here"/files/*.whl "${ROOTFS_DIR}/opt/loket/wheels/"

on_chroot <<'CHROOT'
set -e
systemd-sysusers
groupadd -f loket-admin
python3 -m venv /opt/loket/venv
/opt/loket/venv/bin/pip install --no-cache-dir /opt/loket/wheels/*.whl
systemctl enable systemd-timesyncd ssh
systemctl set-default multi-user.target
# read-only root: an overlay in RAM over the root partition; /var/lib/loket is the data partition
raspi-config nonint do_overlayfs 0
CHROOT
