"""The rules of DESIGN.md that code review alone would let slip."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "kiosk"


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def offending(folder: str, banned: tuple[str, ...]) -> list[str]:
    found = []
    for path in (PACKAGE / folder).rglob("*.py"):
        for name in imports_of(path):
            if any(name == b or name.startswith(b + ".") for b in banned):
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


def test_flow_is_pure_no_kivy_no_io_no_clock():
    banned = (
        "kivy",
        "requests",
        "sqlite3",
        "socket",
        "threading",
        "time",
        "os",
        "subprocess",
        "cv2",
        "kiosk.hardware",
        "kiosk.gateway",
        "kiosk.store",
        "kiosk.runner",
        "kiosk.app",
        "kiosk.screens",
        "kiosk.sim",
        "kiosk.sync",
        "kiosk.ops",
    )
    assert offending("flow", banned) == []


def test_screens_touch_no_hardware_gateway_or_store():
    banned = (
        "kiosk.hardware",
        "kiosk.gateway",
        "kiosk.store",
        "kiosk.runner",
        "kiosk.sync",
        "kiosk.sim",
        "kiosk.ops",
        "requests",
        "sqlite3",
        "cv2",
        "smartcard",
        "gpiozero",
    )
    assert offending("screens", banned) == []


@pytest.mark.parametrize("folder", ["flow", "identity", "hardware", "gateway", "store", "sync", "runner", "ops"])
def test_only_screens_app_and_demo_import_kivy(folder):
    assert offending(folder, ("kivy",)) == []


def test_only_the_store_uses_sqlite():
    users = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "sqlite3" in imports_of(p)}
    assert users == {"store/base.py"}


def test_the_runner_carries_out_effects_but_knows_no_window_and_no_simulation():
    assert offending("runner", ("kivy", "kiosk.app", "kiosk.screens", "kiosk.sim", "kiosk.ops", "kiosk.cli")) == []


@pytest.mark.parametrize("folder", ["hardware", "identity", "gateway", "store", "sync"])
def test_the_edges_know_nothing_of_the_runner_the_app_or_the_simulation(folder):
    banned = ("kiosk.runner", "kiosk.app", "kiosk.screens", "kiosk.sim", "kiosk.ops", "kiosk.cli")
    assert offending(folder, banned) == []


def test_health_is_the_bottom_layer():
    assert [n for n in imports_of(PACKAGE / "health.py") if n.startswith("kiosk")] == []


def test_only_the_cli_and_the_benchmarks_reach_the_simulated_world():
    """The simulated world is for `kiosk demo`, `kiosk simulate`, benchmarks and tests; the cli imports it
    only inside those commands (checked by the next test at run time)."""
    users = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("sim", "bench"):
            continue
        if any(n == "kiosk.sim" or n.startswith("kiosk.sim.") for n in imports_of(path)):
            users.add(str(rel))
    assert users == {"cli.py"}


def test_the_kiosk_run_path_loads_no_simulator_module(tmp_path):
    """Import everything `kiosk run` imports and run it on a config it must refuse: no kiosk.sim module, no
    module of the gateway service (loket_gateway), and no module named like a simulator, is loaded."""
    code = f"""
import sys
import kiosk.cli
kiosk.cli.main(["run", "--config", {str(tmp_path / "missing.toml")!r}])
import kiosk.app, kiosk.ops.metrics, kiosk.ops.notify, kiosk.ops.selftest, kiosk.ops.provision
import kiosk.runner.parts, kiosk.hardware.pcsc, kiosk.hardware.gpio, kiosk.hardware.escpos_printer
import kiosk.identity.face_check, kiosk.identity.ocr_nik
loaded = sorted(
    m for m in sys.modules
    if m.startswith(("kiosk.sim", "loket_gateway")) or "simulat" in m or m.endswith("seed")
)
print(loaded)
sys.exit(1 if loaded else 0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


def test_kiosk_gateway_holds_only_the_kiosks_client():
    """kiosk/gateway/ is the kiosk's side of the link: the client, its transport and answers, the contract
    it shares with the service, the journal head it signs and its own CSR; nothing of a server."""
    folder = PACKAGE / "gateway"
    files = {p.name for p in folder.iterdir() if p.name != "__pycache__"}
    client = {"answers.py", "client.py", "contract.py", "head.py", "pki.py", "transport.py"}
    assert files == {"__init__.py", "openapi.yaml", *client}
    servers = ("http.server", "socketserver", "wsgiref", "sqlite3", "sqlalchemy", "gunicorn", "loket_gateway")
    assert offending("gateway", servers) == []


def _module_graph() -> dict[str, set[str]]:
    """Module -> the kiosk modules it imports (anywhere in it: a lazy import is still an arrow)."""

    def name_of(path: Path) -> str:
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    modules = {name_of(p): p for p in PACKAGE.rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps.update(r for a in node.names if (r := resolve(a.name)))
            elif isinstance(node, ast.ImportFrom) and node.module:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                if len(subs) < len(node.names) and (r := resolve(node.module)):
                    deps.add(r)
                deps.update(subs)
        graph[name] = deps - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def test_no_import_circles_between_files():
    assert _cycles(_module_graph()) == []


def test_no_import_circles_between_folders():
    """Folders (and top-level modules) as units: kiosk.flow, kiosk.runner, kiosk.app, ..."""
    folders: dict[str, set[str]] = {}
    for name, deps in _module_graph().items():
        unit = ".".join(name.split(".")[:2])
        folders.setdefault(unit, set()).update(".".join(d.split(".")[:2]) for d in deps)
    assert _cycles({u: d - {u} for u, d in folders.items()}) == []
