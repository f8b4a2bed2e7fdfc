"""`kiosk update`: make a signing key, sign a bundle (the office), apply incoming bundles and say the state
(the kiosk, as loket-update.service)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from kiosk.config import ConfigError
from kiosk.config.load import load_ops_listen
from kiosk.ops.bundle import UpdateRefused, make_bundle, make_key, trusted_keys
from kiosk.ops.update import State, Updater, probe


def add_update_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """update: signed field updates (kiosk/ops/update.py): made by the office, applied by loket-update.service."""
    update = sub.add_parser("update", help="signed field updates of the kiosk app (make, apply, status)")
    update_sub = update.add_subparsers(dest="update_command", required=True)
    key = update_sub.add_parser("make-key", help="a new update-signing key; prints its public key for the image")
    key.add_argument("key", help="where to write the private key (0600; keep it offline)")
    make = update_sub.add_parser("make", help="sign wheels (the kiosk's own among them) into a bundle")
    make.add_argument("--key", required=True, help="the private signing key")
    make.add_argument("--out", required=True, help="the bundle to write (NAME.bundle)")
    make.add_argument("wheels", nargs="+")
    apply = update_sub.add_parser(
        "apply", help="settle a trial left by a power cut, then install, try and settle each incoming bundle"
    )
    status = update_sub.add_parser("status", help="the version in use, the trial under way and past outcomes")
    for p in (apply, status):
        p.add_argument("--root", default="/var/lib/loket-update")
        p.add_argument("--config", default="/etc/loket/kiosk.toml", help="for the app's [ops] listen (/healthz)")
    apply.add_argument(
        "--keys",
        action="append",
        help="a folder of trusted public keys (repeatable; default: the image's and the enrolment's)",
    )
    apply.add_argument("--trial-s", type=float, default=300.0, help="READY and healthy within this, or roll back")
    for p in (key, make, apply, status):
        p.set_defaults(func=cmd_update)


def cmd_update(args: argparse.Namespace) -> int:
    """The update subcommands; a refused bundle or a bad argument is one line, never a traceback."""

    try:
        if args.update_command == "make-key":
            print(make_key(Path(args.key)))
            return 0
        if args.update_command == "make":
            bundle = make_bundle([Path(w) for w in args.wheels], Path(args.key), Path(args.out))
            print(f"{args.out}: version {bundle.version}, {len(bundle.wheels)} wheel(s)")
            return 0
        root = Path(args.root)
        if args.update_command == "status":
            print(json.dumps(State.load(root).__dict__, indent=1))
            return 0
        url = _healthz_url(Path(args.config))
        keys = trusted_keys(*(Path(folder) for folder in args.keys or []))
        updater = Updater(root, keys, health=lambda: probe(url), trial_s=args.trial_s)
        failed = False
        for name, outcome in updater.apply_incoming():
            print(f"{name}: {outcome}")
            failed |= outcome != "committed"
        return 1 if failed else 0
    except (UpdateRefused, OSError) as exc:
        print(f"kiosk update: {exc}", file=sys.stderr)
        return 1


def _healthz_url(config: Path) -> str | None:
    """The app's /healthz from its configuration's [ops] listen (None: off, or no readable configuration)."""
    try:
        listen = load_ops_listen(config)
    except (ConfigError, OSError) as exc:
        logging.getLogger(__name__).warning("update: no /healthz to ask (%s)", exc)
        return None
    return None if listen is None else f"http://{listen[0]}:{listen[1]}/healthz"
