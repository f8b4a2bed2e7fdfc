"""schemathesis against the real gateway on PostgreSQL, with mutual TLS, every check and every phase, in
CI's short form (a few examples per operation, a fixed seed); scripts/schemathesis.sh runs the full one
(200 per operation)."""

from __future__ import annotations

import os

import pytest

from tests.gw_schemathesis import ST, run

EXAMPLES, SEED = 15, 16


def test_schemathesis_finds_no_failure_against_the_real_server_on_postgresql(tmp_path):
    if not ST.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{ST} is missing: scripts/setup.sh --test installs it")
        pytest.skip("schemathesis is not installed: scripts/schemathesis.sh --install")
    result = run(EXAMPLES, SEED, tmp_path, timeout_s=300)
    assert result.returncode == 0, result.summary
    assert " passed" in result.summary and "failures" not in result.summary.lower()
