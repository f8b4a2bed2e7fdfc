#!/usr/bin/env bash
# Lay the kiosk's files over a root filesystem folder: units (enabled as systemctl would), tmpfiles and
# sysusers entries, journald limits, the hardware watchdog, NTP, SSH keys only, no console login on the
# kiosk screen, the printer's udev rule, and the example configuration. No loop device, no emulation:
# pi-gen's stage calls it on its rootfs; tests call it on an empty folder and inspect the result.
# Usage: image-build/build-overlay.sh ROOT
set -euo pipefail

root="${1:?usage: build-overlay.sh ROOT}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"

install -d -m 0755 "$root/etc/systemd/system/multi-user.target.wants" \
  "$root/usr/lib/tmpfiles.d" "$root/usr/lib/sysusers.d" "$root/opt/loket" \
  "$root/etc/systemd/journald.conf.d" "$root/etc/systemd/system.conf.d" \
  "$root/etc/systemd/timesyncd.conf.d" "$root/etc/ssh/sshd_config.d" "$root/etc/udev/rules.d"
install -d -m 0750 "$root/etc/loket"

for unit in loket-kiosk.service loket-provision.service loket-update.service; do
  install -m 0644 "$repo/systemd/$unit" "$root/etc/systemd/system/$unit"
  ln -sfn "../$unit" "$root/etc/systemd/system/multi-user.target.wants/$unit"   # systemctl enable
done
# field updates (kiosk/ops/update.py): a bundle in incoming/ starts loket-update.service; the launcher
# runs the update slot in use ahead of the image's own venv; the update root lives on the data partition
install -d -m 0755 "$root/etc/systemd/system/paths.target.wants" "$root/opt/loket/bin" "$root/usr/share/loket/update-keys"
install -m 0644 "$repo/systemd/loket-update.path" "$root/etc/systemd/system/loket-update.path"
ln -sfn ../loket-update.path "$root/etc/systemd/system/paths.target.wants/loket-update.path"
install -m 0755 "$repo/systemd/loket-kiosk-run" "$root/opt/loket/bin/kiosk-run"
install -d -m 0755 "$root/var/lib"
ln -sfn /data/update "$root/var/lib/loket-update"
install -m 0644 "$repo/systemd/loket.conf" "$root/usr/lib/tmpfiles.d/loket.conf"
# the writable data partition, made on first boot (the root is read-only under an overlay)
install -d -m 0755 "$root/usr/local/sbin"
install -m 0755 "$here/files/loket-datapart.sh" "$root/usr/local/sbin/loket-datapart"
install -m 0644 "$here/files/loket-datapart.service" "$root/etc/systemd/system/loket-datapart.service"
install -d -m 0755 "$root/etc/systemd/system/local-fs.target.wants" "$root/data"
# the state's mount point, in the image: on a read-only root neither the mount nor tmpfiles can make it
# (found on the first boot: var-lib-loket.mount failed, and the kiosk with it)
install -d -m 0750 "$root/var/lib/loket"
ln -sfn ../loket-datapart.service "$root/etc/systemd/system/multi-user.target.wants/loket-datapart.service"
# /data is the partition; the kiosk's state and its provisioned configuration are bound from it
for mount in data.mount var-lib-loket.mount etc-loket.mount; do
  install -m 0644 "$here/files/$mount" "$root/etc/systemd/system/$mount"
  ln -sfn "../$mount" "$root/etc/systemd/system/local-fs.target.wants/$mount"
done
install -m 0644 "$here/files/loket-sshkeys.service" "$root/etc/systemd/system/loket-sshkeys.service"
ln -sfn ../loket-sshkeys.service "$root/etc/systemd/system/multi-user.target.wants/loket-sshkeys.service"
install -m 0644 "$repo/systemd/loket.sysusers.conf" "$root/usr/lib/sysusers.d/loket.conf"
install -m 0644 "$here/files/loket-admin.sysusers.conf" "$root/usr/lib/sysusers.d/loket-admin.conf"
install -d -m 0750 "$root/etc/sudoers.d"
install -m 0440 "$here/files/sudoers-loket-admin" "$root/etc/sudoers.d/loket-admin"

# no login prompt over the kiosk's screen: the app owns tty1 (maintenance is over SSH, keys only)
ln -sfn /dev/null "$root/etc/systemd/system/getty@tty1.service"

install -m 0644 "$here/files/journald-loket.conf" "$root/etc/systemd/journald.conf.d/loket.conf"
install -m 0644 "$here/files/watchdog.conf" "$root/etc/systemd/system.conf.d/loket-watchdog.conf"
install -m 0644 "$here/files/timesyncd-loket.conf" "$root/etc/systemd/timesyncd.conf.d/loket.conf"
install -m 0644 "$here/files/sshd-loket.conf" "$root/etc/ssh/sshd_config.d/loket.conf"
install -m 0644 "$here/files/60-loket-printer.rules" "$root/etc/udev/rules.d/60-loket-printer.rules"
install -m 0640 "$repo/config/kiosk.example.toml" "$root/etc/loket/kiosk.example.toml"
install -m 0644 "$repo/README.md" "$root/opt/loket/README.md"
install -m 0644 "$repo/docs/wiring.md" "$root/opt/loket/wiring.md"
echo "overlay laid over $root"
