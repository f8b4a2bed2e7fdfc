"""One exception tree for hardware faults; each also inherits the matching built-in."""


class HardwareError(Exception):
    """A part of the kiosk failed (a fault, not something a resident did)."""


class DeviceMissing(HardwareError, OSError):
    """A device is not connected or cannot be opened."""


class DeviceTimeout(HardwareError, TimeoutError):
    """A device did not answer in time."""
