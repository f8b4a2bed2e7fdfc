"""Property tests: the flow's invariants over random event sequences.

- No card leaves the vault (a ReleaseCard effect) without, in the same visit, an accepted ticket that the
  gateway did not say was spent elsewhere, a NIK that matches it, a lookup that found the card here, and a
  face check that matched and was live. Nothing is looked up before the ticket's claim was answered.
- Every visit ends at idle by itself, and a visit that ends tells the runner to forget the resident.
- A card that left the vault (VaultOutcome taken) is always recorded: a RecordHandover for it follows,
  whichever way the visit goes on (the right tap, a walk-away, a cancel, wrong taps).

The events are drawn as functions of the current session, so that most of them answer the visit that
is running (random visit numbers would almost never get past the lookup) while stale answers still come.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.flow.machine import FlowConfig, step
from kiosk.flow.model import CardStatus, Lookup, Reason, Session, Step, TicketClaim
from kiosk.flow.policy import Policy
from kiosk.identity.ticket import Ticket, TicketReason, TicketRefusal
from tests.flowkit import CFG, NIK, OFFICES, OTHER_NIK, READY, SLOTS, T0, ticket

TICKETS = [ticket(), ticket(OTHER_NIK)]
NEW_CHIP = READY.new_chip_uid or ""


@dataclass(frozen=True)
class Make:
    """An event drawn as a function of the session: a fixed event, or an answer to the running visit."""

    event: ev.Event | None = None
    build: Callable[[int], ev.Event] | None = None
    stale: bool = False  # an answer for the visit before the running one
    label: str = ""

    def __call__(self, s: Session) -> ev.Event:
        if self.event is not None:
            return self.event
        assert self.build is not None
        return self.build(s.visit - 1 if self.stale else s.visit)

    def __repr__(self) -> str:
        return repr(self.event) if self.event is not None else f"{self.label}(visit{'-1' if self.stale else ''})"


def _now(event: ev.Event) -> Make:
    return Make(event=event)


def _answer(build: Callable[[int], ev.Event], stale: bool, label: str = "answer") -> Make:
    """An effect's answer: for the running visit, or (stale) for the one before."""
    return Make(build=build, stale=stale, label=label)


def _answers(build: Callable[..., ev.Event], *args: st.SearchStrategy) -> st.SearchStrategy[Make]:
    def make(stale: bool, *a: object) -> Make:
        return _answer(lambda v: build(v, *a), stale, f"{build.__name__}{a!r}")

    return st.builds(make, st.booleans(), *args)


_lookups = st.sampled_from([READY, READY, READY, READY, *(Lookup(s) for s in CardStatus)])
events: st.SearchStrategy[Make] = st.one_of(
    st.just(_now(ev.Tick())),
    st.sampled_from(TICKETS).map(lambda t: _now(ev.TicketScanned(t))),
    st.sampled_from(list(TicketReason)).map(lambda r: _now(ev.TicketScanned(TicketRefusal(r)))),
    st.sampled_from(["04AABBCCDDEEFF", "04112233445566", NEW_CHIP.lower()]).map(lambda u: _now(ev.CardInserted(u))),
    st.just(_now(ev.CardRemoved())),
    st.just(_now(ev.Press(ev.CANCEL))),  # drawn more often than the other presses: it ends a visit anywhere
    st.just(_now(ev.CardUnreadable())),
    _answers(ev.ChipResolved, st.sampled_from([NIK, OTHER_NIK, None, "123"]), st.booleans()),
    st.builds(
        lambda text, src: _now(ev.NikRead(text, src)),
        st.sampled_from([NIK, OTHER_NIK, "12", "5371043202900001"]),
        st.sampled_from(["typed", "ocr"]),
    ),
    st.builds(
        lambda stale, t, claim: _answer(lambda v: ev.TicketClaimed(v, t.ticket_id, claim), stale, f"Claimed({claim})"),
        st.booleans(),
        st.sampled_from(TICKETS),
        st.sampled_from(list(TicketClaim)),
    ),
    _answers(ev.LookupDone, _lookups),
    _answers(ev.FaceChecked, st.booleans(), st.booleans(), st.floats(0, 1)),
    _answers(ev.VaultOutcome, st.sampled_from(["taken", "taken", "not_taken", "jammed", "fault"])),
    _answers(ev.OfficesLoaded, st.sampled_from([(), OFFICES])),
    _answers(ev.SlotsLoaded, st.sampled_from([(), SLOTS])),
    _answers(ev.BookingDone, st.none(), st.sampled_from([None, *Reason])),
    st.builds(lambda uid: _now(ev.OperatorCard(uid, "Yohana")), st.sampled_from(["04AA", "04BB"])),
    st.builds(lambda pin: _now(ev.PinEntered(pin)), st.sampled_from(["1357", "0000"])),
    _answers(ev.PinChecked, st.booleans(), st.sampled_from(["ok", "wrong_pin", "wait", "locked"])),
    st.builds(
        lambda action, value: _now(ev.Press(action, value)),
        st.sampled_from(ev.PRESS_ACTIONS),
        st.sampled_from(["", "KEC-04", "DKP-KUPANG", "2026-09-22", "09:00", "en"]),
    ),
)


def _happy_prefix(
    n: int,
    nik_event: Make,
    lookup: Lookup = READY,
    face: tuple[bool, bool] = (True, True),
    claim: TicketClaim = TicketClaim.CLAIMED,
) -> list[Make]:
    match, live = face
    steps = [
        _now(ev.TicketScanned(TICKETS[0])),
        _answer(lambda v: ev.TicketClaimed(v, TICKETS[0].ticket_id, claim), False, f"Claimed({claim})"),
        nik_event,
        _answer(lambda v: ev.LookupDone(v, lookup), False, f"LookupDone({lookup.status})"),
        _answer(lambda v: ev.FaceChecked(v, match, live, 0.9), False, f"FaceChecked(match={match}, live={live})"),
        _answer(lambda v: ev.VaultOutcome(v, "taken"), False, "VaultOutcome(taken)"),
    ]
    return steps[:n]


_nik_events = st.sampled_from(
    [
        _now(ev.NikRead(NIK, "typed")),
        _now(ev.NikRead(NIK, "ocr")),
        _now(ev.NikRead(OTHER_NIK, "typed")),  # not the ticket's
        _answer(lambda v: ev.ChipResolved(v, NIK), False, "ChipResolved(NIK)"),
    ]
)
# a run of the journey's own next events, with the answers drawn: deep steps (face, release, tap) are
# reached often, and so are the status screens and faces that fail one check
chunks = st.builds(
    _happy_prefix,
    st.integers(1, 6),
    _nik_events,
    _lookups,
    st.sampled_from([(True, True), (True, True), (True, False), (False, True), (False, False)]),
    st.sampled_from([TicketClaim.CLAIMED, TicketClaim.CLAIMED, TicketClaim.OFFLINE, TicketClaim.USED_ELSEWHERE]),
)
timed = st.tuples(events, st.floats(0, 120))
sequences = st.lists(st.one_of(timed.map(lambda x: [x]), chunks.map(lambda c: [(m, 1.0) for m in c])), max_size=30).map(
    lambda parts: [x for part in parts for x in part]
)


@dataclass
class Visit:
    """What this visit has shown so far, written down independently of the flow's own session."""

    number: int
    ticket: Ticket | None = None
    niks: set[str] = field(default_factory=set)  # presented by chip, camera or keyboard
    ready: Lookup | None = None  # a lookup of this visit that found the card in this vault
    taken: str | None = None  # the card that left the vault in this visit
    recorded: bool = False


def _watch(v: Visit, s: Session, e: ev.Event) -> None:
    """Note what an event shows about the visit (before the flow steps on it)."""
    if isinstance(e, ev.NikRead):
        v.niks.add(e.text)
    if isinstance(e, ev.ChipResolved) and e.visit == s.visit and e.nik:
        v.niks.add(e.nik)
    answered = isinstance(e, ev.LookupDone) and e.visit == s.visit and s.step == Step.LOOKUP
    if answered and e.lookup.status == CardStatus.READY_HERE:  # type: ignore[union-attr]
        v.ready = e.lookup  # type: ignore[union-attr]


def _check_release(v: Visit, before: Session, e: ev.Event, release: fx.ReleaseCard, cfg: FlowConfig) -> None:
    assert isinstance(e, ev.FaceChecked) and e.visit == before.visit, "a card leaves only on a face check"
    assert e.match, "released without a matching face"
    if cfg.policy.require_liveness:
        assert e.live, "released without a live face"
    assert v.ticket is not None and before.ticket == v.ticket, "released without this visit's ticket"
    assert before.ticket_claim in (TicketClaim.CLAIMED, TicketClaim.OFFLINE), "released on an unclaimed ticket"
    assert before.nik in v.niks and v.ticket.matches_nik(before.nik), "released without a matching NIK"
    assert before.nik_source in cfg.policy.nik_sources
    assert v.ready is not None, "released without a lookup that found the card here"
    assert (release.card_id, release.slot) == (v.ready.card_id, v.ready.slot)
    assert release.visit == before.visit


def run(seq: list[tuple[Make, float]], cfg: FlowConfig = CFG) -> tuple[Session, float, list[Visit]]:
    """Step through `seq`, checking every step; return the last session, the time and the visits seen."""
    s, now = Session(), T0
    visits = [Visit(s.visit)]
    for make, gap in seq:
        now += gap
        e = make(s)
        before, v = s, visits[-1]
        _watch(v, s, e)
        s, effects = step(s, e, now, cfg)
        if s.visit != before.visit:
            visits.append(Visit(s.visit, ticket=s.ticket))
            v = visits[-1]
        _check_step(v, before, e, s, effects, cfg)
    return s, now, visits


def _check_step(v: Visit, before: Session, e: ev.Event, s: Session, effects: tuple, cfg: FlowConfig) -> None:
    assert isinstance(s.step, Step) and isinstance(effects, tuple)
    if s.step == Step.REFUSED:
        assert s.reason is not None
    if s.step in (Step.FACE, Step.RELEASE, Step.TAP_NEW):
        assert s.lookup is not None and s.lookup.card_id is not None and s.ticket is not None
    for effect in effects:
        if isinstance(effect, fx.LookUp):
            assert s.ticket_claim in (TicketClaim.CLAIMED, TicketClaim.OFFLINE), "looked up before the claim"
        if isinstance(effect, fx.ReleaseCard):
            _check_release(v, before, e, effect, cfg)
        if isinstance(effect, fx.RecordHandover):
            assert v.taken is not None and effect.card_id == v.taken and not v.recorded, "recorded once, if taken"
            v.recorded = True
    released = before.step == Step.RELEASE and isinstance(e, ev.VaultOutcome) and e.visit == before.visit
    if released and e.outcome == "taken":  # type: ignore[union-attr]
        assert before.lookup is not None
        v.taken = before.lookup.card_id
    if before.step != Step.IDLE and s.step == Step.IDLE:
        assert any(isinstance(x, fx.EndVisit) for x in effects), "a visit ended without forgetting the resident"
        assert s.nik is None and s.ticket is None and s.lookup is None and s.operator is None
        assert v.taken is None or v.recorded, f"card {v.taken} left the vault and the visit ended unrecorded"


def idle_out(s: Session, now: float, cfg: FlowConfig = CFG) -> tuple[Session, float, tuple]:
    """Nobody touches the kiosk any more: tick past the longest timeout a few times."""
    longest = max(cfg.timeout_for(step) for step in Step)
    effects: tuple = ()
    for _ in range(4):
        now += longest + 1
        s, more = step(s, ev.Tick(), now, cfg)
        effects += more
    return s, now, effects


LIVENESS_OFF = FlowConfig(policy=Policy(require_liveness=False))
# scripts/mutation.sh runs these once per mutant and asks for fewer examples (FLOW_PROPERTY_EXAMPLES)
EXAMPLES = int(os.environ.get("FLOW_PROPERTY_EXAMPLES", "400"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(sequences)
def test_no_release_without_ticket_matching_nik_and_a_live_matching_face(seq):
    run(seq)


@settings(max_examples=max(EXAMPLES // 3, 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequences)
def test_without_the_liveness_rule_a_matching_face_and_nik_are_still_needed(seq):
    run(seq, LIVENESS_OFF)


@SETTINGS
@given(sequences)
def test_every_visit_ends_at_idle_and_a_card_that_left_the_vault_is_recorded(seq):
    s, now, visits = run(seq)
    last = visits[-1]
    s2, _, effects = idle_out(s, now)
    assert s2.step == Step.IDLE
    assert s2.nik is None and s2.ticket is None and s2.lookup is None and s2.operator is None
    records = [x for x in effects if isinstance(x, fx.RecordHandover)]
    if last.taken is not None and not last.recorded:
        assert [r.card_id for r in records] == [last.taken] and not records[0].confirmed
    else:
        assert records == []


@settings(max_examples=max(EXAMPLES // 2, 20), deadline=None)
@given(st.lists(events, max_size=30))
def test_cancel_returns_to_idle_except_while_the_vault_is_open(seq):
    s, now = Session(), T0
    for make in seq:
        now += 1
        s, _ = step(s, make(s), now, CFG)
    s2, _ = step(s, ev.Press(ev.CANCEL), now + 1, CFG)
    assert s2.step == (Step.RELEASE if s.step == Step.RELEASE else Step.IDLE)


# -- the generator reaches what the invariants are about ------------------------------------------

HAPPY = _happy_prefix(6, _now(ev.NikRead(NIK, "typed")))  # ticket, its claim, NIK, lookup, face, card taken


def test_the_checks_see_a_release_and_a_handover():
    """The happy path through `run`: released once, recorded once (so the checks above do run)."""
    s, _, visits = run([(m, 1.0) for m in [*HAPPY, _now(ev.CardInserted(NEW_CHIP))]])
    assert s.step == Step.HANDED_OVER and visits[-1].taken == READY.card_id and visits[-1].recorded


def test_a_card_taken_then_cancelled_is_still_recorded():
    s, _, visits = run([(m, 1.0) for m in [*HAPPY, _now(ev.Press(ev.CANCEL))]])
    assert s.step == Step.IDLE and visits[-1].recorded


def test_a_card_taken_then_wrong_taps_is_still_recorded():
    wrong = [_now(ev.CardInserted("04FFFFFFFFFFFF"))] * CFG.max_wrong_taps
    s, now, visits = run([(m, 1.0) for m in [*HAPPY, *wrong]])
    s, now, _ = idle_out(s, now)
    assert s.step == Step.IDLE and visits[-1].recorded
