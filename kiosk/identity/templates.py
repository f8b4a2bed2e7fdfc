"""Face templates of the cards in this kiosk's vault: computed from the recording photo in the manifest
when a card is loaded, sealed in the store, erased by the store when the card leaves (release or unload).
The photo itself is never written anywhere."""

from __future__ import annotations

import logging
from collections.abc import Callable

import cv2
import numpy as np
from cryptography.exceptions import InvalidTag

from kiosk.store import Store
from kiosk.store.sealed import Sealer

log = logging.getLogger(__name__)
Enrol = Callable[[np.ndarray], np.ndarray | None]


class Templates:
    """Sealed face templates by card ID."""

    def __init__(self, store: Store, sealer: Sealer, enrol: Enrol | None) -> None:
        self.store = store
        self.sealer = sealer
        self.enrol = enrol  # None: this kiosk computes no templates (simulated faces)

    def add_from_photo(self, card_id: str, photo: bytes) -> bool:
        """Compute and seal the template of the face in `photo` (JPEG/PNG bytes); False if there is none."""
        if self.enrol is None:
            return False
        image = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
        template = self.enrol(image) if image is not None else None
        if template is None:
            log.warning("no face found in the recording photo of card %s: no template", card_id)
            return False
        data = np.asarray(template, dtype="<f8").tobytes()
        self.store.put_template(card_id, self.sealer.seal(data, card_id))
        return True

    def get(self, card_id: str) -> np.ndarray | None:
        blob = self.store.template(card_id)
        if blob is None:
            return None
        try:
            return np.frombuffer(self.sealer.open(blob, card_id), dtype="<f8")
        except InvalidTag:
            log.error("the template of card %s does not open (changed, or sealed for another card)", card_id)
            return None
