"""kiosk.ops.memory: the free heap handed back between visits (glibc's malloc_trim, on this Debian)."""

from __future__ import annotations

from pathlib import Path

from kiosk.ops.memory import release_free_heap


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_freed_heap_goes_back_to_the_system():
    # many small blocks (under glibc's mmap threshold, so they live in the heap), then freed: RSS stays up
    # until the trim, which hands most of it back
    blocks = [bytearray(64 * 1024) for _ in range(3000)]  # about 190 MiB
    for b in blocks:
        b[::4096] = b"x" * len(b[::4096])  # touch every page
    del blocks[:-1]  # the last one keeps the heap's top in use, as a live kiosk's objects do
    before = rss_kib()
    assert release_free_heap() is True
    after = rss_kib()
    assert before - after > 100 * 1024, (before, after)
