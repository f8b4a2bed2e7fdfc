#!/usr/bin/env bash
# The Debian-built image's own root settings, over a root folder that already has the kiosk's overlay
# (build-overlay.sh): a read-only root with RAM for what must change at run time, the boot partition,
# the network, users made now (sysusers cannot write /etc/passwd on a read-only root), no shared SSH host
# keys, and the console quiet. Called by image-build/build.sh; no emulation except one chroot for sysusers.
# Usage: image-build/image-root.sh ROOT
set -euo pipefail

root="${1:?usage: image-root.sh ROOT}"
system="$root/etc/systemd/system"

cat > "$root/etc/fstab" <<'EOF'
# The root is read-only: what changes at run time is in RAM (below) or on the data partition (data.mount,
# var-lib-loket.mount, etc-loket.mount, made at first boot). The boot partition is writable for the
# enrolment file that provisioning removes once its token is spent.
LABEL=LOKETROOT  /               ext4   ro,noatime                                0 1
LABEL=LOKETBOOT  /boot/firmware  vfat   rw,noatime,nodev,nosuid,noexec,umask=0077,nofail  0 2
tmpfs            /tmp            tmpfs  mode=1777,nodev,nosuid,size=64M           0 0
tmpfs            /var/tmp        tmpfs  mode=1777,nodev,nosuid,size=16M           0 0
tmpfs            /var/log        tmpfs  mode=0755,nodev,nosuid,noexec,size=16M    0 0
tmpfs            /var/lib/systemd tmpfs mode=0755,nodev,nosuid,noexec,size=8M     0 0
tmpfs            /var/cache      tmpfs  mode=0755,nodev,nosuid,noexec,size=16M    0 0
EOF

# an empty machine-id: systemd gives each boot one in RAM (a read-only root cannot keep it)
: > "$root/etc/machine-id"
ln -sfn /etc/machine-id "$root/var/lib/dbus/machine-id" 2>/dev/null || true
echo loket-kiosk > "$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 loket-kiosk\n::1 localhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"

# wired network by DHCP (systemd-networkd); online as soon as any link is, within 20 s: the kiosk works
# offline, so a missing cable must not hold up its start
install -d -m 0755 "$root/etc/systemd/network" "$system/multi-user.target.wants" "$system/sockets.target.wants" \
  "$system/network-online.target.wants" "$system/systemd-networkd-wait-online.service.d" \
  "$system/sysinit.target.wants"
cat > "$root/etc/systemd/network/20-wired.network" <<'EOF'
[Match]
Name=e*

[Network]
DHCP=yes
EOF
cat > "$system/systemd-networkd-wait-online.service.d/loket.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=20
EOF
ln -sfn /lib/systemd/system/systemd-networkd.service "$system/multi-user.target.wants/systemd-networkd.service"
ln -sfn /lib/systemd/system/systemd-networkd.socket "$system/sockets.target.wants/systemd-networkd.socket"
ln -sfn /lib/systemd/system/systemd-networkd-wait-online.service \
  "$system/network-online.target.wants/systemd-networkd-wait-online.service"
ln -sfn /lib/systemd/system/systemd-timesyncd.service "$system/sysinit.target.wants/systemd-timesyncd.service"
# no resolver daemon: /etc/resolv.conf is a static file (the gateway is addressed by IP or /etc/hosts)
rm -f "$root/etc/resolv.conf" && : > "$root/etc/resolv.conf"

# users and groups now: the kiosk's (sysusers.d/loket.conf) and the technicians' (loket-admin.conf)
chroot "$root" systemd-sysusers >/dev/null
# no SSH host key in the image: each kiosk makes its own at first boot (loket-sshkeys.service)
rm -f "$root"/etc/ssh/ssh_host_*
# the kiosk owns the screen: no console on tty1, the kernel quiet on it (cmdline.txt), multi-user only
ln -sfn /lib/systemd/system/multi-user.target "$system/default.target"
# the console's own keys do not reach past the app (systemd/README.md, "Only the service manager stops the
# kiosk"): Ctrl+Alt+Delete does nothing, no other virtual terminal to switch to, no magic SysRq
ln -sfn /dev/null "$system/ctrl-alt-del.target"
install -d -m 0755 "$root/etc/systemd/logind.conf.d" "$root/etc/sysctl.d"
printf '[Login]\nNAutoVTs=0\nReserveVT=0\n' > "$root/etc/systemd/logind.conf.d/loket.conf"
echo 'kernel.sysrq = 0' > "$root/etc/sysctl.d/90-loket.conf"
