"""The pseudonymisation key's generation: the check ingest makes before it pseudonymises.

A key's fingerprint is ``HMAC(key, FINGERPRINT_MESSAGE)`` (16 hex digits; it reveals nothing of
the key). The key ledger ``<staging>/key_generations.json`` lists every generation a rotation
(csp.key_rotation) has recorded; ingest refuses a key that is not the newest one, so a retired
key can never stage pseudonyms of another generation. This module sits beside csp.depersonalise
in the ingest layer and reads only the staging folder (the rotation, an operation, writes it).
"""
from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path

FINGERPRINT_MESSAGE = b"csp pseudonymisation key fingerprint"
KEY_LEDGER = "key_generations.json"


class KeyRotationError(RuntimeError):
    """The keys given do not fit the stores' key generation (wrong old key, same key twice)."""


def key_fingerprint(key: bytes) -> str:
    return hmac.new(key, FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def read_generations(staging_dir: Path) -> list[dict]:
    path = staging_dir / KEY_LEDGER
    return json.loads(path.read_text()) if path.exists() else []


def current_fingerprint(staging_dir: Path) -> str | None:
    generations = read_generations(staging_dir)
    return generations[-1]["fingerprint"] if generations else None


def assert_current_key(staging_dir: Path, key: bytes) -> None:
    """Refuse a key that is not the current generation's (ingest with a retired key would mix
    generations). Passes while no rotation has ever been recorded."""
    current = current_fingerprint(staging_dir)
    if current is not None and current != key_fingerprint(key):
        raise KeyRotationError(
            f"the pseudonymisation key configured (fingerprint {key_fingerprint(key)}) is not the "
            f"current generation's (fingerprint {current}, {staging_dir / KEY_LEDGER})")
