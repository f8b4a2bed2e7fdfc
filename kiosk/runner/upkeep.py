"""What the outbox worker does after each drain that reached the gateway: poll the manifest, refresh
this kiosk's leased recording places, send the heartbeat (with the status snapshot), and apply the store's
retention rules (kiosk.store.retention)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

from kiosk.gateway.client import Conflict, GatewayClient, GatewayRefused, GatewayUnavailable, HeadRef
from kiosk.gateway.head import HeadSigner
from kiosk.runner.status import StatusBoard
from kiosk.store import Store
from kiosk.store.db import Pruned
from kiosk.sync.worker import SyncWorker

log = logging.getLogger(__name__)


class Upkeep:
    """Manifest, leases and heartbeat, kept fresh while the link is up."""

    def __init__(
        self,
        store: Store,
        gateway: GatewayClient,
        status: StatusBoard,
        today: Callable[[], dt.date],
        signer: HeadSigner,
    ) -> None:
        self.store, self.gateway, self.status, self.today = store, gateway, status, today
        self.signer = signer  # signs the journal head each heartbeat carries
        self.manifest_version: int | None = None  # the manifest version last seen (None: never asked)
        self.anchor: HeadRef | None = None  # the newest journal head the gateway said it holds
        self.journal_verdict = ""  # the gateway's word on the last head sent ("" before the first)

    def attach(self, sync: SyncWorker) -> None:
        """Run after each drain of `sync` that reached the gateway; the status board reads its link state."""
        self.status.sync = sync
        sync.after_sync.extend([self.refresh_manifest, self.refresh_leases, self.heartbeat, self.apply_retention])
        sync.on_conflict = self.conflict

    def conflict(self, c: Conflict) -> None:
        """A conflict the gateway found in one of this kiosk's events (e.g. a ticket used at another kiosk
        too while this one was offline): journaled for staff and counted for the fleet's alert."""
        kind = c.kind if c.kind.isascii() and c.kind.replace("_", "").isalnum() else "other"
        log.warning("gateway reports a conflict in event %s: %s", c.event_id, kind)
        self.store.journal("gateway_conflict", {"event": c.event_id, "kind": kind, "detail": c.detail[:200]})
        self.status.counters.conflict(kind)

    def refresh_manifest(self) -> int | None:
        """Poll the manifest (cheap when unchanged): renew each card's validity, withdraw cards no longer
        listed. Returns how many were withdrawn, None if the gateway could not be asked."""
        try:
            version, cards, keys = self.gateway.manifest_since(self.manifest_version)
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.info("manifest not refreshed: %s", exc)
            return None
        self.manifest_version = version
        if cards is None:
            return 0
        if keys is not None and self.store.replace_ticket_keys(keys):  # a rotation or retirement reached us
            log.info("ticket keys from the manifest: %s", ", ".join(map(str, sorted(keys))))
        withdrawn = self.store.renew_manifest({c.card_id: c.valid_until or "9999-12-31" for c in cards})
        if withdrawn:
            log.warning("%d card(s) withdrawn from this kiosk's manifest: due for unloading", withdrawn)
        return withdrawn

    def refresh_leases(self, days: int = 7) -> bool:
        """Ask the gateway for this kiosk's leased places."""
        first = self.today() + dt.timedelta(days=1)
        try:
            rows = self.gateway.leases(first, days)
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.info("leases not refreshed: %s", exc)
            return False
        return self.store.replace_leases([dataclasses.asdict(row) for row in rows])

    def apply_retention(self) -> Pruned:
        """Prune delivered events and stale statuses past their retention (docs/data-protection.md)."""
        pruned = self.store.apply_retention(self.today())
        if pruned != Pruned():
            log.info(
                "retention: %d delivered event(s) pruned, %d masked, %d seen status(es) forgotten",
                pruned.events,
                pruned.masked,
                pruned.statuses,
            )
        return pruned

    def heartbeat(self) -> bool:
        """Probe the quiet parts, then send the status snapshot with the signed journal head, and the
        kiosk's own hash of the row the gateway last anchored (so a rewrite of it shows at once)."""
        self.status.probe()
        snapshot = self.status.snapshot()
        body = snapshot.heartbeat()
        body["journal_head"] = self.signer.sign(snapshot.journal_seq, snapshot.journal_head).to_json()
        if self.anchor is not None and (held := self.store.journal_row_hash(self.anchor.seq)) is not None:
            body["journal_since"] = {"seq": self.anchor.seq, "hash": held}
        try:
            answer = self.gateway.heartbeat(body)
        except (GatewayUnavailable, GatewayRefused) as exc:
            log.info("heartbeat not delivered: %s", exc)
            return False
        self.anchor, self.journal_verdict = answer.anchor, answer.verdict
        if answer.verdict not in ("anchored", "unchanged"):
            log.error(
                "the gateway did not anchor this kiosk's journal head (row %d): %s",
                snapshot.journal_seq,
                answer.verdict,
            )
        return True
