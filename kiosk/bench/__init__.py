"""`kiosk bench <name>`: speed and accuracy figures on data the caller points at, printed as a table or
as one JSON line (`--json`). Technicians run the same commands on kiosk hardware; tests never time."""

from __future__ import annotations

import argparse
import json
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
    fuzz = sub.add_parser("fuzz", help="broken input at an edge, counting crashes: config (kiosk.toml) or gateway")
    fuzz.add_argument("target", choices=("config", "gateway"), help="which edge")
    fuzz.add_argument("--inputs", type=int, default=10_000, help="config: broken files to load (default 10000)")
    fuzz.add_argument("--seconds", type=float, default=60, help="gateway: how long to fuzz (default 60)")
    fuzz.add_argument("--seed", type=int, default=1)
    fuzz.add_argument("--json", action="store_true")


FUZZ_GOALS = {"config": ("crashes",), "gateway": ("undeclared_exceptions", "calls_past_deadline")}  # goal: 0 each


def run_fuzz(args: argparse.Namespace) -> int:
    """`kiosk bench fuzz config|gateway`: exit 0 when every goal of the target held (nothing crashed), else 1."""
    result: dict[str, Any]
    if args.target == "config":
        from kiosk.bench import fuzz_config

        result = fuzz_config.run(args.inputs, args.seed)
        text = fuzz_config.report(result)
    else:
        from kiosk.bench import fuzz_gateway

        result = fuzz_gateway.run(args.seconds, args.seed)
        text = fuzz_gateway.report(result)
    print(json.dumps(result, sort_keys=False) if args.json else text)
    return 0 if all(result.get(figure, 0) == 0 for figure in FUZZ_GOALS[args.target]) else 1


def run_bench(args: argparse.Namespace) -> int:
    result: dict[str, Any]
    if args.bench == "fuzz":
        return run_fuzz(args)
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
