"""docs/threat-model.md names a test or benchmark for every attacker's move: each named test file and
test function exists, each named benchmark is a `kiosk bench` subcommand, so the page cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = (ROOT / "docs" / "threat-model.md").read_text()


def _moves() -> list[tuple[str, str]]:
    """(move, 'shown by' cell) of every table row of the page."""
    rows = []
    for line in PAGE.split("## Attackers", 1)[1].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[0] not in ("Move", "Asset") and set(cells[0]) != {"-"}:
            rows.append((cells[0], cells[2]))
    return rows


def test_every_move_names_a_test_or_a_benchmark():
    moves = _moves()
    assert len(moves) > 20
    for move, shown in moves:
        if "see below" in move or not shown:  # the SD-card holder has its own table
            continue
        assert re.search(r"tests/\w+\.py|kiosk bench \w+|kiosk simulate|alerts", shown), move


def test_every_named_test_function_and_benchmark_exists():
    for _, shown in _moves():
        for match in re.finditer(r"(tests/\w+\.py)((?:[ ,]*`\w+`)*)", shown):
            path = ROOT / match.group(1)
            assert path.exists(), match.group(1)
            text = path.read_text()
            for name in re.findall(r"`(\w+)`", match.group(2)):
                assert f"def {name}(" in text, f"{match.group(1)}: {name}"
    benches = set(re.findall(r'sub\.add_parser\(\s*"(\w+)"', (ROOT / "kiosk" / "bench" / "__init__.py").read_text()))
    for name in re.findall(r"kiosk bench (\w+)", PAGE):
        assert name in benches, name
