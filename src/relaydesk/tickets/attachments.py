"""Attachment files on disk: content-addressed, size-limited, names made safe."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from pathlib import Path

from relaydesk.kit.errors import PayloadTooLargeError, ValidationFailedError
from relaydesk.settings import get_settings

__all__ = ["StoredFile", "read_file", "safe_filename", "store_file"]


class StoredFile:
    def __init__(self, sha256: str, size: int, storage_key: str) -> None:
        self.sha256 = sha256
        self.size = size
        self.storage_key = storage_key


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFKC", name).replace("\\", "/").split("/")[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "_", name).strip(" .")
    return name[:200] or "attachment"


def store_file(payload: bytes, *, upload_dir: Path | None = None) -> StoredFile:
    settings = get_settings()
    limit = settings.max_upload_bytes
    if len(payload) > limit:
        raise PayloadTooLargeError(
            f"The file is {len(payload)} bytes; the limit is {limit} bytes (RELAYDESK_MAX_UPLOAD_BYTES)."
        )
    if not payload:
        raise ValidationFailedError("The file is empty.")
    digest = hashlib.sha256(payload).hexdigest()
    key = f"{digest[:2]}/{digest[2:4]}/{digest}"
    root = upload_dir or settings.resolved_upload_dir
    path = root / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a crash never leaves a half-written file under the final name.
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(payload)
        tmp.replace(path)
    return StoredFile(digest, len(payload), key)


def read_file(storage_key: str, *, upload_dir: Path | None = None) -> bytes:
    root = (upload_dir or get_settings().resolved_upload_dir).resolve()
    path = (root / storage_key).resolve()
    if root not in path.parents:
        raise ValidationFailedError("Invalid attachment key.")
    return path.read_bytes()
