"""Handing the heap's free memory back to the system between visits.

A kiosk runs for months. glibc keeps the memory Python frees (camera frames of 2.7 MB, label textures,
decoded QR images) in its heap for reuse and returns little of it by itself, so RSS creeps up to the
heap's high-water mark and stays there: on a 1 GB Pi that reads like a leak to the watchdog and to the
admins' memory alert. Once a visit is over nothing is drawn or decoded for a while, which is the moment
to collect garbage and ask glibc to trim (a few milliseconds)."""

from __future__ import annotations

import ctypes
import gc
import logging
import os
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        log.info("no malloc_trim here: free heap stays with the process")
        return None


def rss_kib() -> int:
    """This process's resident set size in KiB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def release_free_heap() -> bool:
    """Collect garbage and return the heap's free pages to the system; False where libc cannot."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
