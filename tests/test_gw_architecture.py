"""The gateway service shares with the kiosk only the contract and the ticket format, and of the kiosk only
the harness that runs the real gateway for the demo and the tests (kiosk/sim/office.py and the
fault layer in front of it) imports it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = {"kiosk.gateway.contract", "kiosk.identity.ticket", "kiosk.identity.base45"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_the_gateway_service_imports_only_the_contract_and_the_ticket_format_from_the_kiosk():
    seen = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "loket_gateway").rglob("*.py")
        for name in _imports(path)
        if (name == "kiosk" or name.startswith("kiosk.")) and name not in SHARED
    }
    assert seen == set()


def test_only_the_office_harness_imports_the_gateway_service():
    seen = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "kiosk").rglob("*.py")
        for name in _imports(path)
        if name == "loket_gateway" or name.startswith("loket_gateway.")
    }
    assert seen == {"kiosk/sim/office.py", "kiosk/sim/fault_front.py"}
