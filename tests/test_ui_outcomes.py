"""Every way a visit can end, in the real Kivy window: each card status the status screen shows and each
refusal the flow can reach, walked by the simulated resident's hands (the camera, the card reader, the vault,
touches on the screen), never by setting the session, and photographed at every panel size in both
languages (the window and the helpers are in tests/uikit.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from kivy.base import EventLoop
from kivy.core.window import Window
from kivy.uix.label import Label

from kiosk.app import KioskApp
from kiosk.flow.base import REFERENCE_ALPHABET
from kiosk.flow.machine import STATUS_STEPS
from kiosk.flow.model import CardStatus, Reason, Step
from kiosk.hardware.camera import Face, HeldTicket, Nothing
from kiosk.i18n import tr
from kiosk.identity.nik import make_nik
from kiosk.identity.operator import MAX_FAILURES, lockout_for, pause_after
from kiosk.identity.ticket import Service, Ticket, issue_ticket
from kiosk.sim.journeys import SimClock
from kiosk.sim.office import KIOSK_OFFICE, Resident
from kiosk.sim.panel import SERVICE_FOR
from kiosk.sim.world import DEMO_OPERATOR_PIN, World
from kiosk.texts import REASONS, STATUSES
from tests.uikit import (
    SEEN,
    SIZES,
    WALK,
    dev,
    fresh_start,
    pump,
    resident,
    screen,
    shoot,
    touch,
    use_size,
    wait_for,
    wait_note,
)

pytestmark = pytest.mark.ui

UNKNOWN_CARD = "04FFFFFFFFFFFF"  # the developer panel's 'unknown card': a chip no resident holds
SHORT_RELEASE_S = 5.0  # the vault's release timeout at the configuration's minimum (hardware.release_timeout_s)
REFERENCE = re.compile(f"[{REFERENCE_ALPHABET}]{{3}}-[{REFERENCE_ALPHABET}]{{3}}")

# Every Reason, as the flow uses it: the ones a visit can end on the refusal screen with (each walked below),
# and the ones that are only a hint on the screen the resident is at (they never reach the refusal screen)
REFUSALS = frozenset(
    {
        Reason.TICKET_MALFORMED,
        Reason.TICKET_UNKNOWN_KEY,
        Reason.TICKET_FORGED,
        Reason.TICKET_EXPIRED,
        Reason.TICKET_NOT_YET_VALID,
        Reason.TICKET_WRONG_OFFICE,
        Reason.TICKET_USED,
        Reason.TICKET_USED_ELSEWHERE,
        Reason.NIK_MISMATCH,
        Reason.CARD_UNKNOWN,
        Reason.NOT_FOUND,
        Reason.SERVICE_UNAVAILABLE,
        Reason.FACE_MISMATCH,
        Reason.CARD_NOT_TAKEN,
        Reason.VAULT_FAULT,
        Reason.WRONG_NEW_CARD,
        Reason.BOOKING_FAILED,
        Reason.OPERATOR_LOCKED,
    }
)
NOTICES_ONLY = frozenset(
    {
        Reason.NIK_FORMAT,
        Reason.NIK_REGION,
        Reason.NIK_BIRTH_DATE,
        Reason.NIK_SERIAL,
        Reason.CARD_UNREADABLE,
        Reason.CHIP_OFFLINE,
        Reason.FACE_RETRY,
        Reason.NO_SLOTS,
        Reason.SLOT_TAKEN,  # back to the day's times, which are loaded again
        Reason.OFFLINE_FULL,  # likewise
        Reason.PIN_WRONG,
        Reason.PIN_WAIT,
    }
)
OFFICER_CALLED = frozenset({Reason.FACE_MISMATCH, Reason.VAULT_FAULT, Reason.WRONG_NEW_CARD})  # CallOperator
STATUS_SCREEN = (
    CardStatus.READY_ELSEWHERE,
    CardStatus.VERIFICATION,
    CardStatus.PRINTING,
    CardStatus.WAITING_BLANKO,
    CardStatus.COLLECTED,
)


class OfficerNotWaiting(AssertionError):
    """The refusal says an officer is called, but the screen lets the resident walk away."""


# -- the world as the residents find it ----------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def seeded_day(ui_session) -> Iterator[None]:
    """Residents come in the days the simulated town was seeded for: earlier UI tests move the kiosk's clock
    a month or two on (staff unloading due cards), past the cards' manifest validity and the offices'
    recording slots. Then the clock goes back to the day the world was built (as tests/test_ui_idle.py does
    after its night), and on again afterwards."""
    app, world, clock = ui_session
    fresh_start(app, world, clock)
    saved = clock.now
    if world.kiosk.today() > world.gateway.today + dt.timedelta(days=1):
        clock.now = time.time()
    yield
    clock.now = max(saved, clock.now)


@pytest.fixture(autouse=True)
def leaves_idle(ui) -> Iterator[None]:
    """Each test starts and ends with the kiosk idle, its parts put right and the link up: the window is
    shared with every other UI test. A test that fails half-way is brought back here too."""
    app, world, clock = ui
    use_size(WALK)
    wait_for(app, Step.IDLE)
    yield
    world.camera.show(Nothing())
    world.reader.remove()
    faults = world.gateway.faults
    faults.down, faults.delay_s, faults.error_every, faults.drop_every = False, 0.0, 0, 0
    world.gateway.add_kiosk(world.cfg.kiosk_id, KIOSK_OFFICE, world.gateway.api_key)
    world.vault.jammed.clear()
    world.kiosk.vault.release_timeout_s = world.cfg.hardware.release_timeout_s
    end = time.monotonic() + 90
    while app.kiosk.session.step != Step.IDLE and time.monotonic() < end:
        if app.kiosk.session.step in (Step.LOOKUP, Step.BOOKING, Step.RELEASE):
            pump(0.3)  # a motion or an answer under way: let it end
            continue
        leave(app, clock)
    use_size(WALK)
    wait_for(app, Step.IDLE)


def leave(app: KioskApp, clock: SimClock) -> None:
    """End the visit as a resident would: OK or Finish where offered, Cancel where offered, else the screen's
    own timeout (a refusal that waits for an officer goes back to idle by itself)."""
    s, here = app.kiosk.session, screen(app)
    finish = here.ids.get("finish")
    if finish is not None and finish.opacity > 0 and not finish.disabled and s.step != Step.OPERATOR:
        touch(finish)
    elif s.step == Step.OPERATOR and not (s.operator_note and s.operator_note.busy):
        touch(here.ids.finish)
    elif app.root.ids.cancel.opacity > 0 and not app.root.ids.cancel.disabled:
        touch(app.root.ids.cancel)
    else:
        clock.advance(app.kiosk.cfg.flow.timeout_for(s.step) + 1)
    wait_until(app, lambda: app.kiosk.session.step == Step.IDLE, "back to idle", timeout=5)


def wait_until(app: KioskApp, done: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not done() and time.monotonic() < end:
        EventLoop.idle()
    assert done(), f"waited {timeout} s for {what}; kiosk is at {app.kiosk.session.step}"
    pump(0.3)


def stranger(world: World) -> Resident:
    """Someone the gateway has no record of, with a NIK of a real kecamatan and birth date."""
    r = resident(world, "printing")
    nik = make_nik(r.district, dt.date(1979, 3, 14), False, 9876)
    assert all(x.nik != nik for x in world.gateway.residents)
    return dataclasses.replace(r, index=999, nik=nik, old_chip_uid=None, card_id=None, new_chip_uid=None)


def ticket(world: World, clock: SimClock, r: Resident, service: Service | None = None, **kw) -> str:
    """The queue ticket the office's queue machine prints for `r` (for the service of their status), now on
    the kiosk's clock."""
    service = service or SERVICE_FOR.get(r.status, Service.STATUS)
    return world.gateway.issue_ticket(r, service, **({"now": clock()} | kw))


def hold_up(app: KioskApp, world: World, text: str, step: Step = Step.CARD) -> None:
    """The resident holds a QR code to the camera until the kiosk answers, then puts it away."""
    world.camera.show(HeldTicket(text))
    wait_for(app, step)
    world.camera.show(Nothing())


def visit(app: KioskApp, world: World, clock: SimClock, r: Resident) -> None:
    """`r` shows a valid ticket of this office: the kiosk asks for the old KTP."""
    hold_up(app, world, ticket(world, clock, r))


def type_nik(app: KioskApp, nik: str) -> None:
    """An old card without a chip: 'no chip', then 'type the NIK', the digits and OK on the keypad."""
    touch(screen(app).ids.no_chip)
    wait_for(app, Step.NIK_ENTRY)
    touch(screen(app).ids.type_nik)
    keypad = {b.text: b for b in screen(app).ids.keypad.children}
    for digit in nik:
        touch(keypad[digit])
    assert screen(app).digits == nik
    touch(screen(app).ids.keypad.ids.ok)


def face_to_slot(app: KioskApp, world: World, clock: SimClock, r: Resident) -> int:
    """A resident whose card is here: ticket, old KTP on the reader, own face to the camera; the slot opens.
    Returns the slot."""
    visit(app, world, clock, r)
    world.camera.show(Face(r.person))
    assert r.old_chip_uid
    world.reader.insert(r.old_chip_uid)
    wait_for(app, Step.RELEASE)
    lookup = app.kiosk.session.lookup
    assert lookup is not None and lookup.slot is not None
    wait_until(app, lambda: world.vault.moving == lookup.slot, f"slot {lookup.slot} open", timeout=5)
    world.camera.show(Nothing())
    return lookup.slot


def choose_resident_on_panel(app: KioskApp, r: Resident) -> None:
    panel = app.panel_for_tests
    panel.ids.resident.text = panel.label(r)


def sign_in(app: KioskApp, world: World) -> None:
    """Staff card on the reader, the right PIN: operator mode."""
    dev(app, "staff_card")
    wait_for(app, Step.OPERATOR_PIN)
    world.reader.remove()
    enter_pin(app, DEMO_OPERATOR_PIN)
    wait_for(app, Step.OPERATOR)


def enter_pin(app: KioskApp, pin: str) -> None:
    keypad = {b.text: b for b in screen(app).ids.keypad.children}
    for digit in pin:
        touch(keypad[digit])
    touch(screen(app).ids.keypad.ids.ok)


@contextmanager
def short_release(world: World) -> Iterator[None]:
    """The vault gives up on a card nobody takes after the shortest release timeout the configuration allows
    (the vault times releases on the real clock, not the kiosk's SimClock)."""
    world.kiosk.vault.release_timeout_s = SHORT_RELEASE_S
    try:
        yield
    finally:
        world.kiosk.vault.release_timeout_s = world.cfg.hardware.release_timeout_s


# -- what each outcome must show ---------------------------------------------------------------------


def shoot_status(app: KioskApp, status: CardStatus, walk: str = WALK) -> None:
    wait_for(app, Step.STATUS)
    lookup = app.kiosk.session.lookup
    assert lookup is not None and lookup.status == status, lookup
    assert screen(app).what_msgid == STATUSES[status][0]
    shoot(app, f"13-status-{status.value}", walk=walk)


def shoot_refusal(app: KioskApp, world: World, reason: Reason, walk: str = WALK) -> str:
    """The refusal screen for `reason`, with its reference code on screen and in the journal, photographed at
    every size in both languages. Returns the reference."""
    wait_for(app, Step.REFUSED)
    s, here = app.kiosk.session, screen(app)
    assert s.reason == reason, s.reason
    assert (here.what_msgid, here.next_msgid) == REASONS[reason]
    ref = here.reference
    assert REFERENCE.fullmatch(ref) and ref == s.reference, ref
    shown = here.ids.reference
    assert ref in shown.text and shown.opacity > 0 and shown.get_root_window() is not None
    x, y = shown.to_window(*shown.center)
    assert 0 <= x <= Window.width and 0 <= y <= Window.height, "the reference is inside the window"
    rows = world.store.journal_visit(ref)
    assert rows, f"{ref} is not in the journal"
    assert rows[-1][3].get("ref") == ref and rows[-1][3].get("reason") == reason.value, rows[-1]
    shoot(app, f"14-refused-{reason.value}", walk=walk)
    return ref


def officer_waits(app: KioskApp) -> None:
    """'An officer has been called': the resident is asked to wait, and there is no OK to walk away with."""
    here = screen(app)
    wait_words = tr(app.lang, "Please wait here.")
    shown = [w for w in here.walk() if isinstance(w, Label) and w.text == wait_words and w.opacity > 0]
    ok = here.ids.finish
    if not (here.officer_called and ok.disabled and ok.opacity == 0 and shown):
        raise OfficerNotWaiting(
            f"{app.kiosk.session.reason}: officer_called={here.officer_called}, OK disabled={ok.disabled} "
            f"opacity={ok.opacity}, '{wait_words}' shown={bool(shown)}"
        )


def refused_and_left(app: KioskApp, world: World, clock: SimClock, reason: Reason, walk: str = WALK) -> str:
    """Photograph the refusal, check what it asks of the resident, and end the visit as the screen allows."""
    try:
        ref = shoot_refusal(app, world, reason, walk)
        if reason in OFFICER_CALLED:
            officer_waits(app)
        else:
            assert not screen(app).officer_called
        return ref
    finally:
        world.camera.show(Nothing())
        world.reader.remove()
        if app.kiosk.session.step == Step.REFUSED:
            leave(app, clock)
        wait_for(app, Step.IDLE)


# -- each card status on the status screen -------------------------------------------------------------


@pytest.mark.parametrize(
    "status",
    [
        CardStatus.READY_ELSEWHERE,
        CardStatus.VERIFICATION,
        CardStatus.PRINTING,
        CardStatus.WAITING_BLANKO,
    ],
    ids=lambda s: s.value,
)
def test_status_screen_for_each_card_status(ui, status):
    app, world, clock = ui
    r = resident(world, status.value)
    visit(app, world, clock, r)
    assert r.old_chip_uid
    world.reader.insert(r.old_chip_uid)
    shoot_status(app, status)
    if status == CardStatus.READY_ELSEWHERE:
        office = app.kiosk.session.lookup.office_name if app.kiosk.session.lookup else None
        assert office and office in "".join(w.text for w in screen(app).walk() if isinstance(w, Label))
    world.reader.remove()
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


def test_collected_card_shows_its_status_on_the_next_visit(ui):
    """A resident collects their card (the whole pickup); once the kiosk has told the gateway, the same
    resident with a new ticket is told the card was already collected."""
    app, world, clock = ui
    r = resident(world, "ready_here", in_vault=True)
    face_to_slot(app, world, clock, r)
    assert world.vault.take()
    wait_for(app, Step.TAP_NEW)
    assert r.new_chip_uid
    world.reader.insert(r.new_chip_uid)
    wait_for(app, Step.HANDED_OVER)
    world.reader.remove()
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)
    world.sync.drain_once()  # the outbox tells the gateway of the handover
    assert world.store.card_for_nik(r.nik) is None

    hold_up(app, world, ticket(world, clock, r, service=Service.STATUS))
    world.reader.insert(r.old_chip_uid or "")
    shoot_status(app, CardStatus.COLLECTED, walk="pi-touch-7")
    world.reader.remove()
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


# -- refusals of the ticket ----------------------------------------------------------------------------


def foreign_key_ticket(world: World, clock: SimClock, r: Resident) -> str:
    """A ticket of another queue system: signed, but with a key number this kiosk does not trust."""
    now = int(clock())
    return issue_ticket(
        Ed25519PrivateKey.generate(), 77, secrets.token_bytes(8), Service.STATUS, KIOSK_OFFICE, r.nik, now, now + 3600
    )


TICKETS: dict[Reason, Callable[[World, SimClock, Resident], str]] = {
    Reason.TICKET_MALFORMED: lambda w, c, r: "hello",  # a QR code that is not a queue ticket
    Reason.TICKET_UNKNOWN_KEY: foreign_key_ticket,
    Reason.TICKET_FORGED: lambda w, c, r: ticket(w, c, r, key=Ed25519PrivateKey.generate()),
    Reason.TICKET_EXPIRED: lambda w, c, r: ticket(w, c, r, now=c() - 8 * 3600, valid_s=3600),
    # valid from a minute before an hour from now: well beyond the 15 minutes a slow kiosk clock is allowed
    Reason.TICKET_NOT_YET_VALID: lambda w, c, r: ticket(w, c, r, now=c() + 3600),
    Reason.TICKET_WRONG_OFFICE: lambda w, c, r: ticket(w, c, r, office="KEC-01"),
}


@pytest.mark.parametrize(
    "reason",
    [r for r in TICKETS],
    ids=lambda r: r.value,
)
def test_ticket_refusals(ui, reason):
    app, world, clock = ui
    use_size("15.6-1366x768")
    r = resident(world, "printing")
    hold_up(app, world, TICKETS[reason](world, clock, r), Step.REFUSED)
    refused_and_left(app, world, clock, reason, walk="15.6-1366x768")


def test_a_ticket_used_once_is_refused_the_next_visit(ui):
    app, world, clock = ui
    r = resident(world, "verification")
    text = ticket(world, clock, r)
    hold_up(app, world, text)
    touch(app.root.ids.cancel)  # the resident changes their mind and leaves
    wait_for(app, Step.IDLE)
    clock.advance(60)  # comes back later with the same ticket
    hold_up(app, world, text, Step.REFUSED)
    refused_and_left(app, world, clock, Reason.TICKET_USED)


def test_a_ticket_spent_at_another_kiosk_is_refused_here(ui):
    app, world, clock = ui
    r = resident(world, "verification")
    text = ticket(world, clock, r)
    spent = world.kiosk.intake.verify(text, clock())
    assert isinstance(spent, Ticket)
    world.gateway.add_kiosk("KIOSK-UI-2", KIOSK_OFFICE, "key-ui-2")
    world.gateway.gateway.residents.consume_ticket("KIOSK-UI-2", spent.ticket_id)  # a calo was there first
    hold_up(app, world, text, Step.REFUSED)
    refused_and_left(app, world, clock, Reason.TICKET_USED_ELSEWHERE)


# -- refusals of the card and the record -----------------------------------------------------------------


def test_someone_elses_old_card_on_this_ticket_is_refused(ui):
    app, world, clock = ui
    use_size("pi-touch-7")
    r = resident(world, "printing")
    other = resident(world, "verification")
    visit(app, world, clock, r)
    assert other.old_chip_uid
    world.reader.insert(other.old_chip_uid)
    refused_and_left(app, world, clock, Reason.NIK_MISMATCH, walk="pi-touch-7")


def test_an_unknown_card_is_refused(ui):
    app, world, clock = ui
    visit(app, world, clock, resident(world, "waiting_blanko"))
    world.reader.insert(UNKNOWN_CARD)
    refused_and_left(app, world, clock, Reason.CARD_UNKNOWN)


def test_a_resident_the_gateway_does_not_know_is_refused(ui):
    app, world, clock = ui
    nobody = stranger(world)
    visit(app, world, clock, nobody)
    type_nik(app, nobody.nik)
    refused_and_left(app, world, clock, Reason.NOT_FOUND)


def test_a_status_lookup_with_the_link_down_and_nothing_known_is_refused(ui):
    app, world, clock = ui
    r = resident(world, "waiting_blanko", chip=False, uncached=True)
    visit(app, world, clock, r)
    world.gateway.faults.down = True
    try:
        type_nik(app, r.nik)
        refused_and_left(app, world, clock, Reason.SERVICE_UNAVAILABLE)
    finally:
        world.gateway.faults.down = False
    world.sync.drain_once()  # the link is back: the outbox empties


# -- refusals on the way to the card ---------------------------------------------------------------------


def test_a_face_that_is_not_the_card_holders_is_refused(ui):
    app, world, clock = ui
    r = resident(world, "ready_here", in_vault=True)
    visit(app, world, clock, r)
    world.camera.show(Face("stranger"))  # someone else collects the card (a calo)
    assert r.old_chip_uid
    world.reader.insert(r.old_chip_uid)
    wait_for(app, Step.FACE)
    attempts = app.kiosk.cfg.flow.max_face_attempts
    for n in range(1, attempts):
        wait_until(app, partial(lambda k: app.kiosk.session.face_attempts == k, n), f"face check {n}")
        assert app.kiosk.session.notice == Reason.FACE_RETRY
        touch(screen(app).ids.retry)
    wait_for(app, Step.REFUSED)
    assert app.kiosk.session.face_attempts == attempts
    assert world.store.card_for_nik(r.nik) is not None, "the card stays in the vault"
    refused_and_left(app, world, clock, Reason.FACE_MISMATCH)


def test_a_card_nobody_takes_is_locked_away_and_refused(ui):
    app, world, clock = ui
    r = resident(world, "ready_here", in_vault=True)
    with short_release(world):
        slot = face_to_slot(app, world, clock, r)
        wait_for(app, Step.REFUSED, timeout=SHORT_RELEASE_S + 10)  # the slot opened and nobody took the card
    assert world.vault.present[slot] and world.store.card_for_nik(r.nik) is not None
    refused_and_left(app, world, clock, Reason.CARD_NOT_TAKEN, walk=WALK)


def test_a_jammed_slot_is_a_vault_fault(ui):
    app, world, clock = ui
    use_size("21.5-1080x1920")
    r = resident(world, "ready_here", in_vault=True)
    card = world.store.card_for_nik(r.nik)
    assert card is not None
    choose_resident_on_panel(app, r)
    app.panel_for_tests.jam_next()  # this resident's slot sticks: the card moves and falls back
    try:
        with short_release(world):
            face_to_slot(app, world, clock, r)
            dev(app, "take_card")
            wait_for(app, Step.REFUSED, timeout=SHORT_RELEASE_S + 10)
        assert f"slot:{card.slot}" in world.store.alarms(), "the slot is out of service until staff look"
        refused_and_left(app, world, clock, Reason.VAULT_FAULT, walk="21.5-1080x1920")
    finally:
        # a technician frees the slot, and staff clear its alarm in operator mode
        world.vault.jammed.discard(card.slot)
        wait_for(app, Step.IDLE)
        use_size(WALK)
        sign_in(app, world)
        touch(screen(app).ids.clear_alarms)
        wait_note(app, "Alarms cleared: {n}.")
        touch(screen(app).ids.finish)
        wait_for(app, Step.IDLE)
    assert world.store.alarms() == {}


def test_tapping_another_card_than_the_new_one_is_refused(ui):
    app, world, clock = ui
    use_size("pi-touch-2-7")
    r = resident(world, "ready_here", in_vault=True)
    face_to_slot(app, world, clock, r)
    dev(app, "take_card")
    wait_for(app, Step.TAP_NEW)
    taps = app.kiosk.cfg.flow.max_wrong_taps
    for n in range(1, taps):
        world.reader.insert(UNKNOWN_CARD)
        wait_until(app, partial(lambda k: app.kiosk.session.wrong_taps == k, n), f"wrong tap {n}")
        assert app.kiosk.session.notice == Reason.WRONG_NEW_CARD and app.kiosk.session.step == Step.TAP_NEW
        world.reader.remove()
    world.reader.insert(UNKNOWN_CARD)
    wait_for(app, Step.REFUSED)
    refused_and_left(app, world, clock, Reason.WRONG_NEW_CARD, walk="pi-touch-2-7")


# -- refusals of a booking and of a staff card ---------------------------------------------------------


def test_a_booking_the_gateway_refuses_is_refused(ui):
    """The gateway turns the booking down (the kiosk's key was withdrawn there between the slots and the
    booking): a refusal, not an offline booking, since the link itself is up."""
    app, world, clock = ui
    r = resident(world, "never_recorded")
    visit(app, world, clock, r)
    assert r.old_chip_uid
    world.reader.insert(r.old_chip_uid)
    wait_for(app, Step.CHOOSE_OFFICE)
    world.reader.remove()
    offices = len(app.kiosk.session.offices)
    for n in range(offices):
        touch(list(reversed(screen(app).ids.grid.children))[n])
        wait_until(
            app,
            lambda: (
                app.kiosk.session.step == Step.CHOOSE_DAY
                or (app.kiosk.session.step == Step.CHOOSE_OFFICE and app.kiosk.session.notice == Reason.NO_SLOTS)
            ),
            "the office's days",
        )
        if app.kiosk.session.step == Step.CHOOSE_DAY:
            break
    wait_for(app, Step.CHOOSE_DAY)
    touch(next(reversed(screen(app).ids.grid.children)))
    wait_for(app, Step.CHOOSE_TIME)
    touch(next(reversed(screen(app).ids.grid.children)))
    wait_for(app, Step.CONFIRM_BOOKING)
    world.gateway.add_kiosk(world.cfg.kiosk_id, KIOSK_OFFICE, "withdrawn-" + secrets.token_hex(4))
    try:
        touch(screen(app).ids.confirm)
        wait_for(app, Step.REFUSED)
    finally:
        world.gateway.add_kiosk(world.cfg.kiosk_id, KIOSK_OFFICE, world.gateway.api_key)
    assert app.kiosk.session.booking is None
    refused_and_left(app, world, clock, Reason.BOOKING_FAILED)


def test_a_staff_card_is_locked_after_too_many_wrong_pins(ui):
    app, world, clock = ui
    use_size("hdmi-7-1024x600")
    dev(app, "staff_card")
    wait_for(app, Step.OPERATOR_PIN)
    world.reader.remove()
    for failures in range(MAX_FAILURES - 1):
        enter_pin(app, "1111")
        wait_until(app, lambda: app.kiosk.session.notice == Reason.PIN_WRONG, "wrong PIN")
        clock.advance(pause_after(failures + 1) + 1)  # the pause after a wrong PIN
    enter_pin(app, "1111")
    wait_for(app, Step.REFUSED)
    refused_and_left(app, world, clock, Reason.OPERATOR_LOCKED, walk="hdmi-7-1024x600")

    # the lockout passes: the right PIN opens operator mode again (and forgets the wrong ones)
    clock.advance(lockout_for(1) + 1)
    sign_in(app, world)
    touch(screen(app).ids.finish)
    wait_for(app, Step.IDLE)


# -- nothing left out ------------------------------------------------------------------------------------


def test_every_status_and_every_refusal_was_photographed_at_every_size_in_both_languages():
    assert set(STATUS_SCREEN) == STATUS_STEPS, "the statuses the status screen shows"
    assert set(Reason) == REFUSALS | NOTICES_ONLY and not REFUSALS & NOTICES_ONLY, "every reason is placed"
    every = {f"{size}/{lang}" for size in SIZES for lang in ("id", "en")}
    names = [f"13-status-{s.value}" for s in STATUS_SCREEN] + [f"14-refused-{r.value}" for r in sorted(REFUSALS)]
    missing = {name: sorted(every - SEEN.get(name, set())) for name in names if SEEN.get(name) != every}
    assert not missing, missing
