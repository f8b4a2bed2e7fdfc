"""The gateway contract (openapi.yaml) as the client checks answers against it: for each operation and
status, the JSON Schema of the answer's body, and the largest body the kiosk reads for that operation
(`x-max-answer-bytes`). The spec is the one owner of every answer's shape and size. Also the signed journal
head's message and its check, which the kiosk signs and the gateway verifies (heartbeat's journal_head)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:loket:gateway-openapi"
JOURNAL_HEAD_DOMAIN = "loket-journal-head/v1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
DEFAULT_MAX_ANSWER_BYTES = 64 * 1024  # an operation that does not say its own


class ContractViolation(ValueError):
    """An answer whose body does not match the contract: `where` is the JSON path of the first fault."""

    def __init__(self, operation: str, status: int, where: str, message: str) -> None:
        super().__init__(f"{operation} {status}: {where}: {message}")
        self.operation, self.status, self.where = operation, status, where


@dataclass(frozen=True)
class Operation:
    """One operation of the contract as the client uses it."""

    operation_id: str
    max_answer_bytes: int
    validators: dict[int, jsonschema.protocols.Validator]

    def check(self, status: int, body: Any) -> None:
        """Raise ContractViolation unless `body` is what the contract allows for `status`."""
        validator = self.validators.get(status)
        if validator is None:
            raise ContractViolation(self.operation_id, status, "$", "status not in the contract")
        try:  # the first error only: the rest of a huge wrong body is never walked (maxItems comes before items)
            error = next(iter(validator.iter_errors(body)), None)
        except RecursionError:
            raise ContractViolation(self.operation_id, status, "$", "nested too deeply") from None
        if error is not None:
            where = error.json_path
            raise ContractViolation(self.operation_id, status, where, error.message[:200])


@cache
def spec() -> dict[str, Any]:
    """The contract, parsed once."""
    loaded: dict[str, Any] = yaml.safe_load(resources.files("kiosk.gateway").joinpath("openapi.yaml").read_text())
    return loaded


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@cache
def operations() -> dict[str, Operation]:
    """Every operation of the contract by its operationId."""
    doc = spec()
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, Resource.from_contents(doc, DRAFT202012))
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    found: dict[str, Operation] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            validators: dict[int, jsonschema.protocols.Validator] = {}
            for status, answer in op.get("responses", {}).items():
                base = ("paths", path, method, "responses", status)
                if "$ref" in answer:  # a shared response: follow it to its own place in the spec
                    base = tuple(answer["$ref"].removeprefix("#/").split("/"))
                ref = f"{SPEC_URI}#/{_pointer(*base, 'content', 'application/json', 'schema')}"
                validators[int(status)] = jsonschema.Draft202012Validator(
                    {"$ref": ref}, registry=registry, format_checker=checker
                )
            found[op["operationId"]] = Operation(
                op["operationId"], int(op.get("x-max-answer-bytes", DEFAULT_MAX_ANSWER_BYTES)), validators
            )
    return found


def operation(operation_id: str) -> Operation:
    """One operation; KeyError names an operationId the contract does not have (a bug in the client)."""
    return operations()[operation_id]


def head_message(kiosk_id: str, seq: int, digest: str) -> bytes:
    """The bytes a journal head's signature covers: the domain, the kiosk ID, the sequence number and the row
    hash, one per line (the kiosk ID inside, so one kiosk's head cannot be replayed as another's)."""
    return f"{JOURNAL_HEAD_DOMAIN}\n{kiosk_id}\n{seq}\n{digest}".encode()


def head_signed_by(public_key_hex: str, kiosk_id: str, seq: int, digest: str, signature_hex: str) -> bool:
    """Whether a journal head's signature is the kiosk's (its Ed25519 public key as 64 hex digits)."""
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), head_message(kiosk_id, seq, digest))
    except (InvalidSignature, ValueError):
        return False
    return True


def valid_public_key(text: object) -> bool:
    """True for an Ed25519 public key as 64 lower-case hex digits (what enrolment sends)."""
    if not isinstance(text, str) or not _HEX64.fullmatch(text):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError:
        return False
    return True
