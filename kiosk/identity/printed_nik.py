"""Printed NIK reader port: read the NIK printed on an old KTP without a chip from a camera frame.

The tesseract-based reader arrives with the real identity checks (issue 5); `kiosk.sim.scenes.SceneNikReader`
reads the simulated camera's scene. Every read is validated by the NIK rules in the flow before it is used.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PrintedNikReader(Protocol):
    """Finds a printed NIK in a frame."""

    def read(self, frame: np.ndarray) -> str | None: ...


class NoNikReader:
    """No printed-NIK reading on this kiosk: residents type the NIK instead."""

    def read(self, frame: np.ndarray) -> str | None:
        return None
