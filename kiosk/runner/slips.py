"""The printed slips of a visit (handover receipt, booking slip, status), in the resident's language.
The NIK is always masked; the QR payloads come from the flow's rules."""

from __future__ import annotations

import datetime as dt

from kiosk.flow.model import Session
from kiosk.flow.rules import booking_qr, receipt_qr
from kiosk.hardware.printer import Document
from kiosk.i18n import tr
from kiosk.identity.nik import mask_nik
from kiosk.texts import STALE_NOTE, STATUSES


def slip(s: Session, kind: str, *, kiosk_id: str, office: str, now: float, utc_offset_s: int) -> Document | None:
    """The slip `kind` (receipt, booking, status) of the visit `s`, or None if the visit has none."""
    lang = s.lang
    stamp = dt.datetime.fromtimestamp(now + utc_offset_s, dt.UTC).strftime("%Y-%m-%d %H:%M")
    header = (tr(lang, "Loket Mandiri e-KTP"), office, kiosk_id, stamp)
    nik_line = tr(lang, "NIK") + ": " + mask_nik(s.nik or "")
    if kind == "receipt" and s.handover_code and s.lookup:
        receipt = (
            nik_line,
            tr(lang, "Card") + ": " + (s.lookup.card_id or ""),
            tr(lang, "Handover code") + ": " + s.handover_code,
        )
        return Document(tr(lang, "e-KTP handover receipt"), receipt, receipt_qr(kiosk_id, s.handover_code), header)
    if kind == "booking" and s.booking:
        b = s.booking
        lines = (
            nik_line,
            b.office.name,
            f"{b.day} {b.time}",
            tr(lang, "Appointment number") + ": " + b.code,
            tr(lang, "Bring your family card (KK) and this slip."),
        )
        return Document(tr(lang, "Recording appointment"), lines, booking_qr(b.code), header)
    if kind == "status" and s.lookup:
        what, nxt = STATUSES[s.lookup.status]
        where = s.lookup.office_name or ""
        status = [nik_line, tr(lang, what).format(office=where), tr(lang, nxt).format(office=where)]
        if s.lookup.stale and s.lookup.known_at:
            status.append(tr(lang, STALE_NOTE).format(date=s.lookup.known_at))
        return Document(tr(lang, "e-KTP status"), tuple(status), None, header)
    return None
