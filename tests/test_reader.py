"""The CardReader port: one contract suite against the simulator and the pyscard adapter over a real
pcscd + vpcd + the project's own virtual card; then what only real PC/SC can get wrong."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from kiosk.hardware.atr import AtrDatabase, is_ektp
from kiosk.hardware.pcsc import PcscCardReader
from kiosk.hardware.reader import CardEvent, CardFailed, CardGone, CardPresented, SimCardReader
from kiosk.hardware.virtual_card import VirtualCard
from kiosk.health import Health, State
from tests.conftest import shared_file
from tests.pcsc_rig import READER, Pcscd, expect, pcscd_fixture, quiet, wait_reader_empty

EKTP_ATR = bytes.fromhex("3B8C800150EA5A3F1930AAAA017781D7DB")  # from the public list: an Indonesian e-KTP
MIFARE_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
UNKNOWN_ATR = bytes.fromhex("3B8A800100112233445566778899FF")


@pytest.fixture(scope="module")
def atr_db() -> AtrDatabase:
    return AtrDatabase.load(shared_file("pcsc-tools", "smartcard_list.txt"))


@pytest.fixture(scope="module")
def pcscd() -> Iterator[Pcscd]:
    daemon = pcscd_fixture()
    yield daemon
    daemon.stop()


@dataclass
class Rig:
    """A reader under test and a way to put cards on it."""

    reader: SimCardReader | PcscCardReader
    events: queue.Queue[CardEvent] = field(default_factory=queue.Queue)
    cards: list[VirtualCard] = field(default_factory=list)

    def insert(self, atr: bytes, uid: bytes, behaviour: str = "normal") -> None:
        if isinstance(self.reader, SimCardReader):
            self.reader.insert(uid.hex(), atr.hex())
        else:
            wait_reader_empty()
            card = VirtualCard(atr, uid, behaviour)
            card.insert()
            self.cards.append(card)

    def remove(self) -> None:
        if isinstance(self.reader, SimCardReader):
            self.reader.remove()
        else:
            for card in self.cards:
                card.remove()
            self.cards.clear()
            wait_reader_empty()


def running(reader: SimCardReader | PcscCardReader) -> Iterator[Rig]:
    """Start a reader, wait until it is connected, and clean up its cards after the test."""
    r = Rig(reader)
    reader.subscribe(r.events.put)
    reader.start()
    end = time.monotonic() + 5
    while not reader.connected and time.monotonic() < end:
        time.sleep(0.05)
    yield r
    r.remove()
    reader.stop()


@pytest.fixture(params=["sim", "pcsc"])
def rig(request, atr_db) -> Iterator[Rig]:
    if request.param == "sim":
        reader: SimCardReader | PcscCardReader = SimCardReader()
    else:
        request.getfixturevalue("pcscd")
        reader = PcscCardReader(READER, atr_db=atr_db, read_timeout_s=1.0)
    yield from running(reader)


# -- the contract: both adapters ---------------------------------------------------------------


def test_reader_is_connected_after_start(rig):
    assert rig.reader.connected


def test_inserted_card_reports_uid_and_atr(rig):
    rig.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"))
    event = expect(rig.events, CardPresented)
    assert event.uid == "04A1B2C3D4E5F6" and event.atr == MIFARE_ATR.hex().upper()


def test_removed_card_is_reported_once(rig):
    rig.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"))
    expect(rig.events, CardPresented)
    rig.remove()
    expect(rig.events, CardGone)
    quiet(rig.events)


def test_reinserted_card_is_reported_again(rig):
    for _ in range(3):
        rig.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"))
        expect(rig.events, CardPresented)
        rig.remove()
        expect(rig.events, CardGone)


def test_two_cards_one_after_the_other(rig):
    rig.insert(EKTP_ATR, bytes.fromhex("04111111111111"))
    first = expect(rig.events, CardPresented)
    rig.remove()
    expect(rig.events, CardGone)
    rig.insert(MIFARE_ATR, bytes.fromhex("A1B2C3D4"))
    second = expect(rig.events, CardPresented)
    assert (first.uid, second.uid) == ("04111111111111", "A1B2C3D4")


# -- what only the real stack can get wrong ---------------------------------------------------


@pytest.fixture
def real(pcscd, atr_db) -> Iterator[Rig]:
    yield from running(PcscCardReader(READER, atr_db=atr_db, health=Health(), read_timeout_s=1.0))


def test_ektp_is_identified_from_the_public_atr_list(real):
    real.insert(EKTP_ATR, bytes.fromhex("04111111111111"))
    event = expect(real.events, CardPresented)
    assert is_ektp([event.description]) and event.profile == "baseline-uid" and event.nik is None


def test_unknown_atr_is_still_read_by_the_baseline_profile(real):
    real.insert(UNKNOWN_ATR, bytes.fromhex("04222222222222"))
    event = expect(real.events, CardPresented)
    assert event.description == "" and event.uid == "04222222222222"


@pytest.mark.parametrize(
    ("behaviour", "reason"),
    [("garbage", "no status word"), ("short", "UID of 2 bytes"), ("error", "status 6A81")],
)
def test_card_answering_nonsense_is_a_clean_failure(real, behaviour, reason):
    real.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"), behaviour)
    event = expect(real.events, CardFailed)
    assert reason in event.reason
    assert real.reader.health.errors_last_hour("reader") == 1
    real.remove()
    expect(real.events, CardGone)


def test_card_that_never_answers_times_out_and_the_reader_recovers(real):
    started = time.monotonic()
    real.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"), "silent")
    event = expect(real.events, CardFailed, timeout=5)
    assert "did not answer" in event.reason and time.monotonic() - started < 4
    real.remove()
    expect(real.events, CardGone, timeout=10)
    real.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"))
    assert expect(real.events, CardPresented, timeout=10).uid == "04A1B2C3D4E5F6"


def test_card_pulled_away_mid_apdu_is_a_clean_removal(real):
    real.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"), "vanish")
    expect(real.events, CardGone)
    quiet(real.events)
    real.cards.clear()
    real.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"))
    expect(real.events, CardPresented)


def test_pcscd_restart_is_survived_and_reported(real, pcscd):
    health = real.reader.health
    assert health.status("reader").state == State.OK
    real.insert(MIFARE_ATR, bytes.fromhex("04A1B2C3D4E5F6"))
    expect(real.events, CardPresented)
    pcscd.stop()
    real.cards.clear()  # vpcd went with pcscd: the card's connection is gone
    expect(real.events, CardGone)
    end = time.monotonic() + 5
    while health.status("reader").state == State.OK and time.monotonic() < end:
        time.sleep(0.05)
    assert health.status("reader").state == State.FAILED and not real.reader.connected
    pcscd.start()
    end = time.monotonic() + 10
    while not real.reader.connected and time.monotonic() < end:
        time.sleep(0.05)
    assert real.reader.connected and health.status("reader").state == State.OK
    real.insert(MIFARE_ATR, bytes.fromhex("04CAFECAFECAFE"))
    assert expect(real.events, CardPresented, timeout=10).uid == "04CAFECAFECAFE"


def test_missing_reader_is_a_health_state(pcscd):
    health = Health()
    reader = PcscCardReader("No Such Reader", health=health)
    reader.start()
    time.sleep(0.5)
    status = health.status("reader")
    reader.stop()
    assert status is not None and status.state == State.FAILED and "no card reader" in status.reason


# -- the pickup journey on the real adapter ---------------------------------------------------


def test_pickup_journey_runs_on_the_real_reader(pcscd, atr_db, tmp_path, clock):
    from kiosk.flow.model import Step
    from kiosk.hardware.camera import Face, HeldTicket, Nothing
    from kiosk.identity.ticket import Service
    from kiosk.runner.effects import InlineExecutor
    from kiosk.sim.world import build_world

    reader = PcscCardReader(READER, atr_db=atr_db)
    world = build_world(tmp_path, seed=3, clock=clock, executor=InlineExecutor(), auto_take=True, reader=reader)
    try:
        resident = world.residents("ready_here")[0]
        assert world.binder is not None
        world.binder.selected = resident  # as the demo panel does
        end = time.monotonic() + 5
        while not reader.connected and time.monotonic() < end:
            time.sleep(0.05)

        def settle(step: Step) -> None:
            end = time.monotonic() + 10
            while world.kiosk.pump().step != step and time.monotonic() < end:
                time.sleep(0.05)
            assert world.kiosk.session.step == step

        world.camera.show(HeldTicket(world.gateway.issue_ticket(resident, Service.PICKUP, now=clock())))
        world.kiosk.scan_frame()
        world.camera.show(Face(resident.person))
        settle(Step.CARD)
        card = VirtualCard(EKTP_ATR, bytes.fromhex("04C0FFEE000001"))  # a physical card the kiosk never saw
        card.insert()
        settle(Step.TAP_NEW)  # learned as the resident's old KTP, resolved, face matched, released
        card.remove()
        wait_reader_empty()
        card.insert()  # the same card, tapped as the new one
        settle(Step.HANDED_OVER)
        card.remove()
        world.camera.show(Nothing())
        assert world.store.card_for_nik(resident.nik) is None
    finally:
        world.close()
