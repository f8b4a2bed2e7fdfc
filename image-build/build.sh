#!/usr/bin/env bash
# Build a bootable arm64 kiosk image from Debian's archive, on an x86-64 (or arm64) Debian host, as root:
#   image-build/build.sh --out kiosk.img [--work DIR] [--mirror URL] [--suite bookworm]
# Three stages, each cached in the work folder by a key of what goes into it:
#   1. wheels: the kiosk's own wheel and every dependency's aarch64 wheel from PyPI (pyscard excepted:
#      Debian's python3-pyscard, so the image needs no compiler and gets Debian's security fixes);
#   2. rootfs.tar: mmdebstrap (arm64, through qemu-user and binfmt) with the kernel, raspi-firmware, the
#      kiosk's system packages, and /opt/loket/venv made inside the target from those wheels;
#   3. the image: the overlay (image-build/build-overlay.sh), a read-only root, bytecode compiled on the
#      host (the same CPython minor version), a FAT boot partition for a Pi 4 (firmware, kernel, initrd,
#      device trees, config.txt, cmdline.txt) and an ext4 root made with mkfs.ext4 -d (no loop device).
# The data partition is made at first boot from the free space (loket-datapart.service). The same image
# boots QEMU's `virt` machine with its kernel and initrd given directly (image-build/boot-test.sh).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
out=""
work="${LOKET_IMAGE_WORK:-/var/tmp/loket-image}"
mirror="http://deb.debian.org/debian"
suite="bookworm"
boot_mib=256

usage() { echo "usage: image-build/build.sh --out FILE [--work DIR] [--mirror URL] [--suite SUITE]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:-}"; shift 2 ;;
    --work) work="${2:-}"; shift 2 ;;
    --mirror) mirror="${2:-}"; shift 2 ;;
    --suite) suite="${2:-}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "build.sh: unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$out" ] || usage
[ "$(id -u)" -eq 0 ] || { echo "build.sh: run as root (mmdebstrap's root mode, chroot into the target)" >&2; exit 2; }
for tool in mmdebstrap mkfs.ext4 mkfs.vfat mcopy sfdisk python3 sha256sum; do
  command -v "$tool" >/dev/null || {
    echo "build.sh: $tool is missing: apt-get install mmdebstrap qemu-user-static binfmt-support arch-test e2fsprogs dosfstools mtools fdisk" >&2
    exit 2
  }
done
mkdir -p "$work"
log() { printf '%s build.sh: %s\n' "$(date -u +%H:%M:%S)" "$*"; }

# -- arm64 binaries run through qemu-user ----------------------------------------------------------------
if [ "$(uname -m)" != aarch64 ]; then
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  arch-test arm64 >/dev/null || { echo "build.sh: arm64 binaries do not run here (qemu-user-static, binfmt-support)" >&2; exit 2; }
fi

# -- 1. wheels ------------------------------------------------------------------------------------------
wheels="$work/wheels"
deps="$(python3 - "$repo/pyproject.toml" <<'EOF'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print("\n".join(d for d in deps if not d.lower().startswith("pyscard")))
EOF
)"
wheel_key="$(printf '%s\n' "$deps" | sha256sum | cut -c1-16)"
if [ ! -e "$wheels/.key-$wheel_key" ]; then
  log "downloading aarch64 wheels"
  rm -rf "$wheels" && mkdir -p "$wheels"
  platforms=()
  for glibc in 17 24 26 27 28 31 34 35 36; do platforms+=(--platform "manylinux_2_${glibc}_aarch64"); done
  # shellcheck disable=SC2046  # one requirement per line
  python3 -m pip download -q --dest "$wheels" "${platforms[@]}" --platform manylinux2014_aarch64 \
    --platform linux_aarch64 --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    --only-binary=:all: $(printf '%s\n' "$deps" | sed 's/ *;.*//' | tr '\n' ' ')
  touch "$wheels/.key-$wheel_key"
fi
rm -f "$wheels"/loket_mandiri-*.whl
python3 -m pip wheel -q --no-deps --wheel-dir "$wheels" "$repo"
kiosk_wheel="$(basename "$(ls "$wheels"/loket_mandiri-*.whl)")"

# -- 2. the root file system ----------------------------------------------------------------------------
packages="systemd,systemd-sysv,udev,dbus,kmod,iproute2,systemd-timesyncd,initramfs-tools,linux-image-arm64"
packages+=",raspi-firmware,python3,python3-venv,python3-pyscard,pcscd,libccid,libpcsclite1,libusb-1.0-0"
packages+=",tesseract-ocr,tesseract-ocr-eng,libgl1,libegl1,libgles2,libgl1-mesa-dri,libgbm1,libdrm2"
packages+=",libmtdev1,libinput10,openssh-server,espeak-ng,alsa-utils,ca-certificates,parted,e2fsprogs"
packages+=",util-linux,fdisk,dosfstools,sudo"
third_party="$(cd "$wheels" && find . -name '*.whl' ! -name 'loket_mandiri-*' | sort | sha256sum | cut -c1-16)"
root_key="$(printf '%s %s %s %s\n' "$suite" "$mirror" "$packages" "$third_party" | sha256sum | cut -c1-16)"
rootfs="$work/rootfs-$root_key.tar"
if [ ! -e "$rootfs" ]; then
  log "mmdebstrap $suite arm64 (this is the slow part: 15-25 min under emulation)"
  rm -f "$work"/rootfs-*.tar
  # the third-party wheels go in here; the kiosk's own wheel is installed at stage 3, so a code change
  # does not rebuild the root file system
  rm -f "$work/rootfs.part.tar"
  # shellcheck disable=SC2016  # the hooks' $1 is the target, expanded by mmdebstrap
  mmdebstrap --variant=minbase --architectures=arm64 --components="main contrib non-free-firmware" \
    --include="$packages" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --essential-hook='mkdir -p "$1/boot/firmware"' \
    --customize-hook="copy-in $wheels /tmp" \
    --customize-hook='chroot "$1" python3 -m venv --system-site-packages /opt/loket/venv' \
    --customize-hook='chroot "$1" /opt/loket/venv/bin/pip install -q --no-compile --no-index --find-links /tmp/wheels $(find "$1/tmp/wheels" -name "*.whl" ! -name "loket_mandiri-*" -printf "/tmp/wheels/%f ")' \
    --customize-hook='rm -rf "$1/tmp/wheels"' \
    "$suite" "$work/rootfs.part.tar" "$mirror"
  mv "$work/rootfs.part.tar" "$rootfs"
fi

# -- 3. the image ---------------------------------------------------------------------------------------
root="$work/root"
boot="$work/boot"
log "assembling the root file system"
rm -rf "$root" "$boot" && mkdir -p "$root" "$boot"
tar -xpf "$rootfs" -C "$root" --numeric-owner --xattrs --xattrs-include='*'
mkdir -p "$root/tmp/wheels" && cp "$wheels/$kiosk_wheel" "$root/tmp/wheels/"
chroot "$root" /opt/loket/venv/bin/pip install -q --no-compile --no-deps --no-index "/tmp/wheels/$kiosk_wheel"
rm -rf "$root/tmp/wheels"
bash "$here/build-overlay.sh" "$root" >/dev/null
bash "$here/image-root.sh" "$root"
# bytecode: compiled here, not under emulation; .pyc files are the same on every CPU for one CPython
# minor version, and a read-only root could never write them at run time
target_py="$(chroot "$root" python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
host_py="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
if [ "$target_py" = "$host_py" ]; then
  python3 -m compileall -q -j 0 -s "$root" -p / "$root/opt/loket/venv/lib" >/dev/null || true
else
  chroot "$root" /opt/loket/venv/bin/python -m compileall -q /opt/loket/venv/lib >/dev/null || true
fi

# the boot partition: what a Pi 4's firmware reads, and the kernel and initrd QEMU is given directly
kver="$(find "$root/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)"
cp -a "$root"/usr/lib/raspi-firmware/. "$boot/"
cp "$root/boot/vmlinuz-$kver" "$boot/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$boot/initrd.img"
cp "$root"/usr/lib/linux-image-"$kver"/broadcom/bcm2711-rpi-*.dtb "$boot/"
cp "$here/files/config.txt" "$boot/config.txt"
echo "console=tty1 root=LABEL=LOKETROOT rootfstype=ext4 ro rootwait fsck.repair=yes quiet" > "$boot/cmdline.txt"

root_mib=$(( $(du -sxm "$root" | cut -f1) * 115 / 100 + 200 ))
img_mib=$(( 4 + boot_mib + root_mib ))
log "image: ${img_mib} MiB (boot ${boot_mib}, root ${root_mib}); the data partition is made at first boot"
rm -f "$work/boot.vfat" "$work/root.ext4"
mkfs.vfat -n LOKETBOOT -C "$work/boot.vfat" $(( boot_mib * 1024 )) >/dev/null
mcopy -s -i "$work/boot.vfat" "$boot"/* ::/
mkfs.ext4 -q -L LOKETROOT -E root_owner=0:0 -d "$root" "$work/root.ext4" "${root_mib}M"
rm -f "$out.part"
truncate -s "${img_mib}M" "$out.part"
sfdisk -q "$out.part" <<EOF
label: dos
start=4MiB, size=${boot_mib}MiB, type=c, bootable
start=$(( 4 + boot_mib ))MiB, size=${root_mib}MiB, type=83
EOF
dd if="$work/boot.vfat" of="$out.part" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$out.part" bs=1M seek=$(( 4 + boot_mib )) conv=notrunc,sparse status=none
mv "$out.part" "$out"
rm -f "$work/boot.vfat" "$work/root.ext4"
log "built $out ($(du -m --apparent-size "$out" | cut -f1) MiB, kernel $kver, kiosk $kiosk_wheel)"
