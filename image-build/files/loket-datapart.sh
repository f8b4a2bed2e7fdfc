#!/bin/bash
# First boot: make the writable data partition (label LOKETDATA) from the SD card's free space. The root
# is read-only under its overlay, so nothing is written to /etc: var-lib-loket.mount (in the image) mounts
# the partition by its label on every boot. Does nothing once the partition exists.
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
udevadm settle
