#!/bin/bash
# First boot: make the writable data partition (label LOKETDATA) from the SD card's free space, and lay
# out what lives on it: state/ (bound to /var/lib/loket, the kiosk's own), update/ (field updates,
# /var/lib/loket-update is a link to it), etc/ (bound to /etc/loket,
# root's, read by group loket: the provisioned configuration and secrets) and ssh/ (this kiosk's own SSH
# host key, so no two kiosks share one). The root is read-only, so nothing else is written: data.mount,
# var-lib-loket.mount and etc-loket.mount (in the image) mount them on every boot. Does nothing once the
# partition exists.
set -euo pipefail

label=LOKETDATA
if blkid -L "$label" >/dev/null 2>&1; then
  exit 0
fi
root_part="$(findmnt -n -o SOURCE /)"
disk="/dev/$(lsblk -n -o PKNAME "$root_part")"
start="$(parted -s -m "$disk" unit MiB print free | awk -F: '/free/ {start=$2} END {print start}')"
parted -s "$disk" mkpart primary ext4 "$start" 100%
partprobe "$disk"
udevadm settle
new_part="$(lsblk -n -o PATH "$disk" | tail -n 1)"
mkfs.ext4 -q -L "$label" "$new_part"
staging="$(mktemp -d /run/loket-datapart.XXXXXX)"
mount "$new_part" "$staging"
install -d -m 0750 -o loket -g loket "$staging/state"
install -d -m 0750 -o root -g loket "$staging/etc"
install -d -m 0700 -o root -g root "$staging/ssh"
# field updates (/var/lib/loket-update links here): root's; technicians drop bundles into incoming/
install -d -m 0755 -o root -g root "$staging/update" "$staging/update/slots"
install -d -m 0770 -o root -g loket-admin "$staging/update/incoming"
umount "$staging"
rmdir "$staging"
udevadm settle
