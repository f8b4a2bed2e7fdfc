"""`kiosk bench powercut --kills N`: the kiosk as a child process killed with SIGKILL at random points of
its work, restarted each time on the same data, then checked against a physical world that outlived it.

The world outside the kiosk, as in the field:
- the vault's physical state (every card and where it is, each gate, the log of physical dispenses) is a
  file replaced atomically at every physical change (kiosk.bench.powercut_vault), not the kiosk's memory;
- the real gateway (kiosk.sim.office) runs here, in the parent, on its SQLite file in the run's folder: a
  gateway is another machine, it does not die with the kiosk, and a request it received from a kiosk killed a
  moment later is still carried out (the case that makes answers ambiguous);
- the office, here too: between two lives, a resident whose card left the vault gets a new finished card
  (the gateway lists it for this kiosk, and it waits in the operator's tray), so cards keep flowing.

Each life (kiosk.bench.powercut_child) starts on the run's folder, reconciles as the real kiosk does, and
walks visits until killed: pickups, bookings, status questions, operator loading, walk-aways. At every
phase crossing it tells this process and waits for its go; the kill plan of a life is a phase drawn at
random (start, reconcile, ticket, release, booking, loading, sync: so kills land in all of them; a
reconcile kill needs open intents, so when a life has none the plan kills a release first and the next
life's reconciliation after), a crossing of that phase drawn at random, and either the kill right there
(the child waits at the crossing) or half the time a random 0-5 ms after it, between crossings (in a
commit, an fsync, an HTTP exchange). A plan whose phase has not come after 3 s kills at the next crossing
of any phase. A life is forked from a fork server that imported the kiosk once: a life starts in
milliseconds where a fresh interpreter takes 1.3 s to import it. After N kills a last life reconciles,
delivers its outbox and exits; then the checks (kiosk.bench.powercut_checks), each a count whose goal
is 0: no card released twice or gone unrecorded, no open intent, no seat off the books, no booking lost
or duplicated, no ticket without its event, no break in the journal, no crash.
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.bench.powercut_checks import GOALS, Death, check, held
from kiosk.bench.powercut_child import BROKEN, WORLD_FILE, ChildSpec, run_life
from kiosk.bench.powercut_vault import PhysicalCard, WorldState
from kiosk.gateway.head import HeadSigner
from kiosk.identity.operator import hash_pin
from kiosk.sim.office import Office

# every crossing a life reports, by phase (the kill plan draws one of these)
POINTS: dict[str, tuple[str, ...]] = {
    "start": ("start.begin", "start.store_open", "start.reconcile", "start.ready"),
    "reconcile": ("reconcile.settle", "reconcile.settled"),
    "ticket": ("ticket.claim", "ticket.claimed", "ticket.consume", "ticket.split", "ticket.consumed"),  # split: broken
    "release": (
        "release.begin",
        "release.intent_written",
        "release.gate_opened",
        "release.card_taken",
        "release.gate_shut",
        "release.vault_done",
        "release.outcome_written",
        "release.handover",
        "release.handover_written",
    ),
    "booking": ("booking.book", "booking.answered", "booking.journal", "booking.journal_written"),
    "loading": (
        "loading.picked_up",
        "loading.tap",
        "loading.intent",
        "loading.intent_written",
        "loading.gate_opened",
        "loading.card_seated",
        "loading.gate_shut",
        "loading.vault_done",
        "loading.outcome_written",
    ),
    "sync": ("sync.drain", "sync.send", "sync.sent", "sync.mark", "sync.marked"),
}
PLAN_PATIENCE_S = 3.0  # a plan whose phase has not come by then kills at the next crossing of any phase
HANG_S = 60.0  # a life silent this long is hung
MAX_BETWEEN_S = 0.005  # a kill between crossings comes up to this long after the last one
FOCUS = {"release": "pickup", "reconcile": "pickup", "booking": "booking", "loading": "loading"}  # phase -> visit
LINK_DOWN_SHARE = 0.15  # lives with the gateway unreachable (offline bookings, offline tickets)


@dataclass
class Plan:
    """Where to kill one life: the `nth` crossing of `phase`, at it or `delay_s` after it."""

    phase: str
    nth: int
    delay_s: float | None  # None: at the crossing


def draw_plan(rng: random.Random, only: str | None) -> Plan:
    """A phase (or `only`'s) and which of its crossings; `only` naming one crossing: at its first."""
    phases = [p for p in POINTS if only is None or p == only.split(".")[0]]
    phase = rng.choice(phases)
    return Plan(phase, 1 if only and "." in only else rng.randint(1, len(POINTS[phase])), None)


def _fits(plan: Plan, name: str, only: str | None) -> bool:
    if only and "." in only:
        return name == only
    return name.split(".")[0] == plan.phase


def _due(plan: Plan, name: str, only: str | None, seen: int, *, patient: bool) -> tuple[int, bool]:
    """Crossing `name` heard: how many of the plan's crossings are now seen, and whether the kill is due
    (its `nth`, or, the plan's patience gone, any crossing of any phase)."""
    if name.startswith(("visit.", "exit.")) or not (_fits(plan, name, only) or not patient):
        return seen, False
    seen += 1
    return seen, seen >= plan.nth or not patient


def _last_words(ours: Any, last: str, kind: str) -> tuple[str, str]:
    """What a dead life said before it died: it was killed waiting at that crossing (so a kill meant for
    between crossings came at one)."""
    while True:
        try:
            if not ours.poll(0):
                break
            last = ours.recv_bytes().decode()
        except (EOFError, OSError):
            break
        kind = "at" if kind == "between" else kind
    return last, kind


def live(
    ctx: Any, spec: ChildSpec, plan: Plan | None, only: str | None, visits: Counter[str], rng: random.Random
) -> tuple[Death, bool]:
    """Start one life and kill it by `plan` (None: let it exit). Returns how it ended, and whether it
    found open intents to reconcile (a reconcile plan without them is put off to the next life)."""
    ours, theirs = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=run_life, args=(spec, theirs), name=f"kiosk-life-{spec.life}", daemon=True)
    t0 = time.monotonic()
    proc.start()
    theirs.close()
    seen, last, start_ms, reconciling = 0, "", None, False
    kill_at: float | None = None
    kind = "exit"
    try:
        while True:
            now = time.monotonic()
            timeout = HANG_S if kill_at is None else max(0.0, kill_at - now)
            if not ours.poll(timeout):
                if kill_at is not None:
                    proc.kill()
                    kind = "between"
                else:
                    proc.kill()
                    kind = "hang"
                break
            try:
                name = ours.recv_bytes().decode()
            except (EOFError, OSError):  # it ended
                kind = "exit"
                break
            last = name
            if name == "start.ready":
                start_ms = (time.monotonic() - t0) * 1000
            if name.startswith("reconcile."):
                reconciling = True
            if name.startswith("visit."):
                visits[name.split(".", 1)[1]] += 1
            if plan is not None and kill_at is None:
                if plan.phase == "reconcile" and name == "start.ready" and not reconciling:
                    plan = Plan("release", rng.randint(2, 6), plan.delay_s)  # make an open intent first
                seen, due = _due(plan, name, only, seen, patient=time.monotonic() - t0 < PLAN_PATIENCE_S)
                if due:
                    if plan.delay_s is None:
                        proc.kill()
                        kind = "at"
                        break
                    kill_at = time.monotonic() + plan.delay_s
            try:
                ours.send_bytes(b"")
            except OSError:  # it ended
                kind = "exit"
                break
        proc.join(10)
        last, kind = _last_words(ours, last, kind)
    finally:
        ours.close()
    if kind == "exit" and (plan is not None or proc.exitcode != 0):  # it ended on its own: a fault
        kind = "crash"
    planned = plan.phase if plan else ""
    return Death(last, kind, proc.exitcode, start_ms, planned, time.monotonic() - t0), reconciling


def office_import(gateway: Office, state: WorldState, rng: random.Random) -> int:
    """The office between two lives: every resident whose card left the vault and who has no card in the
    kiosk's care gets a new finished card, listed for this kiosk and put in the operator's tray."""
    in_care = state.holders_in_care()
    made = 0
    for _card, _slot, holder in state.dispensed:
        if holder in in_care:
            continue
        generation = sum(1 for _c, _s, h in state.dispensed if h == holder)
        card = PhysicalCard(f"C{holder:05d}-{generation}", f"04{rng.getrandbits(48):012X}", holder)
        gateway.finish_card(gateway.resident(holder).nik, card.card_id, card.chip_uid)
        state.add_to_tray(card)
        in_care.add(holder)
        made += 1
    if made:
        state.save()
    return made


@dataclass
class Lives:
    """What the lives of a run leave to the checks: how each ended, the visits walked, the office's new cards."""

    deaths: list[Death] = field(default_factory=list)
    visits: Counter[str] = field(default_factory=Counter)
    made: int = 0


def set_up_world(base: Path, seed: int, per_status: int, vault_slots: int, broken: str) -> tuple[Office, ChildSpec]:
    """The world that outlives the kiosk, in `base`: the gateway serving (with the kiosk's journal key),
    the vault's file with the office's finished cards in the operator's tray; and what every life needs."""
    gateway = Office(base / "gateway.db", seed, per_status=per_status)
    url = gateway.start()
    # the journal key provisioning makes (kiosk.toml's default place: the data folder), registered as
    # enrolment would, so every life's heartbeats are anchored
    gateway.register_journal_key(gateway.kiosk_id, HeadSigner.make_key_file(base / "journal.key"))
    state = WorldState.create(base / WORLD_FILE, vault_slots)
    for r in gateway.residents:  # the finished cards of this office, waiting with the operator
        if r.status == "ready_here" and r.card_id and r.new_chip_uid:
            state.add_to_tray(PhysicalCard(r.card_id, r.new_chip_uid, r.index))
    state.save()
    spec = ChildSpec(
        base,
        url,
        gateway.kiosk_id,
        gateway.api_key,
        gateway.ticket_key_id,
        gateway.ticket_public_key_hex,
        gateway.ticket_signing_hex,
        hash_pin("2468", n=2**12),
        seed=seed,
        per_status=per_status,
        vault_slots=vault_slots,
        broken=broken,
    )
    return gateway, spec


def kill_lives(
    ctx: Any,
    gateway: Office,
    spec: ChildSpec,
    kills: int,
    only: str | None,
    between_share: float,
    rng: random.Random,
    lives: Lives,
) -> None:
    """`kills` lives, each killed by a plan of its own (some with the gateway unreachable)."""
    reconcile_next = False
    for life in range(kills):
        lives.made += office_import(gateway, WorldState.load(spec.data_dir / WORLD_FILE), rng)
        gateway.faults.down = rng.random() < LINK_DOWN_SHARE
        plan = Plan("reconcile", 1, None) if reconcile_next and only is None else draw_plan(rng, only)
        if rng.random() < between_share:
            plan.delay_s = rng.uniform(0, MAX_BETWEEN_S)
        life_spec = ChildSpec(**{**spec.__dict__, "life": life, "final": False, "focus": FOCUS.get(plan.phase, "")})
        death, reconciled = live(ctx, life_spec, plan, only, lives.visits, rng)
        reconcile_next = plan.phase == "reconcile" and not reconciled
        lives.deaths.append(death)


def last_life(ctx: Any, gateway: Office, spec: ChildSpec, life: int, rng: random.Random, lives: Lives) -> None:
    """The last, clean life: the gateway reachable, it reconciles, delivers its outbox and exits."""
    lives.made += office_import(gateway, WorldState.load(spec.data_dir / WORLD_FILE), rng)
    gateway.faults.down = False
    life_spec = ChildSpec(**{**spec.__dict__, "life": life, "final": True, "focus": ""})
    death, _reconciled = live(ctx, life_spec, None, None, lives.visits, rng)
    lives.deaths.append(death)


def run(
    kills: int,
    seed: int = 1,
    *,
    folder: Path | None = None,
    only: str | None = None,
    broken: str = "",
    between_share: float = 0.5,
    per_status: int = 2,
    vault_slots: int = 8,
) -> dict[str, Any]:
    """Kill the kiosk `kills` times, let a last life finish, check the world. `folder` keeps the run's
    data (default: a temporary folder, removed when every count is 0); `only` limits the kills to one
    phase (or one crossing, e.g. "release.gate_opened"); `broken` starts a deliberately broken kiosk."""
    phase = (only or "").split(".")[0]
    if only and (phase not in POINTS or ("." in only and only not in POINTS[phase])):
        raise ValueError(f"no phase or crossing {only!r}: a phase is one of {', '.join(POINTS)}")
    if broken and broken not in BROKEN:
        raise ValueError(f"no broken kiosk {broken!r}: one of {', '.join(BROKEN)}")
    if only and "." in only:
        between_share = 0.0  # one crossing named: the kills are at it
    rng = random.Random(seed)
    keep = folder is not None
    base = folder or Path(tempfile.mkdtemp(prefix="kiosk-powercut-"))
    base.mkdir(parents=True, exist_ok=True)
    if (base / "kiosk.db").exists() or (base / WORLD_FILE).exists():
        raise ValueError(f"{base} holds an earlier run: give an empty folder")
    wall0 = time.perf_counter()
    gateway, spec = set_up_world(base, seed, per_status, vault_slots, broken)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["kiosk.bench.powercut_child"])
    lives = Lives()
    try:
        kill_lives(ctx, gateway, spec, kills, only, between_share, rng, lives)
        last_life(ctx, gateway, spec, kills, rng, lives)
        gateway.faults.down = False
        wall = time.perf_counter() - wall0
        result = check(base, gateway, lives.deaths, lives.visits, kills, seed, wall, lives.made)
    finally:
        gateway.close()
    if not keep and held(result):
        shutil.rmtree(base, ignore_errors=True)
    else:
        result["folder"] = str(base)
    return result


def report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['kills']} kills (seed {r['seed']}) in {r['wall_seconds']} s"
        f" (a life starts in {r['start_ms_median']} ms, median)",
        "  kills by phase          "
        + ", ".join(f"{k} {v}" for k, v in r["kills_by_phase"].items())
        + f" ({r['kills_at_crossing']} at a crossing, {r['kills_between']} between)",
    ]
    for goal in GOALS:
        lines.append(f"  {goal.replace('_', ' '):<24}{r[goal]}  (goal 0)")
    lines += [
        "  visits                  " + ", ".join(f"{k} {v}" for k, v in r["visits"].items()),
        f"  cards                   {r['cards_dispensed']} dispensed, {r['releases_taken']} taken on record"
        f" ({r['reconciled']} settled at start), {r['cards_loaded']} loaded,"
        f" {r['cards_made_by_office']} new from the office",
        f"  bookings                {r['bookings_journaled']} journaled, {r['bookings_unanswered']} made at the"
        " gateway whose answer the kiosk never got",
        f"  tickets used            {r['tickets_used']}; events pending {r['events_pending']};"
        f" journal rows {r['journal_rows']}",
    ]
    if "folder" in r:
        lines.append(f"  data kept in            {r['folder']}")
    return "\n".join(lines)
