"""Field updates (kiosk/ops/update.py) with real parts: the kiosk's own wheel built from this tree with a new
version, signed into a bundle, checked, installed by the real pip into a slot, run through the image's
launcher (systemd/loket-kiosk-run), and its trial settled against a real /healthz on loopback; a version
that never reports healthy is rolled back; bundles with a bad signature, a changed wheel or a member that
is not allowed are refused before anything is installed."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from kiosk.config import ConfigError
from kiosk.ops import bundle as b
from kiosk.ops import update as u
from kiosk.ops.provision import read_enrolment

REPO = Path(__file__).resolve().parent.parent


def built_wheel(tmp: Path, version: str) -> Path:
    """The kiosk's wheel built from this tree with kiosk.__version__ set to `version`."""
    tree = tmp / f"tree-{version}"
    listed = ["kiosk", "loket_gateway", "pyproject.toml", "README.md"]
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *listed],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    for name in files:
        dest = tree / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes((REPO / name).read_bytes())
    init = tree / "kiosk" / "__init__.py"
    init.write_text(init.read_text().replace('__version__ = "0.1.0"', f'__version__ = "{version}"'))
    out = tmp / f"wheels-{version}"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(tree)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = out.glob("loket_mandiri-*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("wheels")
    return {v: built_wheel(tmp, v) for v in ("0.1.1", "0.1.2")}


@pytest.fixture
def signer(tmp_path: Path) -> tuple[Path, Any]:
    key = tmp_path / "update.key"
    public = b.make_key(key)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "office.pub").write_text(public + "\n")
    return key, b.trusted_keys(tmp_path / "keys")


class FakeApp:
    """The app's side of a trial: a real /healthz on loopback saying `version` (None: no answer yet) and
    the unit's READY; what the updater restarted."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.ready = False
        self.restarts = 0
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if app.version is None:
                    self.send_error(503)
                    return
                body = json.dumps({"status": "ok", "version": app.version, "gateway_reached": True}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/healthz"

    def health(self) -> u.Health:
        return u.probe(self.url, unit=lambda: (self.ready, "loket-kiosk.service (test)"))

    def restart(self) -> None:
        self.restarts += 1


@pytest.fixture
def app() -> Iterator[FakeApp]:
    a = FakeApp()
    yield a
    a.server.shutdown()
    a.server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.on_sleep: list[Any] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += max(s, 0.5)
        for hook in self.on_sleep:
            hook(self.now)


def updater(root: Path, keys: Any, app: FakeApp, clock: Clock) -> u.Updater:
    return u.Updater(root, keys, health=app.health, restart=app.restart, clock=clock, sleep=clock.sleep, trial_s=120)


def launched_version(root: Path, tmp: Path) -> str:
    """`kiosk --version` through the image's launcher, its paths pointed at `root` and this venv."""
    launcher = (REPO / "systemd" / "loket-kiosk-run").read_text()
    launcher = launcher.replace("/var/lib/loket-update", str(root))
    launcher = launcher.replace("/opt/loket/venv/bin/kiosk", str(Path(sys.executable).with_name("kiosk")))
    script = tmp / "kiosk-run"
    script.write_text(launcher)
    done = subprocess.run(["sh", str(script), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_good_bundle_is_installed_switched_to_and_kept_once_the_app_reports_it(
    tmp_path: Path, wheels: dict[str, Path], signer: Any, app: FakeApp
) -> None:
    key, keys = signer
    root, clock = tmp_path / "update", Clock()
    before = launched_version(root, tmp_path)
    assert before == "kiosk 0.1.0", "no slot: the image's own version"
    up = updater(root, keys, app, clock)
    b.make_bundle([wheels["0.1.1"]], key, root / "incoming" / "kiosk-0.1.1.bundle")

    def comes_up(now: float) -> None:  # the restarted app: READY and healthy 20 s later
        if now >= 1_000_020:
            app.version, app.ready = "0.1.1", True

    clock.on_sleep.append(comes_up)
    assert up.apply_incoming() == [("kiosk-0.1.1.bundle", "committed")]
    assert launched_version(root, tmp_path) == "kiosk 0.1.1"
    state = up.state
    assert state.current == "0.1.1" and state.previous is None and state.trial is None
    assert [h["outcome"] for h in state.history] == ["committed"]
    assert app.restarts == 1 and (root / "done" / "kiosk-0.1.1.bundle").exists()


def test_a_version_that_never_becomes_ready_is_rolled_back_by_itself_and_not_tried_again(
    tmp_path: Path, wheels: dict[str, Path], signer: Any, app: FakeApp
) -> None:
    key, keys = signer
    root, clock = tmp_path / "update", Clock()
    up = updater(root, keys, app, clock)
    app.version, app.ready = "0.1.1", True  # the good version, in use and healthy
    up.install(_bundle(wheels["0.1.1"], key, tmp_path))
    assert up.settle() == "committed"
    app.ready = False  # the new version restarts and never sends READY; /healthz still the old one's
    up.install(_bundle(wheels["0.1.2"], key, tmp_path))
    assert launched_version(root, tmp_path) == "kiosk 0.1.2", "switched for the trial"
    started = clock.now
    assert up.settle() == "rolled_back"
    assert clock.now - started >= 120, "not before the trial's deadline"
    assert launched_version(root, tmp_path) == "kiosk 0.1.1", "back on the good version"
    state = up.state
    assert state.current == "0.1.1" and state.trial is None
    assert state.history[-1]["outcome"] == "rolled_back" and "0.1.1" in state.history[-1]["reason"]
    assert app.restarts == 3, "restarted into the trial, and back"
    with pytest.raises(b.UpdateRefused, match="rolled back before"):
        up.install(_bundle(wheels["0.1.2"], key, tmp_path))


def test_a_trial_cut_by_a_power_loss_is_settled_at_the_next_boot(
    tmp_path: Path, wheels: dict[str, Path], signer: Any, app: FakeApp
) -> None:
    key, keys = signer
    root, clock = tmp_path / "update", Clock()
    updater(root, keys, app, clock).install(_bundle(wheels["0.1.1"], key, tmp_path))  # ... and the power goes
    clock.now += 3600  # the next boot, long past the deadline: the trial never proved itself
    assert updater(root, keys, app, clock).apply_incoming() == [("(trial at boot)", "rolled_back")]
    assert launched_version(root, tmp_path) == "kiosk 0.1.0"


def _bundle(wheel: Path, key: Path, tmp: Path) -> Path:
    out = tmp / f"{wheel.name}.bundle"
    b.make_bundle([wheel], key, out)
    return out


def _rewritten(bundle: Path, out: Path, change: Any) -> Path:
    """`bundle` with its members passed through `change(name, data) -> [(name, data, type)]`."""
    with tarfile.open(bundle) as src, tarfile.open(out, "w", format=tarfile.USTAR_FORMAT) as dst:
        for m in src.getmembers():
            f = src.extractfile(m)
            for name, data, kind in change(m.name, f.read() if f else b""):
                info = tarfile.TarInfo(name)
                info.size, info.type = len(data), kind
                if kind == tarfile.SYMTYPE:
                    info.linkname, info.size = "/etc/passwd", 0
                dst.addfile(info, io.BytesIO(data))
    return out


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("another key", "bad signature"),
        ("a changed wheel", "SHA-256 does not match"),
        ("a path out", "not allowed"),
        ("a symlink", "not allowed"),
        ("an extra wheel", "not the ones its manifest lists"),
    ],
)
def test_a_bundle_that_does_not_check_out_is_refused_and_nothing_is_installed(
    tmp_path: Path, wheels: dict[str, Path], signer: Any, app: FakeApp, how: str, reason: str
) -> None:
    key, keys = signer
    root = tmp_path / "update"
    good = _bundle(wheels["0.1.1"], key, tmp_path)
    if how == "another key":
        other = tmp_path / "other.key"
        b.make_key(other)
        b.make_bundle([wheels["0.1.1"]], other, tmp_path / "bad.bundle")
    else:

        def change(name: str, data: bytes) -> list[tuple[str, bytes, bytes]]:
            keep = [(name, data, tarfile.REGTYPE)]
            if name.startswith("wheels/") and how == "a changed wheel":
                return [(name, data[:-1] + bytes([data[-1] ^ 1]), tarfile.REGTYPE)]
            if name == "bundle.sig" and how == "a path out":
                return [*keep, ("wheels/../../evil.whl", b"x", tarfile.REGTYPE)]
            if name == "bundle.sig" and how == "a symlink":
                return [*keep, ("wheels/link.whl", b"", tarfile.SYMTYPE)]
            if name == "bundle.sig" and how == "an extra wheel":
                return [*keep, ("wheels/extra-1.0-py3-none-any.whl", b"x", tarfile.REGTYPE)]
            return keep

        _rewritten(good, tmp_path / "bad.bundle", change)
    (root / "incoming").mkdir(parents=True)
    (tmp_path / "bad.bundle").replace(root / "incoming" / "bad.bundle")
    up = updater(root, keys, app, Clock())
    ((name, outcome),) = up.apply_incoming()
    assert name == "bad.bundle" and outcome.startswith("refused:") and reason in outcome, outcome
    assert (root / "refused" / "bad.bundle").exists()
    assert not list((root / "slots").iterdir()) and not (root / "current").exists() and app.restarts == 0
    assert not [p for p in root.iterdir() if p.name.startswith(".install-")], "nothing left half-made"


def test_with_no_trusted_key_no_bundle_is_taken(tmp_path: Path, wheels: dict[str, Path], signer: Any) -> None:
    key, _ = signer
    with pytest.raises(b.UpdateRefused, match="no update keys"):
        b.check_bundle(_bundle(wheels["0.1.1"], key, tmp_path), [], tmp_path / "out")


def test_the_enrolment_file_brings_update_keys_checked(tmp_path: Path) -> None:
    base = 'kiosk_id = "KUPANG-03"\ngateway_url = "http://127.0.0.1:8080"\ntoken = "t"\n'
    good = tmp_path / "good.toml"
    good.write_text(base + f'update_keys = ["{"ab" * 32}"]\n')
    assert read_enrolment(good).update_keys == ("ab" * 32,)
    bad = tmp_path / "bad.toml"
    bad.write_text(base + 'update_keys = ["ssh-ed25519 AAAA"]\n')
    with pytest.raises(ConfigError, match=r"update_keys\[0\]: not 64 hex digits"):
        read_enrolment(bad)


def test_kiosk_update_apply_takes_the_keys_of_every_folder_given_and_says_each_outcome(
    tmp_path: Path, wheels: dict[str, Path], signer: Any
) -> None:
    """The command loket-update.service runs: a bundle signed by a key in the second --keys folder is
    taken; with no app answering it is rolled back after its trial, and the command says so (exit 1)."""
    key, _ = signer
    root = tmp_path / "update"
    (root / "incoming").mkdir(parents=True)
    b.make_bundle([wheels["0.1.1"]], key, root / "incoming" / "k.bundle")
    empty = tmp_path / "no-keys"
    empty.mkdir()
    cmd = [str(Path(sys.executable).with_name("kiosk")), "update", "apply", "--root", str(root)]
    cmd += ["--config", str(tmp_path / "missing.toml"), "--keys", str(empty), "--keys", str(tmp_path / "keys")]
    done = subprocess.run([*cmd, "--trial-s", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "k.bundle: rolled_back" in done.stdout, done.stdout
    assert json.loads((root / "state.json").read_text())["history"][-1]["outcome"] == "rolled_back"


def test_the_updater_finds_healthz_without_reading_the_apps_secrets(tmp_path: Path) -> None:
    """loket-update.service (root, no capability) cannot read the kiosk user's API key, which loading the
    whole kiosk.toml does: it reads only [ops] listen (the booted image's updater found no /healthz so)."""
    from kiosk.config import ConfigError, load_config
    from kiosk.ops.update_cli import _healthz_url

    config = tmp_path / "kiosk.toml"
    config.write_text('[gateway]\napi_key_file = "/nonexistent/api-key"\n\n[ops]\nlisten = "10.0.3.15:9101"\n')
    with pytest.raises(ConfigError):
        load_config(config)
    assert _healthz_url(config) == "http://10.0.3.15:9101/healthz"
