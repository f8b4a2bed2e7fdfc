"""Base45 against RFC 9285's own examples, its edge values and its error cases."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.identity.base45 import ALPHABET, Base45Error, b45decode, b45encode

# RFC 9285, sections 4.3 and 4.4
RFC_EXAMPLES = [
    (b"AB", "BB8"),
    (b"Hello!!", "%69 VD92EX0"),
    (b"base-45", "UJCLQE7W581"),
    (b"ietf!", "QED8WEX0"),
]


@pytest.mark.parametrize(("data", "text"), RFC_EXAMPLES)
def test_rfc_examples_encode_and_decode(data, text):
    assert b45encode(data) == text
    assert b45decode(text) == data


def test_alphabet_is_the_qr_alphanumeric_set_in_rfc_order():
    assert len(ALPHABET) == 45
    assert ALPHABET == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"", ""),
        (b"\x00", "00"),
        (b"\xff", "U5"),  # 255 = 30 + 5 * 45: the largest pair
        (b"\x00\x00", "000"),
        (b"\xff\xff", "FGW"),  # 65535 = 15 + 16 * 45 + 32 * 45 * 45: the largest triple
        (b"\x01\x00\x01", "V50" + "10"),  # 256 = 31 + 5 * 45, then a lone byte 1
    ],
)
def test_edge_values(data, text):
    assert b45encode(data) == text
    assert b45decode(text) == data


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("GGW", "base45 triple out of range"),  # 65536
        (":::", "base45 triple out of range"),
        ("V5", "base45 pair out of range"),  # 256
        ("::", "base45 pair out of range"),
        ("A", "invalid base45 length"),
        ("BB8A", "invalid base45 length"),
        ("a1", "invalid base45 character"),  # lower case is not in the alphabet
        ("BB8=", "invalid base45 character"),
    ],
)
def test_bad_text_is_refused_with_its_reason(text, message):
    with pytest.raises(Base45Error, match=f"^{message}"):  # anchored: the message is the reason
        b45decode(text)


def test_the_error_is_a_value_error():
    assert issubclass(Base45Error, ValueError)


@given(st.binary(max_size=200))
def test_round_trip_and_length(data):
    text = b45encode(data)
    assert b45decode(text) == data
    assert len(text) == 3 * (len(data) // 2) + 2 * (len(data) % 2)
    assert set(text) <= set(ALPHABET)
