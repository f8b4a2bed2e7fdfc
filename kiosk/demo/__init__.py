"""The demo's extras: a developer panel that stands in for the resident's hands and face by driving the
simulators. Not part of a kiosk's screens."""
