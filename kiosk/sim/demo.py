"""`kiosk demo`: the real app on simulated hardware, beside the panel that stands in for the resident."""

from __future__ import annotations

from pathlib import Path

from kivy.clock import Clock

from kiosk.app import KioskApp, window_setup
from kiosk.sim.panel import DevPanel
from kiosk.sim.world import build_world


def run_demo(
    data_dir: Path,
    seed: int = 1,
    windowed: bool = False,
    language: str = "id",
    exit_after: float = 0,
    reader: str = "sim",
    reader_name: str = "",
) -> int:
    """`kiosk demo`: the real app on simulated hardware and the real gateway seeded with the demo town."""
    card_reader = None
    if reader == "pcsc":
        from kiosk.hardware.atr import DEFAULT_ATR_LIST, AtrDatabase
        from kiosk.hardware.pcsc import PcscCardReader

        atr_db = AtrDatabase.load(DEFAULT_ATR_LIST) if DEFAULT_ATR_LIST.exists() else None
        card_reader = PcscCardReader(reader_name, atr_db=atr_db)
    world = build_world(data_dir, seed, face_wait_s=20.0, language=language, reader=card_reader)
    world.sync.start()
    print(f"kiosk demo: gateway at {world.gateway.url}, data in {data_dir}", flush=True)
    window_setup(windowed, 1280 + 360, 800)
    app = KioskApp(world.kiosk, panel=lambda: DevPanel(world))
    if exit_after:
        Clock.schedule_once(lambda _dt: app.stop(), exit_after)
    try:
        app.run()
    finally:
        world.close()
    return 0
