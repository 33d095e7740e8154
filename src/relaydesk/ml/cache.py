"""Derived model files kept on disk between processes (the exported query encoder, its tokenizer).

An entry is a folder ``<folder>/<name>/<key>/`` holding its files and a ``manifest.json`` with each
file's SHA-256 and the caller's metadata. ``key`` is a fingerprint of everything the files are derived
from (the model's files, the library versions, the export settings): another key is another entry, and
writing one removes the name's older entries. An entry is written in a temporary folder and renamed
into place, so a reader sees a whole entry or none; one whose files do not match their manifest (a
disk error, a hand edit) reads as absent, and the caller rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["CachedFiles", "fingerprint", "folder_fingerprint", "library_versions", "read", "write"]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class CachedFiles:
    """One entry: its files' bytes by name and the metadata written with them."""

    files: dict[str, bytes]
    meta: dict[str, Any]


def fingerprint(*parts: object) -> str:
    """A short stable hash of JSON-serialisable parts (the cache key)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def folder_fingerprint(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under ``folder`` as (relative path, size, modification time in ns): a model replaced
    or reinstalled in place changes it, without reading 90 MB of weights on every start."""
    found: list[tuple[str, int, int]] = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            found.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return found


def library_versions(*distributions: str) -> dict[str, str | None]:
    """Installed versions (None: not installed), read from package metadata without importing them."""
    versions: dict[str, str | None] = {}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _entry(folder: Path, name: str, key: str) -> Path:
    return folder / name / key


def read(folder: Path, name: str, key: str) -> CachedFiles | None:
    """The entry for ``key``, or None where there is none or it is incomplete or corrupt (logged)."""
    entry = _entry(folder, name, key)
    if not entry.is_dir():
        return None
    try:
        manifest = json.loads((entry / MANIFEST).read_text(encoding="utf-8"))
        files = {file: (entry / file).read_bytes() for file in manifest["files"]}
        for file, content in files.items():
            if hashlib.sha256(content).hexdigest() != manifest["files"][file]:
                raise ValueError(f"{file} does not match its checksum")
        meta = manifest["meta"]
        if not isinstance(meta, dict):
            raise TypeError("the metadata is not an object")
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("cache entry %s is unreadable (%s): it will be rebuilt", entry, exc)
        return None
    return CachedFiles(files, meta)


def write(folder: Path, name: str, key: str, files: dict[str, bytes], meta: dict[str, Any]) -> bool:
    """Store an entry (replacing the name's other entries); False, logged, where the disk refuses it:
    a cache that cannot be written costs the next start its time, never this one its work."""
    entry = _entry(folder, name, key)
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=entry.parent))
        try:
            for file, content in files.items():
                (staging / file).write_bytes(content)
            manifest = {"files": {f: hashlib.sha256(c).hexdigest() for f, c in files.items()}, "meta": meta}
            (staging / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
            # Older keys (another model or library version) and what a killed writer left.
            for stale in entry.parent.iterdir():
                if stale != staging:
                    shutil.rmtree(stale, ignore_errors=True)
            os.replace(staging, entry)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except OSError as exc:
        log.warning("could not write the cache entry %s (%s)", entry, exc)
        return False
    return True
