import secrets
import struct
from typing import Any

import pytest
import qrcode
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from kiosk.hardware.camera import HeldTicket, SimCamera
from kiosk.identity.base45 import Base45Error, b45decode, b45encode
from kiosk.identity.qr import decode_qr
from kiosk.identity.ticket import (
    CLOCK_SKEW_S,
    EARLY_S,
    PREFIX,
    SIGNATURE_LEN,
    VERSION,
    Service,
    Ticket,
    TicketReason,
    TicketRefusal,
    issue_ticket,
    nik_digest,
    public_key_from_hex,
    verify_ticket,
)

KEY = Ed25519PrivateKey.generate()
KEYS = {7: KEY.public_key()}
NIK = "5371046508900001"
NOW = 1_790_000_000
OFFICE = "DKP-KUPANG"
HEAD = struct.Struct(">B8sBIIH")  # docs/ticket-format.md: version, ticket id, service, not before/after, key id


def reason(text: str, office: str = OFFICE, now: float = NOW) -> TicketReason | None:
    """The refusal's reason, or None for a ticket that verifies."""
    result = verify_ticket(text, KEYS, office, now)
    return result.reason if isinstance(result, TicketRefusal) else None


def office_of(text: str, office: str) -> str:
    result = verify_ticket(text, KEYS, office, NOW)
    assert isinstance(result, Ticket), result
    return result.office


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
        ({"office": "DKP-KUPANG-2"}, NOW, OFFICE, TicketReason.WRONG_OFFICE),  # a longer code with our prefix
        ({"office": "DKP-KUPAN"}, NOW, OFFICE, TicketReason.WRONG_OFFICE),  # a prefix of ours
        ({"office": "dkp-kupang"}, NOW, OFFICE, TicketReason.WRONG_OFFICE),  # codes are case-sensitive
    ],
)
def test_bad_tickets_are_refused_with_their_own_reason(text_kw, now, office, reason):
    tid = secrets.token_bytes(8)
    result = verify_ticket(make(ticket_id=tid, **text_kw), KEYS, office, now)
    assert result == TicketRefusal(reason, tid.hex())  # the refusal names the ticket (journaled)


def test_clock_skew_of_two_minutes_is_tolerated():
    assert isinstance(verify_ticket(make(), KEYS, OFFICE, NOW + 3600 + 119), Ticket)


def test_validity_window_edges_are_inclusive():
    text = make()  # valid from NOW - 60 to NOW + 3600
    assert CLOCK_SKEW_S == 120 and EARLY_S == 15 * 60  # docs/ticket-format.md
    assert isinstance(verify_ticket(text, KEYS, OFFICE, NOW + 3600 + 120), Ticket)
    assert isinstance(verify_ticket(text, KEYS, OFFICE, NOW - 60 - 15 * 60), Ticket)
    assert reason(text, now=NOW + 3600 + 120.5) == TicketReason.EXPIRED
    assert reason(text, now=NOW - 60 - 15 * 60 - 0.5) == TicketReason.NOT_YET_VALID


def test_office_check_is_exact_and_comes_after_the_window():
    """Only this office's tickets are honoured; an expired ticket of another office says expired."""
    other = make(office="KEC-ALAK")
    assert office_of(other, "KEC-ALAK") == "KEC-ALAK"
    assert reason(other) == TicketReason.WRONG_OFFICE
    assert reason(other, now=NOW + 3600 + 121) == TicketReason.EXPIRED


def test_nik_digest_is_the_documented_scrypt():
    """docs/ticket-format.md: scrypt(NIK, salt "loket-ticket/" + ticket ID, N=2^12, r=8, p=1), 16 bytes.

    The queue system computes the same: a known answer pins salt and parameters.
    """
    digest = nik_digest(NIK, bytes.fromhex("0011223344556677"))
    assert digest.hex() == "118997f373437859eef6c6ce204ffc2d"


@pytest.mark.parametrize("office", ["K", "KEC-ALAK-SELATAN"])  # 1 and 16 bytes
def test_office_codes_of_one_to_sixteen_bytes_are_issued(office):
    assert office_of(make(office=office), office) == office


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"office": ""}, "office code must be 1-16 bytes"),
        ({"office": "KEC-ALAK-SELATAN1"}, "office code must be 1-16 bytes"),  # 17 bytes
        ({"ticket_id": b"1234567"}, "ticket_id must be 8 bytes"),
    ],
)
def test_issuing_refuses_bad_fields(kw, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        make(**kw)


def _signed(body: bytes) -> str:
    return PREFIX + b45encode(body + KEY.sign(body))


def test_a_signed_ticket_of_another_version_is_malformed():
    raw = b45decode(make()[len(PREFIX) :])
    body = bytes([2]) + raw[1 : len(raw) - SIGNATURE_LEN]  # version 2, length right, signed by a trusted key
    assert verify_ticket(_signed(body), KEYS, OFFICE, NOW) == TicketRefusal(TicketReason.MALFORMED)


def test_a_signed_ticket_of_the_shortest_length_is_decoded():
    """No office code (0 bytes): the shortest body the format allows; decoded, then refused for its office."""
    tid = bytes(8)
    body = HEAD.pack(VERSION, tid, int(Service.PICKUP), NOW - 60, NOW + 60, 7) + bytes([0]) + nik_digest(NIK, tid)
    assert verify_ticket(_signed(body), KEYS, OFFICE, NOW) == TicketRefusal(TicketReason.WRONG_OFFICE, tid.hex())
    ticket = verify_ticket(_signed(body), KEYS, "", NOW)
    assert isinstance(ticket, Ticket) and ticket.office == "" and ticket.matches_nik(NIK)


def test_public_key_is_read_from_hex():
    raw = KEY.public_key().public_bytes_raw()
    key = public_key_from_hex(raw.hex())
    assert key.public_bytes_raw() == raw
    assert isinstance(verify_ticket(make(), {7: key}, OFFICE, NOW), Ticket)


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
