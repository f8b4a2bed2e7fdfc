"""The `kiosk` command: run, demo, simulate, selftest, doctor, provision, audit, operator-pin, bench."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk import __version__
from kiosk.config import ConfigError, load_config
from kiosk.identity.nik import mask_nik
from kiosk.lockdown import DEMO, DEMO_HELP, choose

if TYPE_CHECKING:
    from kiosk.store import AuditProblem, Store

_WHOLE_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")


class NikMaskingFilter(logging.Filter):
    """Last line of defence: mask anything that looks like a NIK in a log message."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = _WHOLE_NIK.sub(lambda m: mask_nik(m.group()), msg)
        if masked != msg:
            record.msg, record.args = masked, ()
        return True


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(NikMaskingFilter())
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True)
    # urllib3 says every connection at DEBUG; Kivy may lower the root level once imported: keep it at WARNING
    logging.getLogger("urllib3").setLevel(logging.DEBUG if verbose else logging.WARNING)


def prepare_kivy_env(data_dir: Path) -> None:
    """Keep Kivy away from sys.argv and ~/.kivy (it must be set before Kivy is imported)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
    os.environ.setdefault("KIVY_HOME", str(data_dir / "kivy"))
    Path(os.environ["KIVY_HOME"]).mkdir(parents=True, exist_ok=True)  # Kivy refuses a missing home
    os.environ.setdefault("KCFG_INPUT_MOUSE", "mouse,disable_multitouch")


def cmd_simulate(args: argparse.Namespace) -> int:
    from kiosk.sim.journeys import parse_duration, run_simulation

    logging.getLogger().setLevel(logging.WARNING)
    summary = run_simulation(args.journeys, args.seed, link_down_s=parse_duration(args.link_down))
    print(json.dumps(summary, sort_keys=False))
    return 0 if summary["errors"] == 0 else 1


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    data_dir = Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="kiosk-demo-"))
    prepare_kivy_env(data_dir)
    choose(DEMO)  # the demo keeps a way out; `kiosk run` has none (kiosk.lockdown)
    from kiosk.sim.demo import run_demo

    return run_demo(
        data_dir,
        seed=args.seed,
        windowed=args.windowed,
        language=args.language,
        exit_after=args.exit_after,
        reader=args.reader,
        reader_name=args.reader_name,
    )


def config_refused(exc: ConfigError, config: str) -> int:
    """Say each of a configuration's problems on a line of its own, after its file; the exit status is 2."""
    for problem in exc.problems:
        print(f"{exc.source if exc.source is not None else config}: {problem}", file=sys.stderr)
    return 2


def cmd_run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        return config_refused(exc, args.config)
    from kiosk.health import Health
    from kiosk.runner.parts import build_parts

    health = Health()
    try:
        parts = build_parts(cfg, health)  # before any window: a part that cannot start here is a config error
    except ConfigError as exc:
        return config_refused(exc, args.config)
    prepare_kivy_env(cfg.data_dir)
    from kiosk.app import run_kiosk

    return run_kiosk(cfg, parts, health, windowed=args.windowed)


def _open_journal(db: str) -> Store | None:
    """The kiosk's database for the audit commands, or None (said on stderr) when there is none at `db`."""
    from kiosk.store import Store

    path = Path(db)
    if not path.exists():
        print(f"{path}: no such database", file=sys.stderr)
        return None
    return Store(path)


def cmd_audit(args: argparse.Namespace) -> int:
    """The hash chain, and with --config the gateway's anchors (asked of the gateway, or read from
    --anchors): exit 0 when all hold, 1 when a row differs or is missing, 2 when it cannot be checked."""
    store = _open_journal(args.db)
    if store is None:
        return 2
    try:
        problems = store.verify_journal()
        against = ""
        if args.config:
            try:
                anchors, against = _anchors_for_audit(args)
            except (ConfigError, ValueError, OSError) as exc:
                print(f"cannot check against the gateway's anchors: {exc}", file=sys.stderr)
                return 2
            problems += anchors
        seq, head = store.journal_head()
    finally:
        store.close()
    for p in problems:
        print(f"row {p.seq}: {p.problem}")
    verdict = "OK" if not problems else f"{len(problems)} problems"
    print(f"journal: {seq} rows, head {head[:16]}, {verdict}{against or ' (chain only: --config checks the anchors)'}")
    return 0 if not problems else 1


def _anchors_for_audit(args: argparse.Namespace) -> tuple[list[AuditProblem], str]:
    """The anchor problems of the journal at args.db, and a note of what it was checked against."""
    from kiosk.gateway.client import GatewayClient, GatewayError
    from kiosk.gateway.head import read_public_key
    from kiosk.ops.audit import check_anchors, read_anchor_file
    from kiosk.store import Store

    cfg = load_config(args.config)
    public_key = read_public_key(cfg.journal_key_path)
    if args.anchors:
        anchors = read_anchor_file(Path(args.anchors))
    else:
        client = GatewayClient.for_kiosk(cfg, retries=1)
        try:
            anchors = client.anchors()
        except GatewayError as exc:
            raise ValueError(f"the gateway at {cfg.gateway_url} did not give the anchors: {exc}") from None
        finally:
            client.close()
    store = Store(Path(args.db))
    try:
        problems = check_anchors(store, anchors, cfg.kiosk_id, public_key)
    finally:
        store.close()
    signed = "" if public_key else f", signatures unchecked: no journal key at {cfg.journal_key_path}"
    return problems, f"; against {len(anchors)} anchor(s) of the gateway{signed}"


def cmd_audit_find(args: argparse.Namespace) -> int:
    """Print the journal rows of the visit a refusal's reference code names, in the kiosk's local time."""
    import datetime as dt

    from kiosk.flow.base import FlowConfig

    store = _open_journal(args.db)
    if store is None:
        return 2
    rows = store.journal_visit(args.reference.strip())
    store.close()
    if not rows:
        print(f"no refusal with reference {args.reference!r} in {args.db}", file=sys.stderr)
        return 1
    wita = dt.timezone(dt.timedelta(seconds=FlowConfig().utc_offset_s))
    for seq, ts, kind, data in rows:
        when = dt.datetime.fromtimestamp(ts, wita).strftime("%Y-%m-%d %H:%M:%S")
        print(f"row {seq}  {when}  {kind}  {json.dumps(data, sort_keys=True)}")
    return 0


def cmd_operator_pin(args: argparse.Namespace) -> int:
    import getpass

    from kiosk.identity.operator import hash_pin

    if args.stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass("PIN (4-12 digits): ")
        if getpass.getpass("PIN again: ") != pin:
            print("the two PINs differ; nothing written", file=sys.stderr)
            return 2
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("a PIN is 4 to 12 digits", file=sys.stderr)
        return 2
    print(f'pin_hash = "{hash_pin(pin)}"')
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The `kiosk` command line: its subcommands, grouped by who runs them."""
    parser = argparse.ArgumentParser(prog="kiosk", description="Loket Mandiri e-KTP self-service kiosk")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_simulation_commands(sub)
    _add_kiosk_commands(sub)
    _add_technician_commands(sub)
    return parser


def _add_simulation_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """demo and simulate: the kiosk in a simulated town."""
    demo = sub.add_parser(
        "demo",
        help="the real app with simulated hardware and the real gateway, demo-seeded",
        description=f"The real app with simulated hardware and the real gateway, demo-seeded. {DEMO_HELP}.",
    )
    demo.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    demo.add_argument("--seed", type=int, default=1, help="seed of the simulated town (default 1)")
    demo.add_argument("--language", choices=("id", "en"), default="id")
    demo.add_argument("--data-dir", help="where the demo keeps its databases (default: a new temp folder)")
    demo.add_argument(
        "--reader",
        choices=("sim", "pcsc"),
        default="sim",
        help="pcsc: a real PC/SC reader, whose unknown cards become the selected resident's",
    )
    demo.add_argument("--reader-name", default="", help="with --reader pcsc: part of the reader's name")
    demo.add_argument(
        "--exit-after", type=float, default=0, metavar="SECONDS", help="quit after this long (smoke tests)"
    )
    demo.set_defaults(func=cmd_demo)

    sim = sub.add_parser("simulate", help="scripted journeys without a window; prints a JSON summary")
    sim.add_argument("--journeys", type=int, default=200)
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument(
        "--link-down", default="0", metavar="DURATION", help="gateway unreachable this long mid-day, e.g. 8h"
    )
    sim.set_defaults(func=cmd_simulate)


def _add_kiosk_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """run, operator-pin and audit: the kiosk itself and its staff."""
    run = sub.add_parser("run", help="run the kiosk from its configuration file")
    run.add_argument("--config", default="/etc/loket/kiosk.toml")
    run.add_argument("--windowed", action="store_true")
    run.set_defaults(func=cmd_run)

    pin = sub.add_parser("operator-pin", help="hash a staff PIN for the [[operators]] table of kiosk.toml")
    pin.add_argument("--stdin", action="store_true", help="read the PIN from standard input")
    pin.set_defaults(func=cmd_operator_pin)

    audit = sub.add_parser("audit", help="audit the journal")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser(
        "verify", help="recompute the journal's hash chain and check it against the gateway's signed anchors"
    )
    verify.add_argument("--db", default="/var/lib/loket/kiosk.db")
    verify.add_argument("--config", help="kiosk.toml: check against the anchors this kiosk's gateway holds")
    verify.add_argument("--anchors", help="with --config: an anchor export (JSON) instead of asking the gateway")
    verify.set_defaults(func=cmd_audit)
    find = audit_sub.add_parser("find", help="the visit behind a refusal's reference code (as the resident saw it)")
    find.add_argument("reference", help="the code on the refusal screen, e.g. KQ7-M3P")
    find.add_argument("--db", default="/var/lib/loket/kiosk.db")
    find.set_defaults(func=cmd_audit_find)


def _add_technician_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """provision, selftest, doctor and bench: setting up and checking a kiosk."""
    prov = sub.add_parser("provision", help="enrol this kiosk with a one-time token and write kiosk.toml")
    prov.add_argument("--enrol", required=True, help="the enrolment file from the admins (TOML)")
    prov.add_argument("--config", default="/etc/loket/kiosk.toml")
    prov.add_argument("--data-dir", default="/var/lib/loket")
    prov.add_argument("--hardware", choices=("kiosk", "sim"), default="kiosk", help="sim: a desk without kiosk parts")
    prov.set_defaults(func=cmd_provision)

    selftest = sub.add_parser("selftest", help="ask every part once and print a report")
    selftest.add_argument("--config", default="/etc/loket/kiosk.toml")
    selftest.add_argument("--print", action="store_true", help="also print a test slip")
    selftest.set_defaults(func=cmd_selftest)

    doctor = sub.add_parser("doctor", help="explain what is wrong on a broken kiosk")
    doctor.add_argument("--config", default="/etc/loket/kiosk.toml")
    doctor.set_defaults(func=cmd_doctor)

    from kiosk.ops.update_cli import add_update_parsers

    add_update_parsers(sub)

    from kiosk.bench import add_bench_parsers

    bench = sub.add_parser(
        "bench", help="benchmarks: qr, faces, ocr, outbox, ui, fuzz, powercut, soak, liveness, track"
    )
    add_bench_parsers(bench)
    bench.set_defaults(func=cmd_bench)


def cmd_provision(args: argparse.Namespace) -> int:
    """Enrol this kiosk at the gateway and write its configuration."""
    from kiosk.ops.provision import ProvisionError, provision

    try:
        cfg = provision(Path(args.enrol), Path(args.config), Path(args.data_dir), args.hardware)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except ProvisionError as exc:
        print(f"kiosk provision: {exc}", file=sys.stderr)
        return 1
    print(f"kiosk {cfg.kiosk_id} of {cfg.office} enrolled; configuration in {args.config}")
    return 0


def cmd_selftest(args: argparse.Namespace) -> int:
    """Ask every part once and print a report; exit 1 if any part fails."""
    from kiosk.gateway.client import GatewayClient
    from kiosk.health import Health
    from kiosk.ops.selftest import report, run_selftest
    from kiosk.runner.parts import build_parts

    try:
        cfg = load_config(args.config)
        health = Health()
        parts = build_parts(cfg, health)
    except ConfigError as exc:
        return config_refused(exc, args.config)
    client = GatewayClient.for_kiosk(cfg, retries=0)
    try:
        checks = run_selftest(cfg, parts, client, health, print_slip=args.print)
    finally:
        client.close()
        parts.vault.close()
    print(report(checks))
    return 0 if all(c.ok for c in checks) else 1


def cmd_doctor(args: argparse.Namespace) -> int:
    """Explain what is wrong on a broken kiosk: configuration, services, then every part."""
    import shutil as _shutil
    import subprocess

    print(f"configuration {args.config}:")
    try:
        load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"  FAIL {problem}")
        print("fix the configuration first: the kiosk does not start with these problems")
        return 1
    print("  OK   every key is valid")
    if _shutil.which("systemctl"):
        for unit, advice in (
            ("loket-kiosk.service", "journalctl -u loket-kiosk -b shows why it stopped"),
            ("pcscd.service", "the card reader needs pcscd: sudo systemctl enable --now pcscd"),
            (
                "systemd-timesyncd.service",
                "tickets need a synchronised clock: sudo systemctl enable --now systemd-timesyncd",
            ),
        ):
            state = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True).stdout.strip()
            print(
                f"  {'OK  ' if state == 'active' else 'WARN'} {unit} is {state or 'unknown'}"
                + ("" if state == "active" else f": {advice}")
            )
    print("parts:")
    return cmd_selftest(argparse.Namespace(config=args.config, print=False))


def cmd_bench(args: argparse.Namespace) -> int:
    """Run one benchmark; print figures, or one JSON line with --json."""
    from kiosk.bench import run_bench

    return run_bench(args)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.verbose)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
