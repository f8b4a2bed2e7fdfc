"""The office's commands of `loket-gateway` (loket_gateway.cli parses and dispatches): import-cards, ticket,
ticket-keys, queue-client-add and seed. Each takes a Gateway and its parsed arguments and returns an exit
code; an error the person at the terminal can fix is a UsageError (one line, exit 2)."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kiosk.identity.ticket import Service
from loket_gateway.errors import UsageError
from loket_gateway.gateway import Gateway
from loket_gateway.nik import nik_problem

SERVICES = {"pickup": Service.PICKUP, "recording": Service.RECORDING, "status": Service.STATUS}


def add_arguments(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """This module's subcommands, made by `command(name, help)`."""
    cards = command("import-cards", "import the office's finished cards and resident statuses from a CSV")
    cards.add_argument("file", type=Path, help="the CSV (columns: see loket_gateway/cards.py or the README)")
    cards.add_argument("--photos", type=Path, help="the folder of the recording photos the CSV names")
    cards.add_argument("--today", type=dt.date.fromisoformat, help="the import's date (default: today)")
    ticket = command("ticket", "sign a queue ticket and print its QR code")
    ticket.add_argument("--nik", required=True, help="the resident's NIK (only its digest is in the ticket)")
    ticket.add_argument("--service", choices=sorted(SERVICES), default="pickup")
    ticket.add_argument("--office", help="the office code on the ticket (default: the kiosks' one office)")
    ticket.add_argument("--valid-hours", type=float, default=4.0, help="how long it is valid (default 4)")
    ticket.add_argument("--png", type=Path, help="also write the QR code as a PNG image to this file")
    keys = command("ticket-keys", "list the queue-ticket keys; rotate to a new one; retire an old one")
    keys.add_argument("--rotate", action="store_true", help="add a key: published now, signing after --publish-hours")
    keys.add_argument("--publish-hours", type=float, default=24.0, help="the new key's publication (default 24)")
    keys.add_argument("--retire", type=int, metavar="KEY_ID", help="withdraw a key whose tickets have expired")
    queue = command("queue-client-add", "register a queue system that may issue tickets; print its API key")
    queue.add_argument("name", help="the queue system's name (its X-Queue-Client header)")
    seed = command("seed", "load the demo town the simulator seeds (residents, offices, slots, KIOSK-01)")
    seed.add_argument("--demo", action="store_true", required=True, help="the demo town (the only seed there is)")
    seed.add_argument("--seed", type=int, default=1, help="the town's seed (default 1, as the simulator's)")
    seed.add_argument("--today", type=dt.date.fromisoformat, help="the day the slots start after (default today)")
    seed.add_argument("--photos", type=Path, help="recording photos named by card ID (C00001.jpg or .png)")


def import_cards(gateway: Gateway, args: argparse.Namespace) -> int:
    from loket_gateway.cards import CardImport

    if not args.file.is_file():
        raise UsageError(f"{args.file}: no such file: give the CSV's path")
    if args.photos is not None and not args.photos.is_dir():
        raise UsageError(f"--photos {args.photos}: no such folder")
    report = CardImport(gateway.db, args.today or dt.date.today()).run(args.file, args.photos)
    for r in report.rejected:
        print(f"{args.file}: line {r.line}: {r.reason}", file=sys.stderr)
    print(f"loket-gateway: {report.imported} rows imported, {len(report.rejected)} rejected")
    return 1 if report.rejected else 0


def _ticket_office(gateway: Gateway, given: str | None) -> str:
    if given is not None:
        office = given
    else:
        offices = {k["office"] for k in gateway.fleet.kiosks()}
        if len(offices) != 1:
            raise UsageError("--office: the kiosks stand in several offices (or none): name the ticket's office")
        office = offices.pop()
    if not 1 <= len(office.encode()) <= 16:
        raise UsageError(f"--office {office!r}: an office code on a ticket is 1-16 bytes")
    return office


def ticket(gateway: Gateway, args: argparse.Namespace) -> int:
    """Sign a ticket; print its text and its QR code in the terminal (and a PNG with --png)."""
    import qrcode

    problem = nik_problem(args.nik)
    if problem:
        raise UsageError(f"--nik: {problem.removeprefix('nik: ')}")
    if not 1 / 60 <= args.valid_hours <= 24:
        raise UsageError("--valid-hours: give 0.02 to 24")
    office = _ticket_office(gateway, args.office)
    issued = gateway.issuer.issue_details(
        args.nik, SERVICES[args.service], office, valid_s=int(args.valid_hours * 3600)
    )
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    qr.add_data(issued.text)
    qr.make(fit=True)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    print(out.getvalue(), end="")
    print(issued.text)
    until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(issued.not_after))
    print(f"ticket {issued.ticket_id}: {args.service} at {office}, key {issued.key_id}, valid until {until}")
    if args.png is not None:
        qr.make_image().save(str(args.png))
        print(f"QR code written to {args.png}")
    return 0


def ticket_keys(gateway: Gateway, args: argparse.Namespace) -> int:
    """Rotate or retire, then list every key and its state."""
    if args.rotate:
        if not 0 <= args.publish_hours <= 24 * 30:
            raise UsageError("--publish-hours: give 0 to 720")
        gateway.issuer.signing_key()  # the first key, if none: a rotation needs a key to rotate from
        new = gateway.issuer.rotate(args.publish_hours * 3600)
        print(f"key {new} published; it signs from {args.publish_hours:g} h from now")
    if args.retire is not None:
        try:
            gateway.issuer.retire(args.retire)
        except ValueError as exc:
            raise UsageError(f"--retire: {exc}") from None
        print(f"key {args.retire} retired: kiosks drop it with their next manifest")
    signing = gateway.issuer.signing_key()[0] if any(k.retired is None for k in gateway.issuer.key_states()) else None
    for k in gateway.issuer.key_states():
        state = "retired" if k.retired else "signing" if k.key_id == signing else "published"
        since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(k.signs_from or k.created))
        print(f"key {k.key_id}: {state} (signs from {since}) {k.public_key}")
    return 0


def queue_client_add(gateway: Gateway, args: argparse.Namespace) -> int:
    if not args.name or len(args.name) > 64 or not args.name.isprintable() or " " in args.name:
        raise UsageError("name: give 1-64 printable characters without spaces")
    print(gateway.issuer.add_queue_client(args.name))
    return 0


def seed(gateway: Gateway, args: argparse.Namespace) -> int:
    from loket_gateway.demo import DEMO_KEY, DEMO_KIOSK, seed_demo

    if args.photos is not None and not args.photos.is_dir():
        raise UsageError(f"--photos {args.photos}: no such folder")
    held = seed_demo(gateway, args.seed, today=args.today, photos=args.photos)
    print(
        f"loket-gateway: demo town {args.seed}: {held['residents']} residents, {held['slots']} slots, "
        f"{held['photos']} photos; kiosk {DEMO_KIOSK} with API key {DEMO_KEY}"
    )
    return 0


COMMANDS: dict[str, Callable[[Gateway, argparse.Namespace], int]] = {
    "import-cards": import_cards,
    "ticket": ticket,
    "ticket-keys": ticket_keys,
    "queue-client-add": queue_client_add,
    "seed": seed,
}
