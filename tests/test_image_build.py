"""The image's root-filesystem overlay, built into a folder (no loop devices, no emulation), and the
build scripts under shellcheck."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BUILD = REPO / "image-build"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_build_scripts_pass_shellcheck() -> None:
    scripts = sorted(BUILD.rglob("*.sh"))
    assert len(scripts) >= 3
    out = subprocess.run(["shellcheck", *map(str, scripts)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout


def test_overlay_holds_the_kiosk_units_users_and_system_settings(tmp_path: Path) -> None:
    root = tmp_path / "rootfs"
    out = subprocess.run(["bash", str(BUILD / "build-overlay.sh"), str(root)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    system = root / "etc/systemd/system"
    for unit in ("loket-kiosk.service", "loket-provision.service"):
        assert (system / unit).read_text() == (REPO / "systemd" / unit).read_text()
        link = system / "multi-user.target.wants" / unit
        assert link.is_symlink() and os.readlink(link) == f"../{unit}", "enabled as systemctl enable does"
    assert os.readlink(system / "getty@tty1.service") == "/dev/null", "no login prompt on the kiosk screen"
    assert os.readlink(system / "multi-user.target.wants/loket-datapart.service") == "../loket-datapart.service"
    assert os.access(root / "usr/local/sbin/loket-datapart", os.X_OK)
    assert "mkfs.ext4 -q -L" in (root / "usr/local/sbin/loket-datapart").read_text()
    data = (system / "data.mount").read_text()
    assert "What=/dev/disk/by-label/LOKETDATA" in data and "Where=/data" in data
    for unit, source, where in (
        ("var-lib-loket", "/data/state", "/var/lib/loket"),
        ("etc-loket", "/data/etc", "/etc/loket"),
    ):
        mount = (system / f"{unit}.mount").read_text()
        assert f"What={source}" in mount and f"Where={where}" in mount and "bind" in mount
        assert "RequiresMountsFor=/data" in mount
    for unit in ("data.mount", "var-lib-loket.mount", "etc-loket.mount"):
        assert os.readlink(system / "local-fs.target.wants" / unit) == f"../{unit}"
    assert "HostKey /data/ssh/" in (root / "etc/ssh/sshd_config.d/loket.conf").read_text()
    assert "u loket" in (root / "usr/lib/sysusers.d/loket.conf").read_text()
    assert "m loket gpio" in (root / "usr/lib/sysusers.d/loket.conf").read_text()
    assert "d /var/lib/loket 0750 loket loket" in (root / "usr/lib/tmpfiles.d/loket.conf").read_text()
    sshd = (root / "etc/ssh/sshd_config.d/loket.conf").read_text()
    assert "PasswordAuthentication no" in sshd and "PermitRootLogin no" in sshd
    assert "RuntimeWatchdogSec=" in (root / "etc/systemd/system.conf.d/loket-watchdog.conf").read_text()
    assert "NTP=" in (root / "etc/systemd/timesyncd.conf.d/loket.conf").read_text()
    assert "Storage=volatile" in (root / "etc/systemd/journald.conf.d/loket.conf").read_text()
    assert stat.S_IMODE((root / "etc/loket").stat().st_mode) == 0o750
    assert (root / "opt/loket/wiring.md").exists() and (root / "etc/loket/kiosk.example.toml").exists()
    stage = (BUILD / "stage-loket/00-kiosk/01-run.sh").read_text()
    assert "build-overlay.sh" in stage and "do_overlayfs 0" in stage, "the pi-gen stage uses the same overlay"
