"""Where an administration's consumer hands a complaint over: one class per destination.

Each `deliver` must be idempotent (the same message may come twice after a crash) and
must raise when the administration's side did not accept the complaint, so it is not acked.
"""
import json
import os
import tempfile
from pathlib import Path

import requests


class DeliveryFailed(Exception):
    pass


class DirectoryInbox:
    """The embedded default: one JSON file per complaint under <dir>/<administration>/."""
    name = "inbox"

    def __init__(self, root: Path):
        self.root = Path(root)

    def path_for(self, administration_code: str, tracking_number: str) -> Path:
        return self.root / administration_code / f"{tracking_number}.json"

    def deliver(self, complaint: dict) -> None:
        target = self.path_for(complaint["administration_code"], complaint["tracking_number"])
        target.parent.mkdir(parents=True, exist_ok=True)
        # write then rename: a reader never sees half a complaint, a rerun just replaces it
        with tempfile.NamedTemporaryFile("w", dir=target.parent, delete=False, encoding="utf-8",
                                         suffix=".tmp") as handle:
            json.dump(complaint, handle, ensure_ascii=False, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, target)


class WebhookInbox:
    """An administration's own system: the complaint is POSTed as JSON and must be answered 2xx.

    `Idempotency-Key` carries the message id, so the receiving system can drop a repeat.
    """
    name = "webhook"

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url
        self.timeout = timeout
        self.http = requests.Session()

    def deliver(self, complaint: dict) -> None:
        try:
            response = self.http.post(self.url, json=complaint, timeout=self.timeout,
                                      headers={"Idempotency-Key": complaint["message_id"]})
        except requests.RequestException as exc:
            raise DeliveryFailed(f"webhook unreachable: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"webhook answered {response.status_code}")
