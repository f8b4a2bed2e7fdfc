"""Identity rules: NIK, queue tickets, QR decoding. Pure functions and dataclasses; no I/O beyond
reading packaged reference data."""
