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

M_MMAP_THRESHOLD = -3  # mallopt parameters (glibc's malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024  # larger blocks (camera frames, their texture copies) are mapped and unmapped
ARENAS = 2  # glibc's default is 8 a core: one a thread for the camera, reader, workers and sync


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
        return trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        log.info("no malloc_trim here: free heap stays with the process")
        return None


@cache
def bound_heap() -> bool:
    """Keep glibc's heap from growing with the hours (once a process; False where libc cannot). By default
    glibc raises its mmap threshold to the largest block freed, so after the first camera frame (2.7 MB)
    every frame and its copy for the screen is carved from a thread's heap, between small blocks that live
    on and pin its pages; and each thread gets its own heap to fragment. A fixed threshold maps large blocks
    and unmaps them when freed; two arenas serve every thread."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, ARENAS))


def rss_kib() -> int:
    """This process's resident set size in KiB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024


def rss_parts_kib() -> dict[str, int]:
    """This process's resident memory by kind, in KiB (/proc/self/status): anon (its heaps, the Python
    objects, GL buffers in system memory), file (mapped code and data of the libraries, paged in as code
    paths first run) and shmem (shared memory, SQLite's -shm index among it)."""
    parts = {"anon": 0, "file": 0, "shmem": 0}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                parts[key[3:].lower()] = int(value.split()[0])
    return parts


def release_free_heap() -> bool:
    """Collect garbage and return the heap's free pages to the system; False where libc cannot."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
