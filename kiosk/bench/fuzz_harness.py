"""The one harness behind `kiosk bench fuzz`: feeds an edge generated inputs and counts what came back.

A typed value or one of the edge's declared errors is a correct answer; any other exception is a crash.

Hangs are measured without slowing the run: every call is timed (two perf_counter reads) and one that
takes longer than the edge's deadline counts as a hang, its input kept. A call that never ends is caught
by a watchdog thread: when the input number has not moved for HANG_LIMIT_S, it raises `Stuck` in the
fuzzing thread (PyThreadState_SetAsyncExc; a BaseException, so no `except Exception` in the edge swallows
it). That input is recorded as a hang, the target's run stops there, the other targets still run and the
report is printed as usual (exit 1), with no os._exit. This was chosen over a subprocess per target
because it keeps one process (no pickling of inputs, monkeypatched edges work in tests, about 1 µs of
overhead per input). Its limit: a call stuck inside C code that never returns to the interpreter cannot
be interrupted; the watchdog then names the input on stderr and keeps trying. The edges fuzzed here run
Python, regular expressions without nested repetition, and Ed25519 over bounded bytes.
"""

from __future__ import annotations

import ctypes
import random
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEADLINE_S = 1.0  # one call of a pure edge; over this it is a hang
HANG_LIMIT_S = 10.0  # a call still running after this is interrupted by the watchdog
EXAMPLES_KEPT = 5
SHOWN_CHARS = 200  # of an input's repr in the report


class Stuck(BaseException):
    """Raised by the watchdog in the fuzzing thread: one call ran past HANG_LIMIT_S."""


class WrongAnswer(AssertionError):
    """An edge answered with a value of the wrong type, or one its input contradicts: counted as a crash."""


def expect(value: Any, *types: type) -> Any:
    """`value` if it is one of `types`, else WrongAnswer."""
    if not isinstance(value, types):
        raise WrongAnswer(f"answered {type(value).__name__}, expected {' or '.join(t.__name__ for t in types)}")
    return value


@dataclass(frozen=True)
class Edge:
    """One edge under fuzz: how an input is made, how the edge is fed one, which errors it declares.

    `feed` returns the outcome's name (counted); a declared error counts under its class name."""

    name: str
    make: Callable[[random.Random], Any]
    feed: Callable[[Any], str]
    declared: tuple[type[BaseException], ...] = ()
    deadline_s: float | None = None  # None: DEADLINE_S
    show: Callable[[Any], str] = repr
    about: dict[str, Any] = field(default_factory=dict)  # added to the result as it is


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    """Raise `exc` in another thread at its next bytecode (None clears a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


class _Watchdog:
    """Interrupts the fuzzing thread when `n` (the input number, set by the harness) stops moving."""

    def __init__(self, name: str, limit_s: float) -> None:
        self.n = -1
        self.name = name
        self.limit_s = limit_s
        self.fired = False
        self._thread_id = threading.get_ident()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name=f"fuzz-watchdog-{name}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        seen, since, shots = -2, time.monotonic(), 0
        while not self._done.wait(min(0.5, self.limit_s / 4)):
            n, now = self.n, time.monotonic()
            if n != seen:
                seen, since, shots = n, now, 0
                continue
            if n >= 0 and now - since >= self.limit_s * (shots + 1):
                shots += 1
                self.fired = True
                _raise_in(self._thread_id, Stuck)
                if shots == 3:
                    print(f"kiosk bench fuzz {self.name}: input {n} has run {now - since:.0f} s and does not stop "
                          "(stuck in C code?); interrupt with Ctrl-C", file=sys.stderr)  # fmt: skip

    def stop(self) -> None:
        self.n = -1
        self._done.set()
        self._thread.join()
        if self.fired:
            _raise_in(self._thread_id, None)  # one fired as the run ended must not land in the caller


def _example(n: int, shown: str, exc: BaseException) -> dict[str, Any]:
    """One crash: the input's number (the same seed makes the same inputs), the input, where it broke."""
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return {
        "input": n,
        "value": shown[:SHOWN_CHARS],
        "error": f"{type(exc).__name__}: {str(exc)[:200]}",
        "at": f"{Path(frame.filename).name}:{frame.lineno}",
    }


@dataclass
class _Tally:
    """What an edge's inputs came back with: outcomes by name, crashes and hangs (the first few kept as
    examples)."""

    outcomes: Counter[str] = field(default_factory=Counter)
    crashes: list[dict[str, Any]] = field(default_factory=list)
    hangs: list[dict[str, Any]] = field(default_factory=list)
    n_crashes: int = 0
    n_hangs: int = 0

    def crash(self, n: int, edge: Edge, value: Any, exc: BaseException) -> None:
        self.n_crashes += 1
        if len(self.crashes) < EXAMPLES_KEPT:
            self.crashes.append(_example(n, edge.show(value), exc))

    def hang(self, n: int, edge: Edge, value: Any, took: float) -> None:
        self.n_hangs += 1
        if len(self.hangs) < EXAMPLES_KEPT:
            self.hangs.append({"input": n, "value": edge.show(value)[:SHOWN_CHARS], "took_s": round(took, 3)})


def fuzz(edge: Edge, inputs: int, seed: int = 1) -> dict[str, Any]:
    """Feed `edge` `inputs` inputs made from `seed`; the figures (see report)."""
    rng = random.Random(seed)
    make, feed, declared = edge.make, edge.feed, edge.declared
    deadline = DEADLINE_S if edge.deadline_s is None else edge.deadline_s
    clock = time.perf_counter
    tally = _Tally()
    outcomes = tally.outcomes
    fed = 0
    longest = 0.0
    aborted: int | None = None
    n, value, t0 = -1, None, clock()
    dog = _Watchdog(edge.name, HANG_LIMIT_S)
    started = clock()
    try:
        for n in range(inputs):
            dog.n = n
            value = make(rng)
            t0 = clock()
            try:
                outcome = feed(value)
            except declared as exc:
                outcome = type(exc).__name__
            except Exception as exc:  # anything but a declared error is what this bench counts
                outcome = "crash"
                tally.crash(n, edge, value, exc)
            took = clock() - t0
            outcomes[outcome] += 1
            if took > longest:
                longest = took
            if took > deadline:
                tally.hang(n, edge, value, took)
        fed = inputs
    except Stuck:
        took = clock() - t0
        aborted, fed, tally.n_hangs = n, n + 1, tally.n_hangs + 1
        longest = max(longest, took)
        tally.hangs.append({"input": n, "value": edge.show(value)[:SHOWN_CHARS], "took_s": round(took, 3),
                            "interrupted": True})  # fmt: skip
    finally:
        dog.stop()
    seconds = clock() - started
    return {
        "target": edge.name,
        "inputs": fed,
        "seed": seed,
        "seconds": round(seconds, 2),
        "inputs_per_second": round(fed / seconds) if seconds else None,
        "crashes": tally.n_crashes,
        "hangs": tally.n_hangs,
        "deadline_s": deadline,
        "longest_s": round(longest, 4),
        "outcomes": dict(outcomes.most_common()),
        "crash_examples": tally.crashes,
        "hang_examples": tally.hangs,
        "aborted_at_input": aborted,
        **edge.about,
    }


def split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` inputs spread by `shares` (which sum to 1), at least one each; the rounding goes to the first."""
    counts = {name: max(1, int(total * share)) for name, share in shares.items()}
    first = next(iter(counts))
    counts[first] = max(1, counts[first] + total - sum(counts.values()))
    return counts


def report(r: dict[str, Any]) -> str:
    """One target's figures as a table."""
    deadline = f"a call over {r['deadline_s']} s"
    lines = [
        f"{r['target']}: {r['inputs']} inputs in {r['seconds']} s ({r['inputs_per_second']}/s), seed {r['seed']}",
        f"  {'crashes':<24}{r['crashes']}  (goal 0)",
        f"  {'hangs':<24}{r['hangs']}  ({deadline}; goal 0)",
        f"  {'longest call, s':<24}{r['longest_s']}",
    ]
    lines += [f"  {name:<24}{count}" for name, count in r["outcomes"].items()]
    lines += [f"  {line}" for line in r.get("notes", ())]
    for c in r["crash_examples"]:
        lines += [f"  ! crash at input {c['input']}: {c['error']} at {c['at']}", f"      input {c['value']}"]
    for h in r["hang_examples"]:
        how = "interrupted after" if h.get("interrupted") else "took"
        lines += [f"  ! hang at input {h['input']}: {how} {h['took_s']} s", f"      input {h['value']}"]
    if r.get("aborted_at_input") is not None:
        lines.append(f"  ! run stopped at input {r['aborted_at_input']} of this target")
    return "\n".join(lines)


def summary(results: list[dict[str, Any]], shares: dict[str, str], seconds: float, seed: int) -> str:
    """Every target's row, then the total."""
    total = sum(r["inputs"] for r in results)
    lines = [
        f"kiosk bench fuzz: {total} inputs over {len(results)} targets in {seconds:.1f} s, seed {seed}",
        f"  {'target':<9}{'inputs':>9}{'share':>7}{'inputs/s':>10}{'crashes':>9}{'hangs':>7}{'deadline':>10}"
        f"{'longest':>9}",
    ]
    for r in results:
        lines.append(
            f"  {r['target']:<9}{r['inputs']:>9}{shares.get(r['target'], ''):>7}{r['inputs_per_second'] or 0:>10}"
            f"{r['crashes']:>9}{r['hangs']:>7}{r['deadline_s']:>8} s{r['longest_s']:>7.3f} s"
            + (f"  {r['share_note']}" if r.get("share_note") else "")
        )
    crashes, hangs = sum(r["crashes"] for r in results), sum(r["hangs"] for r in results)
    per_s = round(total / seconds) if seconds else 0
    lines.append(f"  {'all':<9}{total:>9}{'':>7}{per_s:>10}{crashes:>9}{hangs:>7}   (goal: 0 crashes, 0 hangs)")
    return "\n".join(lines)
