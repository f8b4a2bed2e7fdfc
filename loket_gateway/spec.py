"""The contract (kiosk/gateway/openapi.yaml) as the server enforces it: the route of every operation,
every request checked before its handler runs, every answer checked before it is sent.

Why jsonschema over the spec's own schemas, and not openapi-core: the kiosk's client already checks
answers with jsonschema against this spec (kiosk.gateway.contract), so here the answers are checked by
the very same validators, built once, and the server and the client cannot read the spec differently.
The request side is small (path and query parameters with their schemas, one JSON body per operation)
and is compiled once per operation too: no per-request walk over the spec, and the error a kiosk gets
names the field and the rule it broke without echoing the value (which may be a NIK).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kiosk.gateway.contract import SPEC_URI, ContractViolation, operation, spec

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_INTEGER = re.compile(r"-?[0-9]{1,19}")  # within a 64-bit integer; the schema bounds it


class RequestInvalid(ValueError):
    """A request the contract does not allow: answered 400 with this message."""


class NoRoute(LookupError):
    """No path of the contract matches (404), or it has no such method (405, with `allow`)."""

    def __init__(self, allow: tuple[str, ...] = ()) -> None:
        super().__init__("method not allowed" if allow else "not found")
        self.allow = allow


def describe(error: jsonschema.ValidationError) -> str:
    """Where a value broke which rule, never the value itself."""
    where = error.json_path
    if error.validator in ("required", "additionalProperties", "minProperties", "maxProperties"):
        return f"{where}: {error.message}"[:300]
    return f"{where}: must satisfy {error.validator} {json.dumps(error.validator_value, default=str)[:120]}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class Parameter:
    name: str
    where: str  # 'path' or 'query'
    required: bool
    integer: bool
    default: Any
    validator: jsonschema.protocols.Validator


@dataclass(frozen=True)
class Operation:
    """One operation of the contract, as served."""

    operation_id: str
    method: str
    template: str
    secured: bool
    parameters: tuple[Parameter, ...]
    body: jsonschema.protocols.Validator | None
    body_required: bool
    body_defaults: Mapping[str, Any] = field(default_factory=dict)

    def parse(self, path_params: dict[str, str], query: str, content_type: str, raw: bytes) -> tuple[dict, Any]:
        """The request's parameters (typed, defaults filled in) and body; RequestInvalid if the contract
        does not allow it."""
        try:
            given = parse_qs(query, keep_blank_values=True, max_num_fields=32, strict_parsing=False)
        except ValueError:
            raise RequestInvalid("query: too many fields") from None
        params: dict[str, Any] = {}
        for p in self.parameters:
            values = [path_params[p.name]] if p.where == "path" else given.get(p.name, [])
            if len(values) > 1:
                raise RequestInvalid(f"{p.name}: given more than once")
            if not values:
                if p.required:
                    raise RequestInvalid(f"{p.name}: required")
                if p.default is not None:
                    params[p.name] = p.default
                continue
            value: Any = int(values[0]) if p.integer and _INTEGER.fullmatch(values[0]) else values[0]
            error = next(iter(p.validator.iter_errors(value)), None)
            if error is not None:
                raise RequestInvalid(f"{p.name} ({p.where}): " + describe(error).removeprefix("$: "))
            params[p.name] = value
        return params, self._body(content_type, raw)

    def _body(self, content_type: str, raw: bytes) -> Any:
        if self.body is None:  # an operation without a request body ignores one sent anyway
            return None
        if not raw.strip():
            if self.body_required:
                raise RequestInvalid("body: required (a JSON object)")
            return None
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise RequestInvalid("body: Content-Type must be application/json")
        try:
            body = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise RequestInvalid("body: not JSON") from None
        try:
            error = next(iter(self.body.iter_errors(body)), None)
        except RecursionError:
            raise RequestInvalid("body: nested too deeply") from None
        if error is not None:
            raise RequestInvalid("body " + describe(error))
        if isinstance(body, dict):
            body = {**self.body_defaults, **body}
        return body

    def check_answer(self, status: int, body: Any, size: int) -> None:
        """ContractViolation unless this answer is what the contract allows (shape and size)."""
        op = operation(self.operation_id)
        op.check(status, body)
        if size > op.max_answer_bytes:
            raise ContractViolation(self.operation_id, status, "$", f"{size} bytes, over the bound")


def _pointer(*parts: str) -> str:
    return SPEC_URI + "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Routes:
    """Every operation of the contract, matched by method and path."""

    def __init__(self) -> None:
        doc = spec()
        registry: Registry[Any] = Registry().with_resource(SPEC_URI, Resource.from_contents(doc, DRAFT202012))
        checker = jsonschema.Draft202012Validator.FORMAT_CHECKER

        def validator(*parts: str) -> jsonschema.protocols.Validator:
            ref = {"$ref": _pointer(*parts)}
            return jsonschema.Draft202012Validator(ref, registry=registry, format_checker=checker)

        self.paths: list[tuple[re.Pattern[str], dict[str, Operation]]] = []
        for template, methods in doc["paths"].items():
            ops = {}
            for method, op in methods.items():
                if method in METHODS:
                    ops[method.upper()] = _operation(doc, template, method, op, validator)
            pattern = re.compile(re.sub(r"{(\w+)}", r"(?P<\1>[^/]+)", template))
            self.paths.append((pattern, ops))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation and its path parameters; NoRoute for a path or method the contract lacks."""
        for pattern, ops in self.paths:
            m = pattern.fullmatch(path)
            if m is None:
                continue
            if method not in ops:
                raise NoRoute(tuple(sorted(ops)))
            return ops[method], m.groupdict()
        raise NoRoute()

    def operations(self) -> list[Operation]:
        return [op for _, ops in self.paths for op in ops.values()]


def _operation(doc: dict[str, Any], template: str, method: str, op: dict[str, Any], validator: Any) -> Operation:
    params = []
    for index, p in enumerate(op.get("parameters", [])):
        base: tuple[str, ...] = ("paths", template, method, "parameters", str(index))
        if "$ref" in p:
            base = tuple(p["$ref"].removeprefix("#/").split("/"))
            p = doc[base[0]][base[1]][base[2]]
        schema = p.get("schema", {})
        params.append(
            Parameter(
                p["name"],
                p["in"],
                bool(p.get("required")),
                schema.get("type") == "integer",
                schema.get("default"),
                validator(*base, "schema"),
            )
        )
    request = op.get("requestBody")
    body, defaults = None, {}
    if request is not None:
        body = validator("paths", template, method, "requestBody", "content", "application/json", "schema")
        schema = request["content"]["application/json"]["schema"]
        defaults = {k: v["default"] for k, v in schema.get("properties", {}).items() if "default" in v}
    secured = bool(op.get("security", doc.get("security", [])))
    return Operation(
        op["operationId"],
        method.upper(),
        template,
        secured,
        tuple(params),
        body,
        bool(request and request.get("required")),
        defaults,
    )


@cache
def routes() -> Routes:
    """The contract's routes, compiled once per process."""
    return Routes()
