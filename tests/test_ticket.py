import secrets
from typing import Any

import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kiosk.hardware.camera import HeldTicket, SimCamera
from kiosk.identity.base45 import Base45Error, b45decode, b45encode
from kiosk.identity.qr import decode_qr
from kiosk.identity.ticket import PREFIX, Service, Ticket, TicketReason, TicketRefusal, issue_ticket, verify_ticket

KEY = Ed25519PrivateKey.generate()
KEYS = {7: KEY.public_key()}
NIK = "5371046508900001"
NOW = 1_790_000_000
OFFICE = "DKP-KUPANG"


def make(**kw: Any) -> str:
    args: dict[str, Any] = dict(
        key=KEY,
        key_id=7,
        ticket_id=secrets.token_bytes(8),
        service=Service.PICKUP,
        office=OFFICE,
        nik=NIK,
        not_before=NOW - 60,
        not_after=NOW + 3600,
    )
    args.update(kw)
    return issue_ticket(**args)


def test_genuine_ticket_verifies_and_matches_only_its_nik():
    t = verify_ticket(make(), KEYS, OFFICE, NOW)
    assert isinstance(t, Ticket)
    assert t.service == Service.PICKUP and t.office == OFFICE
    assert t.matches_nik(NIK)
    assert not t.matches_nik("5371046508900002")


def test_ticket_never_carries_the_nik():
    text = make()
    raw = b45decode(text[len(PREFIX) :])
    assert NIK.encode() not in raw and NIK not in text


def test_ticket_fits_a_small_qr_code():
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(make(office="KEC-ALAK-SELATAN"))
    qr.make(fit=True)
    assert qr.version <= 10


@pytest.mark.parametrize(
    ("text_kw", "now", "office", "reason"),
    [
        ({"key": Ed25519PrivateKey.generate()}, NOW, OFFICE, TicketReason.FORGED),
        ({"key_id": 9}, NOW, OFFICE, TicketReason.UNKNOWN_KEY),
        ({}, NOW + 3600 + 121, OFFICE, TicketReason.EXPIRED),
        ({}, NOW - 60 - 15 * 60 - 1, OFFICE, TicketReason.NOT_YET_VALID),  # a kiosk clock far behind
        ({}, NOW, "KEC-01", TicketReason.WRONG_OFFICE),
    ],
)
def test_bad_tickets_are_refused_with_their_own_reason(text_kw, now, office, reason):
    result = verify_ticket(make(**text_kw), KEYS, office, now)
    assert isinstance(result, TicketRefusal) and result.reason == reason


def test_clock_skew_of_two_minutes_is_tolerated():
    assert isinstance(verify_ticket(make(), KEYS, OFFICE, NOW + 3600 + 119), Ticket)


def test_replayed_ticket_is_refused():
    text = make()
    t = verify_ticket(text, KEYS, OFFICE, NOW)
    assert isinstance(t, Ticket)
    used = {t.ticket_id}
    assert verify_ticket(text, KEYS, OFFICE, NOW, used.__contains__) == TicketRefusal(TicketReason.USED, t.ticket_id)


def test_a_flipped_bit_anywhere_is_caught():
    text = make()
    raw = bytearray(b45decode(text[len(PREFIX) :]))
    for i in range(len(raw)):
        changed = bytearray(raw)
        changed[i] ^= 0x01
        result = verify_ticket(PREFIX + b45encode(bytes(changed)), KEYS, OFFICE, NOW)
        assert isinstance(result, TicketRefusal), f"byte {i}"
        assert result.reason in (TicketReason.FORGED, TicketReason.MALFORMED, TicketReason.UNKNOWN_KEY)


@pytest.mark.parametrize(
    "text", ["", "hello", "LM1:", "LM1:!!!", "LM1:AB", PREFIX + "0" * 300, "https://antrian.example/1"]
)
def test_garbage_is_malformed(text):
    assert verify_ticket(text, KEYS, OFFICE, NOW) == TicketRefusal(TicketReason.MALFORMED)


@given(st.binary(max_size=200))
def test_base45_round_trips(data):
    assert b45decode(b45encode(data)) == data


def test_base45_rejects_bad_text():
    for bad in ("A", "GGW", "a1"):
        with pytest.raises(Base45Error):
            b45decode(bad)


def test_ticket_is_decoded_from_a_rendered_camera_frame():
    text = make()
    cam = SimCamera()
    cam.show(HeldTicket(text))
    frame = cam.read()
    assert frame is not None
    assert decode_qr(frame) == [text]
