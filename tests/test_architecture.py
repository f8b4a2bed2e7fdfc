"""The rules of DESIGN.md that code review alone would let slip."""

import ast
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
        "kiosk.core",
        "kiosk.app",
        "kiosk.screens",
    )
    assert offending("flow", banned) == []


def test_screens_touch_no_hardware_gateway_or_store():
    banned = (
        "kiosk.hardware",
        "kiosk.gateway",
        "kiosk.store",
        "kiosk.core",
        "kiosk.sim.world",
        "kiosk.sync",
        "kiosk.sim",
        "requests",
        "sqlite3",
        "cv2",
        "smartcard",
        "gpiozero",
    )
    assert offending("screens", banned) == []


@pytest.mark.parametrize("folder", ["flow", "identity", "hardware", "gateway", "store", "sync"])
def test_only_screens_app_and_demo_import_kivy(folder):
    assert offending(folder, ("kivy",)) == []


def test_only_the_store_and_the_gateway_simulator_use_sqlite():
    users = {str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if "sqlite3" in imports_of(p)}
    assert users == {"store/base.py", "sim/gateway/store.py"}
