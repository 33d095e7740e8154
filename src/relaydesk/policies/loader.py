"""Load ``<policy_dir>/*.yaml``: each file is ``{kind: <name>, spec: {...}}`` and each kind has a schema.

Domains register their kind next to their code (``@policy_kind("required_fields")`` on a pydantic
model). A file that does not validate raises ``PolicyError`` naming the file and the field, so a bad
edit is refused before it goes live; the previous good version stays in force for running processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from relaydesk.kit.errors import RelaydeskError
from relaydesk.settings import get_settings

__all__ = ["PolicyError", "get_policy", "load_policy_dir", "policy_kind"]

M = TypeVar("M", bound=BaseModel)
_kinds: dict[str, type[BaseModel]] = {}
_lock = threading.Lock()


class PolicyError(RelaydeskError):
    status_code = 422
    code = "invalid_policy"


def policy_kind(name: str) -> Callable[[type[M]], type[M]]:
    def register(model: type[M]) -> type[M]:
        _kinds[name] = model
        return model

    return register


@dataclass(frozen=True)
class _Loaded:
    signature: tuple[tuple[str, float, int], ...]
    policies: dict[str, BaseModel]


_cache: dict[Path, _Loaded] = {}


def _signature(directory: Path) -> tuple[tuple[str, float, int], ...]:
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    return tuple((f.name, f.stat().st_mtime, f.stat().st_size) for f in files)


def load_policy_dir(directory: Path) -> dict[str, BaseModel]:
    """Parse and validate every policy file; raise PolicyError on the first problem."""
    policies: dict[str, BaseModel] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path.name}: not valid YAML: {exc}") from None
        if not isinstance(document, dict) or "kind" not in document or "spec" not in document:
            raise PolicyError(f"{path.name}: a policy file needs top-level 'kind' and 'spec' keys.")
        kind = str(document["kind"])
        model = _kinds.get(kind)
        if model is None:
            raise PolicyError(
                f"{path.name}: unknown kind {kind!r}; known kinds: {', '.join(sorted(_kinds))}."
            )
        if kind in policies:
            raise PolicyError(f"{path.name}: a second file of kind {kind!r}; keep one file per kind.")
        try:
            policies[kind] = model.model_validate(document["spec"])
        except ValidationError as exc:
            problems = "; ".join(
                f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise PolicyError(f"{path.name}: {problems}") from None
    return policies


def get_policy(kind: str, model: type[M], directory: Path | None = None) -> M | None:
    """The validated policy of ``kind``, reloaded when any file in the directory changed."""
    if directory is None:
        directory = get_settings().policy_dir
    directory = directory.resolve()
    signature = _signature(directory)
    with _lock:
        loaded = _cache.get(directory)
        if loaded is None or loaded.signature != signature:
            try:
                loaded = _Loaded(signature, load_policy_dir(directory))
            except PolicyError:
                if loaded is None:
                    raise
                # Keep serving the last good version (and do not re-parse the bad one on every call);
                # `relaydesk policy check` shows the error.
                loaded = _Loaded(signature, loaded.policies)
            _cache[directory] = loaded
    return _typed(loaded.policies.get(kind), model)


def _typed(value: Any, model: type[M]) -> M | None:
    return value if isinstance(value, model) else None
