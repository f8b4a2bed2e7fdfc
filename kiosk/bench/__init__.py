"""`kiosk bench <name>`: speed and accuracy figures on data the caller points at, printed as a table or
as one JSON line (`--json`). Technicians run the same commands on kiosk hardware; tests never time."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def add_bench_parsers(bench: argparse.ArgumentParser) -> None:
    sub = bench.add_subparsers(dest="bench", required=True)
    qr = sub.add_parser("qr", help="QR decoding on a folder of images with same-named .txt answers")
    qr.add_argument("folder", type=Path)
    qr.add_argument("--json", action="store_true", help="one JSON line instead of a table")
    faces = sub.add_parser("faces", help="face verification on image pairs (FNMR, FMR, timings)")
    faces.add_argument("folder", type=Path, help="the folder the pair paths are relative to")
    faces.add_argument("--pairs", type=Path, required=True, help="CSV: path_a,path_b,same (1 or 0)")
    faces.add_argument("--threshold", type=float, help="distance threshold (default: the configured one)")
    faces.add_argument("--json", action="store_true")
    ocr = sub.add_parser("ocr", help="printed-NIK reading on rendered KTP-like cards at degradation levels")
    ocr.add_argument("--cards", type=int, default=30, help="cards per level (default 30)")
    ocr.add_argument("--seed", type=int, default=1)
    ocr.add_argument("--json", action="store_true")
    outbox = sub.add_parser("outbox", help="outbox append latency (fsync) and drain time to the loopback gateway")
    outbox.add_argument("--events", type=int, default=10_000)
    outbox.add_argument("--batch", type=int, default=500, help="events per request (the contract's cap is 500)")
    outbox.add_argument("--dir", type=Path, help="where to put the databases: the kiosk's data disk (default: /tmp)")
    outbox.add_argument("--json", action="store_true")
    ui = sub.add_parser("ui", help="the real window: cold start to the first idle frame, RSS over many journeys")
    ui.add_argument("--runs", type=int, default=5, help="cold starts, each a fresh process (default 5)")
    ui.add_argument("--journeys", type=int, default=500, help="journeys walked in one process (default 500)")
    ui.add_argument("--seed", type=int, default=1, help="seed of the journey mix (default 1)")
    ui.add_argument("--english", type=float, default=0.0, help="share of residents who switch to English (0-1)")
    ui.add_argument("--tracemalloc", action="store_true", help="also list the allocation sites that grew (slow)")
    ui.add_argument("--json", action="store_true")
    live = sub.add_parser("liveness", help="the liveness challenge on labelled face clips (BPCER, APCER, blinks)")
    live.add_argument("folder", type=Path, help="a folder with clips.csv and the clips it lists")
    live.add_argument("--seed", type=int, default=1, help="seed of the rendered people and attacks (default 1)")
    live.add_argument("--json", action="store_true")
    track = sub.add_parser("track", help="the face tracker on one clip: per-frame state, box and turn in degrees")
    track.add_argument("clip", type=Path, help="a video file")
    track.add_argument("--every", type=int, default=1, help="print every N-th frame of the trace (default 1)")
    track.add_argument("--json", action="store_true")
    soak = sub.add_parser("soak", help="a simulated week, link flapping, hardware faults: memory, fds, events")
    soak.add_argument("--days", type=int, default=7, help="simulated days (default 7)")
    soak.add_argument("--per-day", type=int, default=300, help="journeys a day (default 300)")
    soak.add_argument("--seed", type=int, default=1)
    soak.add_argument("--json", action="store_true")
    fuzz = sub.add_parser("fuzz", help="broken and hostile input at every outside edge, counting crashes and hangs")
    fuzz.add_argument("target", nargs="?", choices=tuple(FUZZ_SHARES), help="one edge (default: all of them)")
    shares = ", ".join(f"{name} {share * 100:g}%%" for name, share in FUZZ_SHARES.items())
    fuzz.add_argument("--inputs", type=int, help=f"inputs (gateway: calls); with no target the total, spread "
                      f"{shares}, at least 1 each (the gateway answers about 20 calls/s) (default {FUZZ_INPUTS}; "
                      "gateway alone: --seconds 60)")  # fmt: skip
    fuzz.add_argument("--seconds", type=float, help="gateway: also stop after this long")
    fuzz.add_argument("--atr-list", type=Path, help="apdu: pcsc-tools' smartcard_list.txt (default: the installed "
                      "one, else the checkout's ../shared/data copy)")  # fmt: skip
    fuzz.add_argument("--seed", type=int, default=1, help="the same seed makes the same inputs (default 1)")
    fuzz.add_argument("--json", action="store_true", help="one JSON line instead of the tables")
    powercut = sub.add_parser(
        "powercut", help="the kiosk killed (SIGKILL) mid-work and restarted N times: cards, bookings, tickets, journal"
    )
    powercut.add_argument("--kills", type=int, default=1000, help="kills before a last, clean life (default 1000)")
    powercut.add_argument("--seed", type=int, default=1)
    powercut.add_argument("--only", help="kill only in one phase (start, reconcile, ticket, release, booking, ...)")
    powercut.add_argument("--dir", type=Path, help="an empty folder for the run's data (default: a temporary one)")
    powercut.add_argument("--broken", help=argparse.SUPPRESS)  # a deliberately broken kiosk (the harness's test)
    powercut.add_argument("--json", action="store_true")


# Shares of `kiosk bench fuzz --inputs N` with no target: about the same wall time for the fast edges, less
# for the loader (a file a load, about 300/s) and the gateway (a real HTTP exchange, about 20 calls/s).
FUZZ_SHARES = {"ticket": 0.30, "nik": 0.25, "base45": 0.25, "apdu": 0.17, "config": 0.028, "gateway": 0.002}
FUZZ_INPUTS = 10_000
FUZZ_GATEWAY_S = 60.0  # gateway alone with neither --inputs nor --seconds


def _fuzz_target(name: str, inputs: int | None, args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    """One target's figures and its table."""
    from kiosk.bench import fuzz_harness

    if name == "gateway":
        from kiosk.bench import fuzz_gateway

        seconds = args.seconds if args.seconds is not None or inputs is not None else FUZZ_GATEWAY_S
        result = fuzz_gateway.run(seconds, args.seed, calls=inputs)
        return result, fuzz_gateway.report(result)
    if name == "config":
        from kiosk.bench import fuzz_config

        result = fuzz_config.run(inputs or FUZZ_INPUTS, args.seed)
    else:
        from kiosk.bench import fuzz_inputs

        result = fuzz_harness.fuzz(fuzz_inputs.edge(name, args.seed, args.atr_list), inputs or FUZZ_INPUTS, args.seed)
    return result, fuzz_harness.report(result)


def run_fuzz(args: argparse.Namespace) -> int:
    """`kiosk bench fuzz [target]`: exit 0 only when no target crashed or hung."""
    from kiosk.bench import fuzz_harness

    if args.target:
        counts = {args.target: args.inputs}
    else:
        counts = dict(fuzz_harness.split(args.inputs or FUZZ_INPUTS, FUZZ_SHARES))
    started = time.monotonic()
    runs = [_fuzz_target(name, inputs, args) for name, inputs in counts.items()]
    seconds = time.monotonic() - started
    results = [r for r, _ in runs]
    if len(results) == 1:
        result, text = runs[0]
    else:
        for r in results:
            if r["target"] == "gateway":
                r["share_note"] = "calls, each a real HTTP exchange: a small share"
        total = sum(r["inputs"] for r in results)
        result = {
            "target": "all",
            "inputs": total,
            "seed": args.seed,
            "seconds": round(seconds, 1),
            "inputs_per_second": round(total / seconds) if seconds else None,
            "crashes": sum(r["crashes"] for r in results),
            "hangs": sum(r["hangs"] for r in results),
            "shares": FUZZ_SHARES,
            "targets": {r["target"]: r for r in results},
        }
        shares = {name: f"{share * 100:g}%" for name, share in FUZZ_SHARES.items()}
        text = "\n\n".join([fuzz_harness.summary(results, shares, seconds, args.seed), *(t for _, t in runs)])
    print(json.dumps(result, sort_keys=False) if args.json else text)
    return 0 if all(r["crashes"] == 0 and r["hangs"] == 0 for r in results) else 1


def run_powercut(args: argparse.Namespace) -> int:
    """`kiosk bench powercut --kills N`: exit 0 when every count is 0."""
    from kiosk.bench import powercut

    try:
        result = powercut.run(args.kills, args.seed, folder=args.dir, only=args.only, broken=args.broken or "")
    except ValueError as exc:  # an unknown phase or crossing, a folder with an earlier run in it
        raise SystemExit(f"kiosk bench powercut: {exc}") from None
    print(json.dumps(result, sort_keys=False) if args.json else powercut.report(result))
    return 0 if powercut.held(result) else 1


def run_clip_bench(args: argparse.Namespace) -> int:
    """`kiosk bench liveness DIR` and `kiosk bench track CLIP`: the face check on video clips."""
    from kiosk.bench import clips

    if args.bench == "liveness":
        import logging

        from kiosk.bench import liveness

        logging.getLogger("kiosk.identity").setLevel(logging.WARNING)  # one line per face check otherwise
        try:
            result = liveness.run(args.folder, args.seed)
        except clips.ClipError as exc:
            raise SystemExit(f"kiosk bench liveness: {exc}") from None
        print(json.dumps(result, sort_keys=False) if args.json else liveness.report(result))
        return 0
    from kiosk.bench import track

    try:
        result = track.run(args.clip, max(1, args.every))
    except clips.ClipError as exc:
        raise SystemExit(f"kiosk bench track: {exc}") from None
    print(json.dumps(result, sort_keys=False) if args.json else track.report(result))
    return 0


def run_bench(args: argparse.Namespace) -> int:
    result: dict[str, Any]
    if args.bench == "powercut":
        return run_powercut(args)
    if args.bench == "fuzz":
        return run_fuzz(args)
    if args.bench == "soak":
        import logging

        from kiosk.bench import soak

        logging.getLogger().setLevel(logging.ERROR)  # a week of injected faults is a lot of warnings
        result = soak.run(args.days, args.per_day, args.seed)
        print(json.dumps(result, sort_keys=False) if args.json else soak.report(result))
        return 0 if soak.held(result) else 1
    if args.bench in ("liveness", "track"):
        return run_clip_bench(args)
    if args.bench == "qr":
        from kiosk.bench import qr

        if not args.folder.is_dir():
            raise SystemExit(f"kiosk bench qr: {args.folder} is not a folder")
        result = qr.run(args.folder)
        text = qr.report(result)
    elif args.bench == "faces":
        from kiosk.bench import faces

        result = faces.run(args.folder, args.pairs, args.threshold)
        text = faces.report(result)
    elif args.bench == "outbox":
        import kiosk.bench.outbox as outbox

        result = outbox.run(args.events, args.batch, args.dir)
        text = outbox.report(result)
    elif args.bench == "ui":
        import kiosk.bench.ui as ui

        result = ui.run(args.runs, args.journeys, args.seed, english=args.english, trace=args.tracemalloc)
        print(json.dumps(result, sort_keys=False) if args.json else ui.report(result))
        return 0 if result["journeys_completed"] == result["journeys"] == args.journeys else 1
    else:
        import kiosk.bench.ocr as ocr

        result = ocr.run(args.cards, args.seed)
        text = ocr.report(result)
    print(json.dumps(result, sort_keys=False) if args.json else text)
    return 0
