"""The `loket-gateway` command: migrate a database, serve the contract, register kiosks and enrolment
tokens, and the office's commands (loket_gateway.commands: import-cards, ticket, ticket-keys,
queue-client-add, seed). The database is `--db URL` (sqlite:///file or postgresql://...), else $LOKET_GATEWAY_DB, else a
SQLite file in the working folder."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

from loket_gateway.commands import COMMANDS, add_arguments
from loket_gateway.errors import UsageError

DEFAULT_DB = "sqlite:///loket-gateway.db"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loket-gateway", description="The Loket Mandiri kiosk gateway.")
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--db", default=os.environ.get("LOKET_GATEWAY_DB", DEFAULT_DB), help="database URL")
        return p

    command("migrate", "create or upgrade the database's schema (Alembic)")
    serve = command("serve", "serve the contract (gunicorn)")
    serve.add_argument("--listen", default="127.0.0.1:8443", help="HOST:PORT (default 127.0.0.1:8443)")
    serve.add_argument("--workers", type=int, default=2, help="worker processes")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker")
    serve.add_argument("--tls-cert", type=Path, help="the gateway's certificate (PEM); TLS when given")
    serve.add_argument("--tls-key", type=Path, help="its private key")
    serve.add_argument("--client-ca", type=Path, help="mutual TLS: kiosk certificates must come from this CA")
    serve.add_argument("--ca-key", type=Path, help="the client CA's key: enrolment signs kiosk certificates")
    serve.add_argument("--today", type=dt.date.fromisoformat, help="fix the gateway's date (demo, tests)")
    serve.add_argument("--handshake-timeout", type=float, default=10.0, help="seconds for a TLS handshake (10)")
    serve.add_argument("--no-check-answers", action="store_true", help="skip checking answers against the spec")
    kiosk = command("kiosk-add", "register a kiosk and print its new API key")
    kiosk.add_argument("kiosk_id")
    kiosk.add_argument("--office", required=True)
    token = command("enrolment-token", "print a one-time enrolment token for a new kiosk")
    token.add_argument("kiosk_id")
    token.add_argument("--office", required=True)
    add_arguments(command)
    from loket_gateway import bench

    bench.add_arguments(sub)
    return parser


def _listen(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"loket-gateway: --listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8443")
    return host.strip("[]"), int(port)


def _serve(args: argparse.Namespace) -> int:
    if (args.tls_cert is None) != (args.tls_key is None):
        print("loket-gateway: --tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    if not 0.1 <= args.handshake_timeout <= 120:
        print("loket-gateway: --handshake-timeout: give 0.1 to 120 seconds", file=sys.stderr)
        return 2
    if args.client_ca is not None and args.tls_cert is None:
        print("loket-gateway: --client-ca needs TLS (--tls-cert, --tls-key)", file=sys.stderr)
        return 2
    if args.ca_key is not None and args.client_ca is None:
        print("loket-gateway: --ca-key needs --client-ca (the certificate of that key)", file=sys.stderr)
        return 2
    # before prometheus_client is imported: every worker's figures then add up at /metrics
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="loket-gateway-metrics-"))
    from loket_gateway.db import Database, schema_state
    from loket_gateway.gateway import Gateway
    from loket_gateway.server import GatewayServer, ServeOptions

    db = Database(args.db)
    current, head = schema_state(db)
    if current != head:
        print(f"loket-gateway: the database is at {current or 'no schema'}, not {head}: run migrate", file=sys.stderr)
        return 2
    Gateway(db).issuer.signing_key()  # the first ticket key, made once before the workers start
    db.dispose()
    host, port = _listen(args.listen)
    options = ServeOptions(
        args.db,
        host,
        port,
        args.workers,
        args.threads,
        args.tls_cert,
        args.tls_key,
        args.client_ca,
        args.ca_key,
        args.today,
        not args.no_check_answers,
        args.handshake_timeout,
    )
    GatewayServer(options).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run one command; an error anyone at the terminal can fix is one line naming it, exit 2."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except UsageError as exc:
        print(f"loket-gateway: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # no traceback for a technician: what failed, in one line
        print(f"loket-gateway: {args.command}: {_one_line(exc)}", file=sys.stderr)
        return 2


def _one_line(exc: Exception) -> str:
    """An error as one line that says what to check."""
    from sqlalchemy.exc import SQLAlchemyError

    from loket_gateway.db import DatabaseUnavailable

    if isinstance(exc, SQLAlchemyError | DatabaseUnavailable):
        return f"the database failed ({type(exc).__name__}): check --db and run loket-gateway migrate"
    text = (str(exc).splitlines() or [""])[0][:300]
    return text if isinstance(exc, ValueError | OSError) else f"{type(exc).__name__}: {text}"


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "bench":
        from loket_gateway import bench

        return bench.main(args)
    from loket_gateway.db import Database, migrate
    from loket_gateway.gateway import Gateway

    db = Database(args.db)
    try:
        if args.command == "migrate":
            migrate(db)
            print(f"loket-gateway: {db.url.render_as_string(hide_password=True)} is at the newest schema")
            return 0
        gateway = Gateway(db)
        if args.command == "kiosk-add":
            import secrets

            key = secrets.token_urlsafe(32)
            gateway.fleet.add_kiosk(args.kiosk_id, args.office, key)
            print(key)
        elif args.command in COMMANDS:
            return COMMANDS[args.command](gateway, args)
        else:
            print(gateway.fleet.issue_enrolment_token(args.kiosk_id, args.office))
        return 0
    finally:
        db.dispose()


if __name__ == "__main__":
    sys.exit(main())
