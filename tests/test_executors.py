"""Gateway work has its own workers: with the gateway stalled and every gateway worker waiting on it, a
card release (and a face check) still runs at once. The kiosk's real handler table and thread pools, the
real gateway slowed on loopback (by the fault layer in front of it)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from kiosk.flow import effects as fx
from kiosk.flow import events as ev
from kiosk.runner.effects import EffectTable
from kiosk.sim.world import build_world

STALL_S = 4.0


def test_a_release_does_not_wait_behind_a_stalled_gateway(tmp_path, clock):
    world = build_world(tmp_path / "kiosk", seed=3, clock=clock, auto_take=True)
    parts_pool, gateway_pool = ThreadPoolExecutor(4), ThreadPoolExecutor(2)
    posted: list[ev.Event] = []
    released = threading.Event()

    def post(event: ev.Event) -> None:
        posted.append(event)
        if isinstance(event, ev.VaultOutcome):
            released.set()

    table = EffectTable(world.kiosk.effects.handlers, post, parts_pool, lambda: None, gateway_executor=gateway_pool)
    try:
        world.kiosk.gateway.timeout = (STALL_S * 2, STALL_S * 2)
        world.gateway.faults.delay_s = STALL_S
        nik = world.residents("verification")[0].nik
        for _ in range(6):  # more than the gateway's workers: the rest queue behind them
            table(fx.LookUp(1, nik))
        table(fx.LoadOffices(1))
        card = world.store.inventory()[0]
        table(fx.ReleaseCard(1, card.slot, card.card_id))
        assert released.wait(STALL_S / 2), "the release waited behind the gateway"
        assert not any(isinstance(e, ev.LookupDone | ev.OfficesLoaded) for e in posted)  # still stalled
        (outcome,) = [e for e in posted if isinstance(e, ev.VaultOutcome)]
        assert outcome.outcome == "taken"
    finally:
        world.gateway.faults.delay_s = 0.0
        gateway_pool.shutdown(wait=True, cancel_futures=True)
        parts_pool.shutdown(wait=True)
        world.close()


def test_the_kiosk_sends_exactly_the_gateway_effects_to_the_gateway_workers(world):
    on_gateway = {t for t, h in world.kiosk.effects.handlers.items() if h.gateway}
    assert on_gateway == {fx.ClaimTicket, fx.ResolveChip, fx.LookUp, fx.LoadOffices, fx.LoadSlots, fx.Book}
    assert not world.kiosk.effects.handlers[fx.ReleaseCard].gateway
    assert not world.kiosk.effects.handlers[fx.StartFaceCheck].gateway
