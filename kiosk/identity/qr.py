"""QR decoding of camera frames with zxing-cpp."""

from __future__ import annotations

import numpy as np
import zxingcpp

_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def decode_qr(frame: np.ndarray) -> list[str]:
    """Texts of every QR code found in a BGR or grey frame (empty if none)."""
    results = zxingcpp.read_barcodes(frame, formats=_QR_ONLY)
    return [r.text for r in results if r.valid]
