"""The booking steps of the flow: offices (the resident's own kecamatan first), day, time, a last look at
all three, the booking."""

from __future__ import annotations

from dataclasses import replace

from kiosk.flow import events as ev
from kiosk.flow.base import FlowConfig, Result, goto, is_result_for, refuse
from kiosk.flow.effects import Book, Journal, LoadSlots
from kiosk.flow.model import Office, Reason, Session, Step
from kiosk.flow.rules import resident_district


def sort_offices(offices: tuple[Office, ...], district: str) -> tuple[Office, ...]:
    """The resident's own kecamatan first, then the rest of their city, then by name."""

    def key(o: Office) -> tuple[int, str]:
        rank = 0 if o.district == district else 1 if o.district[:4] == district[:4] else 2
        return rank, o.name

    return tuple(sorted(offices, key=key))


def on_booking(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if not is_result_for(s, e):
        return s, ()
    if isinstance(e, ev.OfficesLoaded):
        if not e.offices:
            return refuse(s, now, Reason.SERVICE_UNAVAILABLE)
        offices = sort_offices(e.offices, resident_district(s.nik))
        return goto(s, Step.CHOOSE_OFFICE, now, offices=offices), ()
    if isinstance(e, ev.SlotsLoaded):
        s2 = replace(s, slots=e.slots)
        if not s2.days:
            return replace(goto(s2, Step.CHOOSE_OFFICE, now), notice=Reason.NO_SLOTS), ()
        return goto(s2, Step.CHOOSE_DAY, now), ()
    if isinstance(e, ev.BookingDone):
        if e.booking is not None:
            data = {
                "office": e.booking.office.office_id,
                "day": e.booking.day,
                "time": e.booking.time,
                "code": e.booking.code,
                "provisional": e.booking.provisional,
            }
            return goto(s, Step.BOOKED, now, booking=e.booking), (Journal("booked", data),)
        if e.reason in (Reason.SLOT_TAKEN, Reason.OFFLINE_FULL) and s.office:
            s2 = replace(goto(s, Step.CHOOSE_TIME, now, time=None), notice=e.reason)
            return s2, (LoadSlots(s.visit, s.office.office_id),)
        return refuse(s, now, e.reason or Reason.BOOKING_FAILED)
    return s, ()


def on_choose_office(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.Press) and e.action == ev.CHOOSE_OFFICE:
        office = next((o for o in s.offices if o.office_id == e.value), None)
        if office:
            return goto(s, Step.BOOKING, now, office=office, slots=()), (LoadSlots(s.visit, office.office_id),)
    return s, ()


def on_choose_day(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.Press):
        if e.action == ev.CHOOSE_DAY and e.value in s.days:
            return goto(s, Step.CHOOSE_TIME, now, day=e.value), ()
        if e.action == ev.BACK:
            return goto(s, Step.CHOOSE_OFFICE, now, day=None), ()
    return s, ()


def on_choose_time(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    if isinstance(e, ev.SlotsLoaded) and is_result_for(s, e):
        return replace(s, slots=e.slots), ()
    if isinstance(e, ev.Press):
        if e.action == ev.CHOOSE_TIME and any(t.time == e.value for t in s.times):
            return goto(s, Step.CONFIRM_BOOKING, now, time=e.value), ()
        if e.action == ev.BACK:
            return goto(s, Step.CHOOSE_DAY, now), ()
    return s, ()


def on_confirm_booking(s: Session, e: ev.Event, now: float, cfg: FlowConfig) -> Result:
    """Office, day and time once more: Yes books it, Back returns to the times of that day."""
    if isinstance(e, ev.Press):
        if e.action == ev.CONFIRM and s.office and s.day and s.time and s.nik:
            return goto(s, Step.BOOKING, now), (Book(s.visit, s.nik, s.office, s.day, s.time),)
        if e.action == ev.BACK:
            return goto(s, Step.CHOOSE_TIME, now, time=None), ()
    return s, ()
