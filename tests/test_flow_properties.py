"""Property tests: no sequence of events reaches an undefined state, and every visit gets back to idle."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.flow import events as ev
from kiosk.flow.machine import step
from kiosk.flow.model import CardStatus, Lookup, Reason, Session, Step
from kiosk.identity.ticket import TicketReason, TicketRefusal
from tests.flowkit import CFG, NIK, OFFICES, OTHER_NIK, READY, SLOTS, T0, ticket

TICKETS = [ticket(), ticket(OTHER_NIK)]
visits = st.integers(0, 3)
events = st.one_of(
    st.just(ev.Tick()),
    st.sampled_from(TICKETS).map(ev.TicketScanned),
    st.sampled_from(list(TicketReason)).map(lambda r: ev.TicketScanned(TicketRefusal(r))),
    st.sampled_from(["04AABBCCDDEEFF", "04112233445566"]).map(ev.CardInserted),
    st.just(ev.CardRemoved()),
    st.just(ev.CardUnreadable()),
    st.builds(ev.ChipResolved, visits, st.sampled_from([NIK, OTHER_NIK, None, "123"]), st.booleans()),
    st.builds(
        ev.NikRead, st.sampled_from([NIK, OTHER_NIK, "12", "5371043202900001"]), st.sampled_from(["typed", "ocr"])
    ),
    st.builds(ev.LookupDone, visits, st.sampled_from([READY, *(Lookup(s) for s in CardStatus)])),
    st.builds(ev.FaceChecked, visits, st.booleans(), st.booleans(), st.floats(0, 1)),
    st.builds(ev.VaultOutcome, visits, st.sampled_from(["taken", "not_taken", "jammed", "fault"])),
    st.builds(ev.OfficesLoaded, visits, st.sampled_from([(), OFFICES])),
    st.builds(ev.SlotsLoaded, visits, st.sampled_from([(), SLOTS])),
    st.builds(ev.BookingDone, visits, st.none(), st.sampled_from([None, *Reason])),
    st.builds(ev.OperatorCard, st.sampled_from(["04AA", "04BB"]), st.just("Yohana")),
    st.builds(ev.PinEntered, st.sampled_from(["1357", "0000"])),
    st.builds(ev.PinChecked, visits, st.booleans(), st.sampled_from(["ok", "wrong_pin", "wait", "locked"])),
    st.builds(
        ev.Press,
        st.sampled_from(ev.PRESS_ACTIONS),
        st.sampled_from(["", "KEC-04", "DKP-KUPANG", "2026-09-22", "09:00", "en"]),
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(events, st.floats(0, 120)), max_size=40))
def test_random_events_never_reach_an_undefined_state_and_always_return_to_idle(seq):
    s, now = Session(), T0
    for event, gap in seq:
        now += gap
        s, effects = step(s, event, now, CFG)
        assert isinstance(s.step, Step)
        assert isinstance(effects, tuple)
        if s.step == Step.REFUSED:
            assert s.reason is not None
        if s.step in (Step.FACE, Step.RELEASE, Step.TAP_NEW):
            assert s.lookup is not None and s.lookup.card_id is not None
    # nobody touches the kiosk any more: it must find its way back to idle by itself
    for _ in range(6):
        now += 400
        s, _ = step(s, ev.Tick(), now, CFG)
    assert s.step == Step.IDLE
    assert s.nik is None and s.ticket is None and s.lookup is None and s.operator is None


@settings(max_examples=200, deadline=None)
@given(st.lists(events, max_size=30))
def test_cancel_returns_to_idle_except_while_the_vault_is_open(seq):
    s, now = Session(), T0
    for event in seq:
        now += 1
        s, _ = step(s, event, now, CFG)
    s2, _ = step(s, ev.Press(ev.CANCEL), now + 1, CFG)
    assert s2.step == (Step.RELEASE if s.step == Step.RELEASE else Step.IDLE)
