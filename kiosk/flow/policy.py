"""Which checks together let a card leave the vault. Pure: config in, a decision with its reason out.

A pickup always needs a valid queue ticket of this office (checked before the journey starts), a NIK
that matches the ticket, and the face of the enrolled person. The policy says how the NIK may have been
established (chip, printed NIK read by the camera, typed) and whether the liveness challenge must pass;
the face itself can never be skipped, least of all for a typed NIK.
"""

from __future__ import annotations

from dataclasses import dataclass

NIK_SOURCES = ("chip", "ocr", "typed")


@dataclass(frozen=True)
class Policy:
    """What a pickup needs beyond ticket and NIK match."""

    nik_sources: tuple[str, ...] = NIK_SOURCES  # ways of establishing the NIK accepted for a pickup
    require_liveness: bool = True


@dataclass(frozen=True)
class Decision:
    """Release or not, and the combination of checks that decided it (journaled as is)."""

    release: bool
    why: str


def decide(policy: Policy, nik_source: str | None, face_match: bool, face_live: bool) -> Decision:
    source = nik_source or "unknown"
    checks = ["ticket", source]
    if source not in policy.nik_sources:
        return Decision(False, f"refused: NIK by {source} not accepted for a pickup")
    if not face_match:
        return Decision(False, "refused: face does not match the enrolment")
    checks.append("face")
    if policy.require_liveness:
        if not face_live:
            return Decision(False, "refused: liveness challenge not passed")
        checks.append("liveness")
    return Decision(True, "+".join(checks))
