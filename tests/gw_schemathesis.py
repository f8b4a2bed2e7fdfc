"""schemathesis against the real gateway: a throwaway PostgreSQL, migrated and seeded with the simulated
town, `loket-gateway serve` with mutual TLS, and `st run` over kiosk/gateway/openapi.yaml with every check
and every phase, as kiosk KIOSK-01 (its API key and its client certificate).

schemathesis lives in its own virtual environment (.venv-st, made by scripts/schemathesis.sh): its
pinned hypothesis and friends stay out of the project's. Run as
`python -m tests.gw_schemathesis --examples 200 --seed 16` (scripts/schemathesis.sh does), or from
tests/test_gw_schemathesis.py with fewer examples.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loket_gateway.db import Database, migrate
from loket_gateway.gateway import Gateway
from tests.gw_kit import KEY, KIOSK, TODAY, seed, served
from tests.pgserver import PgServer
from tests.pki_kit import issue, make_ca

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "kiosk" / "gateway" / "openapi.yaml"
ST = ROOT / ".venv-st" / "bin" / "st"
PHASES = "examples,coverage,fuzzing,stateful"


@dataclass(frozen=True)
class StRun:
    """One `st run`: its exit code, its closing summary and how long it took."""

    returncode: int
    output: str
    seconds: float

    @property
    def summary(self) -> str:
        """The lines from schemathesis's SUMMARY on."""
        lines = self.output.splitlines()
        start = next((i for i, line in enumerate(lines) if "SUMMARY" in line), max(0, len(lines) - 40))
        return "\n".join(lines[start:])


def st_command(base: str, folder: Path, examples: int, seed_no: int, ca: Path, cert: Path, key: Path) -> list[str]:
    """The `st run` command line against `base`, as kiosk KIOSK-01."""
    config = folder / "schemathesis.toml"
    # the kiosk's own ID in its paths (else every kiosk-scoped operation is only ever a 403)
    config.write_text(f'[parameters]\n"path.kiosk_id" = "{KIOSK}"\n')
    return [
        str(ST),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        str(SPEC),
        "--url",
        base,
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed_no),
        "--workers",
        "1",  # one: hypothesis's lambda descriptions parse source in threads, which CPython 3.11 can trip on
        "--request-timeout",
        "10",
        "--tls-verify",
        str(ca),
        "--request-cert",
        str(cert),
        "--request-cert-key",
        str(key),
        "-H",
        f"X-Kiosk-Id: {KIOSK}",
        "-H",
        f"Authorization: Bearer {KEY}",
        "--report",
        "junit",
        "--report-dir",
        str(folder / "report"),
    ]


def run(examples: int, seed_no: int, folder: Path, timeout_s: float = 3600) -> StRun:
    """Serve a seeded gateway on a fresh PostgreSQL with mutual TLS and run schemathesis against it."""
    if not ST.exists():
        raise RuntimeError(f"{ST} is missing: run scripts/schemathesis.sh --install")
    pg = PgServer().start()
    try:
        url = pg.url(pg.create_database())
        gw = Gateway(Database(url), today=TODAY)
        migrate(gw.db)
        seed(gw)
        gw.db.dispose()
        ca = make_ca(folder / "pki")
        server = issue(ca, folder / "pki", "gateway", server_names=("127.0.0.1",))
        kiosk = issue(ca, folder / "kiosk", KIOSK)
        tls = ["--tls-cert", str(server.cert), "--tls-key", str(server.key), "--client-ca", str(ca.cert)]
        with served(url, folder / "serve.log", *tls, workers=2, ca=ca.cert) as base:
            command = st_command(base, folder, examples, seed_no, ca.cert, kiosk.cert, kiosk.key)
            started = time.monotonic()
            env = dict(os.environ, NO_COLOR="1", COLUMNS="120")
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, env=env, cwd=folder)
            return StRun(done.returncode, done.stdout + done.stderr, time.monotonic() - started)
    finally:
        pg.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per operation (default 200)")
    parser.add_argument("--seed", type=int, default=16, help="schemathesis's random seed (default 16)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="loket-st-") as tmp:
        result = run(args.examples, args.seed, Path(tmp))
        print(result.output)
        print(f"st run: exit {result.returncode} in {result.seconds:.0f} s", file=sys.stderr)
        return result.returncode


if __name__ == "__main__":
    sys.exit(main())
