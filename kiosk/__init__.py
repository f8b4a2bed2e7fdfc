"""Loket Mandiri e-KTP: a self-service kiosk for e-KTP pickup, recording bookings and card status."""

__version__ = "0.1.0"
