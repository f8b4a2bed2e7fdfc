"""The kiosk's own modules (all but the simulator and the benchmarks, which run on a desk) import only what
its core dependencies bring: the image installs those and nothing else (a module imported from an extra,
jsonschema from [gateway], stopped provisioning on the first booted image)."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DESK_ONLY = ("kiosk/sim/", "kiosk/bench/")


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _closure(names: set[str]) -> set[str]:
    """The distributions `names` need, theirs included (as installed here)."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [_name(r) for r in requires if "extra ==" not in r]
    return seen


def _providers() -> dict[str, set[str]]:
    """Top-level module name -> the installed distributions that bring it, from their file lists (also an
    extension module at the top, as dlib-bin's dlib.cpython-*.so, which packages_distributions misses)."""
    providers: dict[str, set[str]] = {}
    for dist in md.distributions():
        name = _name(dist.metadata["Name"])
        for f in dist.files or []:
            top = f.parts[0].split(".")[0]
            if not f.parts[0].endswith((".dist-info", ".data")):
                providers.setdefault(top, set()).add(name)
    return providers


def test_the_kiosk_imports_only_its_core_dependencies() -> None:
    core = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    allowed = _closure({_name(r) for r in core})
    providers = _providers()
    missing = []
    for path in sorted((REPO / "kiosk").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith(DESK_ONLY):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops = [node.module.split(".")[0]]
            else:
                continue
            for top in tops:
                if top in sys.stdlib_module_names or top in ("kiosk", "__future__"):
                    continue
                dists = providers.get(top, set())
                if not dists & allowed:
                    missing.append(f"{rel}: {top} ({', '.join(sorted(dists)) or 'not installed'})")
    assert not missing, "imported but not a core dependency:\n" + "\n".join(missing)
