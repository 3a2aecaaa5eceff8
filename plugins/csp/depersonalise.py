"""Depersonalisation: the last step that may see a source record reference.

Source record ids become keyed HMAC-SHA256 pseudonyms (stable per key, so repeats can still
be linked, but not reversible without the key), and nothing outside the dataset's canonical
schema survives. The key comes from the environment (or an Airflow connection mapped to it),
never from code; without one the pipeline refuses to run.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from csp.pii import redact
from csp.registry import LINEAGE_COLUMNS, Dataset

KEY_ENV = "CSP_PSEUDONYM_KEY"
KEY_FILE_ENV = "CSP_PSEUDONYM_KEY_FILE"
KEY_CONNECTION = "csp_pseudonym_key"


class MissingKeyError(RuntimeError):
    pass


def pseudonym_key() -> bytes:
    """The pseudonymisation key: $CSP_PSEUDONYM_KEY, the file named by $CSP_PSEUDONYM_KEY_FILE,
    or the password of the Airflow connection `csp_pseudonym_key` (AIRFLOW_CONN_CSP_PSEUDONYM_KEY)."""
    if value := os.environ.get(KEY_ENV):
        return value.encode()
    if path := os.environ.get(KEY_FILE_ENV):
        return Path(path).read_bytes().strip()
    if os.environ.get(f"AIRFLOW_CONN_{KEY_CONNECTION.upper()}"):
        from airflow.sdk import BaseHook

        password = BaseHook.get_connection(KEY_CONNECTION).password
        if password:
            return password.encode()
    raise MissingKeyError(
        "No pseudonymisation key configured: set CSP_PSEUDONYM_KEY, CSP_PSEUDONYM_KEY_FILE, or "
        f"the Airflow connection '{KEY_CONNECTION}' (its password is the key). "
        "Refusing to ingest: source record ids must never be stored in clear."
    )


def pseudonymise(values: pd.Series, key: bytes, namespace: str) -> pd.Series:
    """HMAC-SHA256 of ``namespace:value`` for each non-null value (hex), null stays null.

    Every row is hashed, repeats included: ids seldom repeat within a return, and finding
    the repeats (a hash table of a million strings) costs more than the HMACs it saves.
    """
    texts = values.astype("string").to_numpy(dtype=object, na_value=None)
    digests = _hmac_sha256_hex(key, f"{namespace}:".encode(), texts)
    return pd.Series(digests, index=values.index, name=values.name, dtype="string")


def _hmac_sha256_hex(key: bytes, prefix: bytes, texts) -> list[str | None]:
    """``hmac.new(key, prefix + text.encode(), sha256).hexdigest()`` for each text (None for
    None), built from HMAC's definition (RFC 2104): sha256(key ^ opad + sha256(key ^ ipad +
    message)). The two keyed states (and the prefix) are hashed once and copied per text;
    plain hashlib copies cost a third less than ``hmac.HMAC.copy``, which wraps the same
    state in Python code."""
    block = _HMAC_BLOCK_SIZE
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded) + prefix)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    new_inner, new_outer = inner.copy, outer.copy
    digests = []
    append = digests.append
    for text in texts:
        if text is None:
            append(None)
            continue
        message = new_inner()
        message.update(text.encode())
        mac = new_outer()
        mac.update(message.digest())
        append(mac.hexdigest())
    return digests


_HMAC_BLOCK_SIZE = hashlib.sha256().block_size  # 64 bytes


@dataclass
class Depersonalised:
    frame: pd.DataFrame
    rows_redacted: int = 0  # rows in which free text had personal data redacted
    redactions: dict[str, int] = field(default_factory=dict)  # pattern -> matches redacted

    @property
    def note(self) -> str | None:
        if not self.redactions:
            return None
        found = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(self.redactions.items()))
        return f"personal data redacted from free text in {self.rows_redacted} rows: {found}"


def depersonalise(frame: pd.DataFrame, dataset: Dataset, key: bytes) -> Depersonalised:
    """Replace ``source_ref`` by ``record_key``, redact personal data from the declared
    free-text columns, and keep only the canonical columns."""
    out = frame.copy(deep=False)  # copy-on-write: columns are replaced, never changed in place
    result = Depersonalised(out)
    for column in dataset.free_text:
        redaction = redact(out[column])
        out[column] = redaction.text
        result.rows_redacted += redaction.rows_redacted
        for kind, n in redaction.found.items():
            result.redactions[kind] = result.redactions.get(kind, 0) + n
    if dataset.kind == "record":
        out["record_key"] = pseudonymise(out.pop("source_ref"), key, dataset.id)
    # Lineage columns return_id / file_sha256 are stamped at staging, after this step.
    keep = [c for c in dataset.columns if c in out.columns or c not in LINEAGE_COLUMNS]
    missing = [c for c in keep if c not in out.columns]
    if missing:
        raise ValueError(f"{dataset.id}: adapter output lacks canonical columns {missing}")
    result.frame = out[keep]
    return result
