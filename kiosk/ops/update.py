"""Field updates: a signed bundle of kiosk wheels, installed into an app slot on the data partition, tried,
and kept only when the new version comes up READY and healthy; otherwise rolled back, by itself.

Why wheels and not an image. Mender, RAUC and SWUpdate update a whole root file system into the inactive
of two partitions and let the bootloader fall back (Raspberry Pi's `tryboot`). That is the right tool for
the OS, and it costs an image (about 1.5 GB) over an office's link for every change of the app, two root
partitions on the card, and a bootloader handshake. What changes weekly here is the kiosk's own code (one
wheel of about 2 MB, now and then a dependency's wheel): this bundle carries only those, installs them
beside the image's /opt/loket/venv (which keeps every other dependency), and switches by a symlink. Like
RAUC's "mark good" and Mender's commit, the new version is on trial until it proves itself: the app unit
reached READY (Type=notify, sent after the first frame), /healthz on the management address reports the
new version, not failed, and a heartbeat that reached the gateway; past the deadline the previous version
is put back and the kiosk restarted. A power cut during the trial is settled at the next boot (the
trial's deadline is wall-clock time in state.json). OS security updates reach the read-only root as a new
image: image-build/build.sh from Debian's security archive, flashed by a technician, or (not built yet) an
A/B root pair with RAUC and `tryboot`.

Layout under the update root (/var/lib/loket-update, on the data partition; root's, readable by all):

    incoming/          bundles dropped here (over the management network) start loket-update.service
    done/, refused/    bundles handled, with a line in the journal each
    slots/VERSION/     each installed version: site/ (pip --target), read through PYTHONPATH by the
                       launcher (systemd/loket-kiosk-run)
    current            symlink to slots/VERSION (absent: the image's own version)
    state.json         current, previous, the trial under way, and the history of outcomes

The bundle format and its checks: kiosk/ops/bundle.py.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.ops.bundle import UpdateRefused, check_bundle, trusted_keys

log = logging.getLogger(__name__)

UPDATE_ROOT = Path("/var/lib/loket-update")
KIOSK_UNIT = "loket-kiosk.service"
TRIAL_S = 300.0  # READY and a healthy heartbeat within this, or the previous version comes back
PIP_TIMEOUT_S = 900.0


# -- the slots, the state, the trial -----------------------------------------------------------------------


@dataclass
class State:
    """What state.json holds: the version in use (None: the image's own), the one before it, the trial
    under way (version and wall-clock deadline) and the outcomes so far (newest last, at most 50)."""

    current: str | None = None
    previous: str | None = None
    trial: dict[str, Any] | None = None
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> State:
        try:
            body = json.loads((root / "state.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.error("update state.json unreadable (%s): starting from the image's own version", exc)
            return cls()
        return cls(body.get("current"), body.get("previous"), body.get("trial"), list(body.get("history", []))[-50:])

    def save(self, root: Path) -> None:
        body = {"current": self.current, "previous": self.previous, "trial": self.trial, "history": self.history}
        _atomic_write(root / "state.json", json.dumps(body, indent=1).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Health:
    """What the trial sees of the app: its unit READY (active), the version /healthz reports, and whether
    that answer is healthy (not failed, a heartbeat reached the gateway); `detail` for the journal."""

    ready: bool
    version: str | None
    healthy: bool
    detail: str


def unit_state(unit: str = KIOSK_UNIT) -> tuple[bool, str]:
    """Whether systemd has the app unit active (Type=notify: READY was sent), and its state for the journal."""
    try:
        shown = subprocess.run(
            ["systemctl", "show", unit, "-p", "ActiveState", "-p", "SubState"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"systemctl: {exc}"
    props = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    state = f"{props.get('ActiveState', '?')}/{props.get('SubState', '?')}"
    return props.get("ActiveState") == "active", f"{unit} {state}"


def probe(healthz_url: str | None, unit: Callable[[], tuple[bool, str]] = unit_state, timeout_s: float = 3.0) -> Health:
    """The app as systemd and its /healthz see it (each with a deadline and a size bound; no answer is not
    healthy)."""
    ready, said_unit = unit()
    if healthz_url is None:
        return Health(ready, None, False, f"{said_unit}; no [ops] listen to ask /healthz")
    try:
        with urllib.request.urlopen(healthz_url, timeout=timeout_s) as resp:
            body = json.loads(resp.read(64 * 1024))
    except Exception as exc:  # any failure to answer is an unhealthy answer, with its reason
        return Health(ready, None, False, f"{said_unit}; /healthz: {exc}")
    if not isinstance(body, dict):
        return Health(ready, None, False, f"{said_unit}; /healthz: not an object")
    version = body.get("version") if isinstance(body.get("version"), str) else None
    healthy = body.get("status") != "failed" and body.get("gateway_reached") is True
    said = f"/healthz version {version}, {body.get('status')}, gateway reached {body.get('gateway_reached')}"
    return Health(ready, version, healthy, f"{said_unit}; {said}")


Restart = Callable[[], None]


def restart_kiosk() -> None:
    """Restart the app unit (reset its start limit first: a bad version's restarts must not keep the
    good one from starting)."""
    for cmd in (["systemctl", "reset-failed", KIOSK_UNIT], ["systemctl", "restart", "--no-block", KIOSK_UNIT]):
        subprocess.run(cmd, check=False, timeout=30, capture_output=True)


class Updater:
    """Installs bundles into slots under `root`, switches, and settles each trial (commit or roll back)."""

    def __init__(
        self,
        root: Path = UPDATE_ROOT,
        keys: list[Ed25519PublicKey] | None = None,
        *,
        health: Callable[[], Health],
        restart: Restart = restart_kiosk,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        trial_s: float = TRIAL_S,
        python: str = sys.executable,
    ) -> None:
        self.root, self.keys = root, trusted_keys() if keys is None else keys
        self.health, self.restart, self.clock, self.sleep = health, restart, clock, sleep
        self.trial_s, self.python = trial_s, python
        for sub in ("slots", "incoming", "done", "refused"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def state(self) -> State:
        return State.load(self.root)

    def install(self, bundle_path: Path) -> str:
        """Check and install the bundle, switch to it and start its trial; its version."""
        work = Path(tempfile.mkdtemp(dir=self.root, prefix=".install-"))
        try:
            bundle = check_bundle(bundle_path, self.keys, work / "wheels")
            state = self.state
            if bundle.version == state.current:
                raise UpdateRefused(f"version {bundle.version} is already the one in use")
            if any(h.get("version") == bundle.version and h.get("outcome") == "rolled_back" for h in state.history):
                raise UpdateRefused(f"version {bundle.version} was rolled back before: not tried again")
            slot = self.root / "slots" / bundle.version
            if not (slot / ".installed").exists():
                self._pip(sorted((work / "wheels").glob("*.whl")), work / "site")
                shutil.rmtree(slot, ignore_errors=True)
                slot.mkdir()
                (work / "site").rename(slot / "site")
                (slot / ".installed").write_text(bundle.manifest().decode(), encoding="utf-8")
                _fsync_dir(slot)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        self._switch(bundle.version, trial=True)
        log.info("update %s installed; on trial for %.0f s", bundle.version, self.trial_s)
        return bundle.version

    def _pip(self, wheels: list[Path], target: Path) -> None:
        cmd = [self.python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--disable-pip-version-check"]
        cmd += ["--target", str(target), *map(str, wheels)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise UpdateRefused(f"pip did not finish in {PIP_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise UpdateRefused(f"pip could not install the wheels: {last}")

    def _switch(self, version: str | None, trial: bool) -> None:
        state = self.state
        if trial:
            state.previous, state.current = state.current, version
            now = self.clock()
            state.trial = {"version": version, "started": now, "deadline": now + self.trial_s}
        else:
            state.current, state.trial = version, None
        link = self.root / "current"
        tmp = self.root / ".current.new"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if version is None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
        else:
            tmp.symlink_to(Path("slots") / version)
            os.replace(tmp, link)
        _fsync_dir(self.root)
        state.save(self.root)
        self.restart()

    def settle(self, poll_s: float = 5.0) -> str | None:
        """Wait for the trial under way (if any) to prove itself: 'committed' or 'rolled_back'."""
        trial = self.state.trial
        if not trial:
            return None
        version, deadline = str(trial["version"]), float(trial["deadline"])
        last = Health(False, None, False, "not asked yet")
        while True:
            last = self.health()
            if last.ready and last.healthy and last.version == version:
                return self._commit(version, last)
            if self.clock() >= deadline:
                return self._roll_back(version, last)
            self.sleep(min(poll_s, max(0.0, deadline - self.clock())))

    def _commit(self, version: str, health: Health) -> str:
        state = self.state
        state.trial = None
        state.history = [*state.history, {"version": version, "outcome": "committed", "at": self.clock()}][-50:]
        state.save(self.root)
        keep = {state.current, state.previous}
        for slot in (self.root / "slots").iterdir():
            if slot.name not in keep:
                shutil.rmtree(slot, ignore_errors=True)
        log.info("update %s committed: %s", version, health.detail)
        return "committed"

    def _roll_back(self, version: str, health: Health) -> str:
        previous = self.state.previous
        log.error(
            "update %s rolled back to %s: no READY and healthy heartbeat in %.0f s (%s)",
            version, previous or "the image's own version", self.trial_s, health.detail,
        )  # fmt: skip
        self._switch(previous, trial=False)
        state = self.state
        entry = {"version": version, "outcome": "rolled_back", "at": self.clock(), "reason": health.detail}
        state.previous, state.history = None, [*state.history, entry][-50:]
        state.save(self.root)
        return "rolled_back"

    def apply_incoming(self) -> list[tuple[str, str]]:
        """Settle a trial left by a power cut, then take each bundle in incoming/ (oldest first): install,
        try, settle. (bundle name, outcome) for each; refused bundles go to refused/ with the reason logged."""
        outcomes = []
        pending = self.settle()
        if pending:
            outcomes.append(("(trial at boot)", pending))
        for path in sorted((self.root / "incoming").glob("*.bundle"), key=lambda p: p.stat().st_mtime):
            try:
                self.install(path)
            except UpdateRefused as exc:
                log.error("update bundle %s refused: %s", path.name, exc)
                path.replace(self.root / "refused" / path.name)
                outcomes.append((path.name, f"refused: {exc}"))
                continue
            path.replace(self.root / "done" / path.name)
            outcomes.append((path.name, self.settle() or "none"))
        return outcomes
