"""`kiosk bench fuzz config --inputs N`: the example kiosk.toml broken N ways (values of other TOML types,
misspelt, moved and unknown keys, dropped sections, random bytes, NUL, huge strings, deep nesting, numbers
out of range), each loaded through the loader `kiosk run` uses, by kiosk.bench.fuzz_harness. A crash is any
exception other than the declared ConfigError, a hang a load over its deadline; the goal is none of either."""

from __future__ import annotations

import copy
import datetime as dt
import math
import random
import re
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.bench.fuzz_harness import SHOWN_CHARS, Edge, fuzz
from kiosk.config import ConfigError, load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "kiosk.example.toml"
SECRETS = ("api-key", "gateway-ca.crt", "kiosk.crt", "kiosk.key")


@dataclass(frozen=True)
class Raw:
    """TOML text written as it is (deep nesting, numbers beyond 64 bits, broken syntax)."""

    text: str


# -- writing a (mutated) document back as TOML ------------------------------------------------------------

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(name: str) -> str:
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def _string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _value(value: Any) -> str:
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"


def _many_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def dumps(data: dict[str, Any]) -> str:
    """A document as TOML: top-level values, then [tables] and [[arrays of tables]] (nested ones inline)."""
    lines = [f"{_key(k)} = {_value(v)}" for k, v in data.items() if not (isinstance(v, dict) or _many_tables(v))]
    for name, value in data.items():
        if isinstance(value, dict):
            lines += [f"[{_key(name)}]", *(f"{_key(k)} = {_value(v)}" for k, v in value.items())]
        elif _many_tables(value):
            for entry in value:
                lines += [f"[[{_key(name)}]]", *(f"{_key(k)} = {_value(v)}" for k, v in entry.items())]
    return "\n".join(lines) + "\n"


# -- what a value may be replaced by -------------------------------------------------------------------

STRINGS = ["", " ", "false", "true", "0", "2.9", "GPIO5", "sim", "gpio", "²", "١٢", "a\x00b", "\x00", "\u202e",
           "héllo", "12:61", "24:00", "99", "host:²", "[::1]:0", "../../etc/passwd", "/dev/zero", "/proc/self/mem",
           "scrypt$1$2$3$x$y", "nan", "-1", "0x10", "\t\n", "\x7f", "💳"]  # fmt: skip
NUMBERS = [0, 1, -1, 2, 24, 201, 65536, 2**31, 2**63 - 1, -(2**63), 2.9, 0.0, -0.0, 0.5, 1e308, -1e308, 1e-300,
           math.nan, math.inf, -math.inf]  # fmt: skip
OTHERS = [True, False, dt.datetime(2026, 1, 2, 3, 4, 5), dt.datetime(2026, 1, 2, tzinfo=dt.UTC), dt.date(2026, 1, 2),
          dt.time(22, 0), [], [1, "a"], ["chip"], [[1]], [{"a": 1}], [True], {}, {"gate": "GPIO5"}, {"x": {"y": 1}},
          Raw("9" * 30), Raw("-9" * 25), Raw("0x" + "f" * 40), Raw("1e99999"), Raw("'lit\\eral'"),
          Raw('"""multi\nline"""')]  # fmt: skip


def random_value(rng: random.Random) -> Any:
    pick = rng.random()
    if pick < 0.3:
        return rng.choice(STRINGS)
    if pick < 0.55:
        return rng.choice(NUMBERS) if rng.random() < 0.8 else rng.randint(-(10**9), 10**9)
    if pick < 0.85:
        return rng.choice(OTHERS)
    if pick < 0.92:
        return rng.choice("x/é\x00") * rng.choice([255, 256, 4096, 4097, 70_000])
    depth = rng.choice([5, 50, 400, 3000])
    return Raw("[" * depth + "]" * depth) if rng.random() < 0.5 else Raw("{a=" * depth + "1" + "}" * depth)


def misspelt(rng: random.Random, name: str) -> str:
    if not name:
        return "x"
    i = rng.randrange(len(name))
    how = rng.randrange(5)
    if how == 0:
        return name[:i] + name[i + 1 :] or "x"
    if how == 1 and len(name) > 1:
        j = min(i + 1, len(name) - 1)
        return name[:i] + name[j] + name[i] + name[j + 1 :] if i != j else name + "s"
    if how == 2:
        return name[:i] + rng.choice("aeiouxz_-") + name[i:]
    if how == 3:
        return name.upper() if rng.random() < 0.5 else name + " "
    return rng.choice(["", "x" * 300, "a.b", "ключ", "\x00", name + "\u200b"])


# -- where in the document ----------------------------------------------------------------------------


def _places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value below `node` (dict keys and list indexes)."""
    found: list[tuple[Any, ...]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        found.append((*path, k))
        found += _places(v, (*path, k))
    return found


def _parent(data: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    return node


def _retype(rng: random.Random, data: dict[str, Any]) -> None:
    path = rng.choice(_places(data))
    _parent(data, path)[path[-1]] = random_value(rng)


def _rename(rng: random.Random, data: dict[str, Any]) -> None:
    keyed = [p for p in _places(data) if isinstance(p[-1], str)]
    path = rng.choice(keyed)
    parent = _parent(data, path)
    parent[misspelt(rng, path[-1])] = parent.pop(path[-1])


def _move(rng: random.Random, data: dict[str, Any]) -> None:
    tables = [k for k, v in data.items() if isinstance(v, dict) and v]
    source, target = rng.choice(tables), rng.choice([*tables, None])
    key = rng.choice(list(data[source]))
    value = data[source].pop(key)
    (data if target is None else data[target])[key] = value


def _drop(rng: random.Random, data: dict[str, Any]) -> None:
    path = rng.choice(_places(data)) if rng.random() < 0.6 else (rng.choice(list(data)),)
    del _parent(data, path)[path[-1]]


def _add(rng: random.Random, data: dict[str, Any]) -> None:
    name = misspelt(rng, rng.choice(list(data)))
    if rng.random() < 0.5:
        data[name] = {misspelt(rng, "vault"): random_value(rng)}
    else:
        table = data[rng.choice([k for k, v in data.items() if isinstance(v, dict)])]
        table[misspelt(rng, rng.choice(list(table) or ["x"]))] = random_value(rng)


def _far_number(rng: random.Random, data: dict[str, Any]) -> None:
    numbers = [p for p in _places(data) if type(_parent(data, p)[p[-1]]) in (int, float)]
    path = rng.choice(numbers)
    value = _parent(data, path)[path[-1]]
    _parent(data, path)[path[-1]] = rng.choice([-value, value * 1000, value + 0.5, 0, -(2**63), 2**63 - 1, 1e300])


STRUCTURED: dict[str, Callable[[random.Random, dict[str, Any]], None]] = {
    "retype": _retype,
    "rename": _rename,
    "move": _move,
    "drop": _drop,
    "add": _add,
    "far_number": _far_number,
}


# -- the text itself --------------------------------------------------------------------------------


def _text_mutation(rng: random.Random, text: bytes) -> tuple[str, bytes]:
    how = rng.choice(["random_bytes", "truncate", "duplicate_section", "duplicate_line", "bad_utf8", "raw_nul",
                      "empty", "huge_file", "bom"])  # fmt: skip
    at = rng.randrange(len(text) + 1)
    if how == "random_bytes":
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.randbytes(rng.randint(1, 4)) + text[at + rng.randint(0, 2) :]
        return how, text
    if how == "truncate":
        return how, text[:at]
    if how == "duplicate_section":
        blocks = re.split(rb"(?m)^(?=\[)", text)
        return how, text + b"\n" + rng.choice(blocks)
    if how == "duplicate_line":
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        return how, b"".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])
    if how == "bad_utf8":
        return how, text[:at] + rng.choice([b"\xff\xfe", b"\xc3", b"\xed\xa0\x80", b"\x80"]) + text[at:]
    if how == "raw_nul":
        return how, text[:at] + b"\x00" + text[at:]
    if how == "empty":
        return how, b""
    if how == "huge_file":
        return how, text + b"# " + b"x" * rng.choice([10**6, 3 * 10**6]) + b"\n"
    return how, b"\xef\xbb\xbf" + text


def mutate(rng: random.Random, base: dict[str, Any], text: bytes) -> tuple[str, bytes]:
    """One broken configuration: its mutation's name and its bytes."""
    if rng.random() < 0.15:
        return _text_mutation(rng, text)
    data = copy.deepcopy(base)
    names = [rng.choice(list(STRUCTURED)) for _ in range(rng.choice([1, 1, 1, 2, 3]))]
    for name in names:
        if data:
            STRUCTURED[name](rng, data)
    return "+".join(names), dumps(data).encode()


def _example(folder: Path, example: Path) -> str:
    """The example configuration with its secrets in `folder`, so that the unbroken one loads."""
    for name in SECRETS:
        (folder / name).write_text("-----BEGIN CERTIFICATE-----\n" if name != "api-key" else "secret\n")
    return example.read_text(encoding="utf-8").replace("/etc/loket/", f"{folder}/")


def run(inputs: int, seed: int = 1, example: Path = EXAMPLE) -> dict[str, Any]:
    """Load `inputs` broken configurations; count the rejected, the accepted, the crashes and the hangs."""
    if not example.is_file():
        raise SystemExit(f"kiosk bench fuzz config: no example configuration at {example} (run it from a checkout)")
    with tempfile.TemporaryDirectory(prefix="kiosk-fuzz-config-") as tmp:
        folder = Path(tmp)
        text = _example(folder, example)
        target = folder / "kiosk.toml"
        target.write_text(text)
        load_config(target)  # the unbroken example must load, or every figure below is noise
        base, raw = tomllib.loads(text), text.encode()

        def feed(broken: tuple[str, bytes]) -> str:
            target.write_bytes(broken[1])  # the real loader reads a file
            load_config(target)
            return "accepted"

        edge = Edge(
            "config",
            lambda rng: mutate(rng, base, raw),
            feed,
            declared=(ConfigError,),
            show=lambda broken: f"{broken[0]}: {broken[1][:SHOWN_CHARS]!r}",
        )
        result = fuzz(edge, inputs, seed)
    outcomes = result["outcomes"]
    return {**result, "rejected": outcomes.get("ConfigError", 0), "accepted": outcomes.get("accepted", 0)}
