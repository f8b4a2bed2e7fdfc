"""The pure edges of `kiosk bench fuzz`: queue-ticket QR payloads, NIK text, base45 and card answers (APDU
responses and ATRs). Each target mutates real valid inputs (tickets signed with a key made from the seed,
NIKs of real districts, UIDs with 90 00, ATRs of the public list) and adds random ones; kiosk.bench.
fuzz_harness feeds them and counts crashes and hangs.

Declared answers, from the edges themselves:
- ticket: `verify_ticket` gives a Ticket or a TicketRefusal and raises nothing; the live QR scanner
  (`QrScanner.scan`) gives a list of str. One input in QR_EVERY is a real QR frame (the payload's
  bytes, UTF-8 or not) decoded by zxing and then verified.
- nik: `parse_nik` gives a Nik or a NikRefusal; the printed-NIK reader's text step (`ocr_nik._digits`,
  tesseract's text to a candidate) gives str or None; `mask_nik` gives str. A Nik must hold 16 ASCII digits.
- base45: `b45decode` gives bytes or raises Base45Error; what it accepts must encode back to the same text.
- apdu: `BaselineUidProfile.read` (with `status_word`) gives CardData or raises CardReadError; the ATR
  lookup (`AtrDatabase.identify`, `is_ektp`, `choose_profile`) gives descriptions, a bool and a profile.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bench.fuzz_harness import Edge, WrongAnswer, expect
from kiosk.hardware.atr import DEFAULT_ATR_LIST, AtrDatabase, format_atr, is_ektp
from kiosk.hardware.profiles import BaselineUidProfile, CardData, CardProfile, CardReadError, choose_profile
from kiosk.identity.base45 import ALPHABET, Base45Error, b45decode, b45encode
from kiosk.identity.nik import Nik, NikRefusal, make_nik, mask_nik, parse_nik
from kiosk.identity.regions import load_regions
from kiosk.identity.ticket import _HEAD, PREFIX, Service, Ticket, TicketRefusal, issue_ticket, verify_ticket

# Characters that have broken parsers before: NUL, line ends, other scripts' digits and spaces, bidi and
# zero-width marks, a lone surrogate (a str can hold one; UTF-8 cannot), emoji, quotes and escapes.
ODD = ["\x00", "\n", "\r\n", "\t", " ", "\x7f", "\x85", "\u00a0", "\u2003", "\u200b", "\u202e", "\ufeff", "\u00e9",
       "\u0663", "\u06f4", "\u0966", "\uff10", "\uff19", "\u00b2", "\ud800", "\udfff", "\U0001f4b3", "\\", '"', "'",
       "%", "+", "-", "_", ".", "\u16dd"]  # fmt: skip
DIGITS = "0123456789"


# -- mutations shared by the targets ------------------------------------------------------------------


def mutate_text(rng: random.Random, text: str, alphabet: str) -> str:
    """`text` changed in one to three places: characters of its own alphabet or odd ones, cut, doubled."""
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        at = rng.randrange(len(text) + 1)
        how = rng.randrange(9)
        if how == 0:
            text = text[:at] + rng.choice(alphabet) + text[at + 1 :]
        elif how == 1:
            text = text[:at] + rng.choice(ODD) + text[at + 1 :]
        elif how == 2:
            text = text[:at] + rng.choice(alphabet + "".join(ODD)) + text[at:]
        elif how == 3:
            text = text[:at] + text[at + 1 :]
        elif how == 4:
            text = text[:at] if rng.random() < 0.5 else text[at:]
        elif how == 5:
            end = rng.randrange(at, len(text) + 1)
            text = text[:end] + text[at:end] + text[end:]
        elif how == 6 and len(text) > 1:
            i, j = sorted(rng.sample(range(len(text)), 2))
            text = text[:i] + text[j] + text[i + 1 : j] + text[i] + text[j + 1 :]
        elif how == 7:
            text = rng.choice((" ", "\n", "\r\n", "\t", "\x00", "\ufeff")) + text + rng.choice(("", " ", "\r\n"))
        elif len(text) < 1000:
            text = text * rng.choice((2, 3, 50))
    return text


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    """`data` changed in one to three places: a flipped bit, a telling value, bytes in or out, cut."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3))):
        at = rng.randrange(len(out) + 1)
        how = rng.randrange(6)
        if how == 0 and out:
            out[at % len(out)] ^= 1 << rng.randrange(8)
        elif how == 1 and out:
            out[at % len(out)] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF, len(out) & 0xFF))
        elif how == 2:
            out[at:at] = rng.randbytes(rng.randint(1, 8))
        elif how == 3:
            del out[at : at + rng.randint(1, 8)]
        elif how == 4:
            out = out[:at]
        else:
            out += out[at:] if rng.random() < 0.5 else rng.randbytes(rng.choice((1, 64, 300)))
    return bytes(out)


def random_text(rng: random.Random, alphabet: str = "") -> str:
    """Text of mostly short length from `alphabet`, the odd characters and (one in ten) any code point."""
    n = 5000 if rng.random() < 0.02 else rng.choice((0, 1, 2, 3, 16, 17, rng.randint(0, 64), rng.randint(0, 400)))
    chars = rng.choices([*alphabet, *ODD], k=n)
    for _ in range(n // 10 + (rng.random() < 0.5) if n else 0):
        chars[rng.randrange(n)] = chr(rng.randrange(0x110000))
    return "".join(chars)


# -- ticket --------------------------------------------------------------------------------------------

OFFICE = "DKP-KUPANG"
NOW = 1_790_000_000  # 2026-09-21 UTC: the kiosk's clock for most inputs
NOWS = (NOW, NOW, NOW, 0, -1, NOW - 10**6, NOW + 10**6, 2**32, 2**63, 1e300, -1e300)
QR_EVERY = 250  # one input in this many is a real QR frame through zxing (about 5 ms to make, 2 ms to read)
USED_FIRST = True  # the first valid ticket counts as used, so that check is reached too


@dataclass(frozen=True)
class QrFrame:
    """A camera frame holding one QR code of `payload`."""

    payload: bytes
    frame: np.ndarray

    def __repr__(self) -> str:
        return f"QrFrame(payload={self.payload!r})"


def qr_frame(payload: bytes) -> np.ndarray:
    """A grey frame with `payload` as a byte-mode QR code, 4 pixels a module, a quiet zone around."""
    import qrcode
    import qrcode.util

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1, border=4)
    code.add_data(qrcode.util.QRData(payload, mode=qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=True)
    modules = np.array(code.get_matrix(), dtype=bool)
    return np.kron(np.where(modules, 0, 255).astype(np.uint8), np.ones((4, 4), np.uint8))


def _resign(rng: random.Random, key: Ed25519PrivateKey, raw: bytes) -> str:
    """The ticket's fields changed to telling values (and the body re-signed, mostly): past the signature."""
    version, tid, service, nb, na, key_id = _HEAD.unpack_from(raw)
    olen = raw[_HEAD.size]
    office = raw[_HEAD.size + 1 : _HEAD.size + 1 + olen]
    digest = raw[_HEAD.size + 1 + olen : -64]
    field = rng.randrange(8)
    if field == 0:
        version = rng.choice((0, 2, 255))
    elif field == 1:
        service = rng.choice((0, 4, 255, *list(Service)))
    elif field == 2:
        nb, na = rng.choice(((0, 0), (2**32 - 1, 0), (na, nb), (NOW, NOW), (0, 2**32 - 1)))
    elif field == 3:
        key_id = rng.choice((0, 2, 7, 65535))
    elif field == 4:
        olen = rng.randrange(256)
    elif field == 5:
        office = rng.choice((b"", b"\xff\xfe", b"\xc3", b"\x00", "DKP-KÜPANG".encode(), b"X" * 16, b"X" * 17))
        olen = len(office) if rng.random() < 0.8 else rng.randrange(256)
    elif field == 6:
        digest = rng.randbytes(rng.choice((0, 15, 17, 32)))
    else:
        tid = rng.randbytes(8)
    body = _HEAD.pack(version, tid, service, nb, na, key_id) + bytes([olen & 0xFF]) + office + digest
    signature = key.sign(body) if rng.random() < 0.8 else rng.randbytes(rng.choice((64, 63, 65, 0)))
    return PREFIX + b45encode(body + signature)


def ticket_edge(seed: int = 1) -> Edge:
    """Scanned queue tickets: texts and QR frames through the kiosk's verification."""
    from kiosk.identity.qr import QrScanner

    rng = random.Random(f"ticket-keys:{seed}")
    key, other = (Ed25519PrivateKey.from_private_bytes(rng.randbytes(32)) for _ in range(2))
    keys = {1: key.public_key(), 2: other.public_key()}
    offices = (OFFICE, OFFICE, "X", "K" * 16, "DKP-KÜPANG")
    valid = [
        issue_ticket(key if i % 4 else other, 1 if i % 4 else 2, rng.randbytes(8), rng.choice(list(Service)),
                     offices[i % len(offices)], "5371044506900001", NOW - 3600, NOW + 3600 * (i % 3))
        for i in range(10)
    ]  # fmt: skip
    raws = [b45decode(t[len(PREFIX) :]) for t in valid]
    used = {raws[0][1:9].hex()} if USED_FIRST else set()
    scanner = QrScanner()

    def make(rng: random.Random) -> tuple[Any, float]:
        now = rng.choice(NOWS) if rng.random() < 0.1 else NOW
        i = rng.randrange(len(valid))
        pick = rng.random()
        if pick < 0.05:
            text = valid[i]
        elif pick < 0.35:
            text = mutate_text(rng, valid[i], ALPHABET)
        elif pick < 0.55:
            text = PREFIX + b45encode(mutate_bytes(rng, raws[i]))
        elif pick < 0.75:
            text = _resign(rng, key, raws[i])
        elif pick < 0.88:
            text = PREFIX + b45encode(rng.randbytes(rng.choice((0, 1, 64, 110, 111, 112, 200, 1000))))
        elif pick < 0.94:
            text = mutate_text(rng, PREFIX, "LM1:lm") + random_text(rng, ALPHABET)
        else:
            text = random_text(rng, ALPHABET)
        if rng.randrange(QR_EVERY) == 0:
            payload = text.encode("utf-8", "surrogatepass")[:1500]  # a byte-mode QR code at level M holds 2331
            if rng.random() < 0.3:
                payload = rng.randbytes(rng.randint(1, 300))
            return QrFrame(payload, qr_frame(payload)), now
        return text, now

    def verify(text: str, now: float) -> str:
        answer = expect(verify_ticket(text, keys, OFFICE, now, used.__contains__), Ticket, TicketRefusal)
        return "accepted" if isinstance(answer, Ticket) else answer.reason.value

    def feed(value: tuple[Any, float]) -> str:
        scanned, now = value
        if isinstance(scanned, QrFrame):
            texts = expect(scanner.scan(scanned.frame), list)
            return "qr:" + ",".join(verify(expect(t, str), now) for t in texts) if texts else "qr:none"
        return verify(scanned, now)

    return Edge("ticket", make, feed, about={"valid_tickets": len(valid), "qr_every": QR_EVERY})


# -- nik -------------------------------------------------------------------------------------------------

TODAY = dt.date(2026, 9, 21)
TODAYS = (TODAY, dt.date(2024, 2, 29), dt.date(2000, 1, 1), dt.date(2099, 12, 31), dt.date(1, 1, 1),
          dt.date(9999, 12, 31))  # fmt: skip


def _grouped(rng: random.Random, nik: str) -> str:
    """A NIK as it is typed or read: groups of digits with some white space between them."""
    cuts = sorted(rng.sample(range(1, 16), rng.randint(1, 4)))
    parts = [nik[a:b] for a, b in zip([0, *cuts], [*cuts, 16], strict=True)]
    out = parts[0]
    for part in parts[1:]:
        out += rng.choice((" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "-", ".")) + part
    return out


def _tesseract(rng: random.Random, nik: str) -> str:
    """What tesseract might say of a KTP's NIK line (digits only, but noise is noise)."""
    noise = ["", " ", "\n", "1", "7 ", "0 0", "\x0c", "NIK : ", "4", "11"]
    body = _grouped(rng, nik) if rng.random() < 0.5 else nik
    if rng.random() < 0.3:
        body = mutate_text(rng, body, DIGITS)
    return rng.choice(noise) + body + rng.choice(noise) + (rng.choice(noise) + nik if rng.random() < 0.1 else "")


def nik_edge(seed: int = 1) -> Edge:
    """NIK text, typed or read from a printed KTP, through the kiosk's NIK rules."""
    from kiosk.identity import ocr_nik

    districts = sorted(load_regions().districts)

    def a_nik(rng: random.Random) -> str:
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randrange(35_000))
        return make_nik(rng.choice(districts), born, rng.random() < 0.5, rng.randint(1, 9999))

    def make(rng: random.Random) -> tuple[str, str, dt.date]:
        today = rng.choice(TODAYS) if rng.random() < 0.05 else TODAY
        nik, pick = a_nik(rng), rng.random()
        if pick < 0.1:
            return "typed", nik, today
        if pick < 0.4:
            return "typed", mutate_text(rng, nik, DIGITS), today
        if pick < 0.55:  # the birth date part: days 00-99 (women +40), months 00-99, any year
            return "typed", nik[:6] + f"{rng.randrange(100):02d}{rng.randrange(100):02d}{rng.randrange(100):02d}" + (
                rng.choice(("0000", "0001", "9999"))), today  # fmt: skip
        if pick < 0.7:
            return "typed", _grouped(rng, nik), today
        if pick < 0.85:
            return "printed", _tesseract(rng, nik), today
        return rng.choice(("typed", "printed")), random_text(rng, DIGITS), today

    def parsed(text: str, today: dt.date) -> str:
        answer = expect(parse_nik(text, today), Nik, NikRefusal)
        if isinstance(answer, NikRefusal):
            return answer.reason.value
        if not (len(answer.value) == 16 and all("0" <= c <= "9" for c in answer.value)):
            raise WrongAnswer(f"a Nik of {answer.value!r}")
        expect(answer.masked, str)
        return "nik"

    def feed(value: tuple[str, str, dt.date]) -> str:
        kind, text, today = value
        expect(mask_nik(text), str)  # every raw NIK text is masked before it is logged
        if kind == "printed":
            candidate = expect(ocr_nik._digits(text), str, type(None))
            return "printed:" + (parsed(candidate, today) if candidate is not None else "none")
        return parsed(text, today)

    return Edge("nik", make, feed)


# -- base45 ------------------------------------------------------------------------------------------------


def base45_edge(seed: int = 1) -> Edge:
    """base45 text (a ticket's body) through the decoder."""

    def make(rng: random.Random) -> str:
        pick = rng.random()
        valid = b45encode(rng.randbytes(rng.choice((0, 1, 2, 3, 111, rng.randint(0, 300)))))
        if pick < 0.1:
            return valid
        if pick < 0.6:
            return mutate_text(rng, valid, ALPHABET)
        if pick < 0.8:
            return "".join(rng.choice(ALPHABET) for _ in range(rng.choice((1, 2, 3, 4, rng.randint(0, 200)))))
        if pick < 0.9:  # the largest triples and pairs, in range and just past it
            return "".join(rng.choice(("FGW", "GGW", ":::", "U5", "V5", "::", "00", "000")) for _ in range(3))
        return random_text(rng, ALPHABET)

    def feed(text: str) -> str:
        data = expect(b45decode(text), bytes)
        if b45encode(data) != text:  # base45 is canonical: what decodes encodes back the same
            raise WrongAnswer(f"decoded to {data!r}, which encodes to another text")
        return "decoded"

    return Edge("base45", make, feed, declared=(Base45Error,))


# -- apdu: card responses and ATRs ---------------------------------------------------------------------------

KNOWN_ATRS = ("3B8F8001804F0CA000000306030001000000006A", "3B8C800150EA5A3F1930AAAA017781D7DB")
ATR_EVERY = 5  # one input in this many is an ATR (a lookup in the whole list: about 1 ms)
SWS = (b"\x90\x00", b"\x6a\x82", b"\x63\x00", b"\x6c\x04", b"\x61\x10", b"\x90\x01", b"\x00\x00", b"\xff\xff")


def atr_list_path(given: Path | None = None) -> Path | None:
    """The ATR list to fuzz against: the one given, the installed one, or the checkout's shared data."""
    shared = Path(os.environ.get("KIOSK_SHARED", Path(__file__).resolve().parents[3] / "shared"))
    for path in (given, DEFAULT_ATR_LIST, shared / "data" / "pcsc-tools" / "smartcard_list.txt"):
        if path is not None and path.is_file():
            return path
    return None


def _atr_of(rng: random.Random, pattern: str) -> bytes:
    return bytes(rng.randrange(256) if part == ".." else int(part, 16) for part in pattern.split())


def apdu_edge(seed: int = 1, atr_list: Path | None = None) -> Edge:
    """Card answers: the response to GET DATA (UID) through the baseline profile, and ATRs through the list."""
    path = atr_list_path(atr_list)
    db = AtrDatabase.load(path) if path else AtrDatabase([])
    hex_pairs = set("0123456789ABCDEF")
    plain = [e.pattern for e in db.entries
             if all(p == ".." or (len(p) == 2 and set(p) <= hex_pairs) for p in e.pattern.split())]  # fmt: skip
    plain += [" ".join(a[i : i + 2] for i in range(0, len(a), 2)) for a in KNOWN_ATRS]
    profiles: list[CardProfile] = [BaselineUidProfile()]

    def make(rng: random.Random) -> tuple[str, bytes]:
        pick = rng.random()
        if rng.randrange(ATR_EVERY) == 0:
            atr = _atr_of(rng, rng.choice(plain))
            if pick < 0.5:
                atr = mutate_bytes(rng, atr)
            elif pick < 0.7:
                atr = rng.randbytes(rng.choice((0, 1, 2, rng.randint(0, 40), 300)))
            return "atr", atr
        uid = rng.randbytes(rng.choice((4, 7, 10, 0, 1, 8, 255, 256, rng.randint(0, 300))))
        response = uid + (b"\x90\x00" if rng.random() < 0.6 else rng.choice(SWS))
        if pick < 0.3:
            response = mutate_bytes(rng, response)
        elif pick < 0.45:
            response = rng.randbytes(rng.choice((0, 1, 2, 3, rng.randint(0, 600))))
        return "response", response

    def feed(value: tuple[str, bytes]) -> str:
        kind, answer = value
        if kind == "atr":
            descriptions = expect(db.identify(answer), list)
            ektp = expect(is_ektp([expect(d, str) for d in descriptions]), bool)
            choose_profile(profiles, answer, descriptions).name  # noqa: B018  (a profile, or AttributeError)
            expect(format_atr(answer), str)
            return "atr:ektp" if ektp else "atr:named" if descriptions else "atr:unknown"
        data = expect(BaselineUidProfile().read(lambda apdu: answer), CardData)
        if answer[-2:] != b"\x90\x00" or data.uid != answer[:-2].hex().upper() or len(answer) - 2 not in (4, 7, 10):
            raise WrongAnswer(f"read UID {data.uid} from {answer.hex()}")
        return "card_data"

    about = {"atr_list": str(path) if path else None, "atr_patterns": len(db.entries), "atr_every": ATR_EVERY}
    return Edge("apdu", make, feed, declared=(CardReadError,), about=about)


def edge(name: str, seed: int = 1, atr_list: Path | None = None) -> Edge:
    """The edge of target `name` (ticket, nik, base45, apdu)."""
    if name == "apdu":
        return apdu_edge(seed, atr_list)
    return {"ticket": ticket_edge, "nik": nik_edge, "base45": base45_edge}[name](seed)
