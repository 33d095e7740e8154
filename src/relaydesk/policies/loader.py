"""Load ``<policy_dir>/*.yaml``: each file is ``{kind: <name>, spec: {...}}`` and each kind has a schema.

Domains register their kind next to their code (``@policy_kind("required_fields")`` on a pydantic
model). A file that does not validate raises ``PolicyError`` naming the file and the field, so a bad
edit is refused before it goes live; the previous good version stays in force for running processes.

Each file's **version** is a hash of its text (``policy_version(kind)``): a decision records it on the
event it writes, so the decision can be traced to the exact text that made it. Errors name the line
of the field (``sla.yaml:12: spec.policies.0.targets.first_response: ...``) from the YAML node marks.
Checks that need several kinds at once (an SLA entry naming a calendar of ``business_hours``) register
with ``@policy_cross_check`` and run on every load.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from relaydesk.kit.errors import RelaydeskError
from relaydesk.settings import get_settings

__all__ = [
    "PolicyError",
    "get_policy",
    "load_policy_dir",
    "load_policy_files",
    "policy_cross_check",
    "policy_kind",
    "policy_version",
]

M = TypeVar("M", bound=BaseModel)
_kinds: dict[str, type[BaseModel]] = {}
# fn(policies by kind) -> problems, each "file.yaml: what is wrong"; run after every kind validated.
CrossCheck = Callable[[dict[str, BaseModel]], list[str]]
_cross_checks: list[CrossCheck] = []
_lock = threading.Lock()


class PolicyError(RelaydeskError):
    status_code = 422
    code = "invalid_policy"


def policy_kind(name: str) -> Callable[[type[M]], type[M]]:
    def register(model: type[M]) -> type[M]:
        _kinds[name] = model
        return model

    return register


def policy_cross_check(fn: CrossCheck) -> CrossCheck:
    """Register a check across kinds (its problems refuse the folder like a field error)."""
    if fn not in _cross_checks:
        _cross_checks.append(fn)
    return fn


@dataclass(frozen=True)
class PolicyFile:
    """One validated policy file: its kind, its spec, its name and the hash of its text."""

    kind: str
    spec: BaseModel
    filename: str
    version: str


@dataclass(frozen=True)
class _Loaded:
    signature: tuple[tuple[str, float, int], ...]
    files: dict[str, PolicyFile]

    @property
    def policies(self) -> dict[str, BaseModel]:
        return {kind: loaded.spec for kind, loaded in self.files.items()}


_cache: dict[Path, _Loaded] = {}


def _signature(directory: Path) -> tuple[tuple[str, float, int], ...]:
    files = sorted(directory.glob("*.yaml")) if directory.is_dir() else []
    return tuple((f.name, f.stat().st_mtime, f.stat().st_size) for f in files)


def load_policy_dir(directory: Path, *, strict: bool = False) -> dict[str, BaseModel]:
    """Parse and validate every policy file; raise PolicyError on the first problem."""
    return {kind: loaded.spec for kind, loaded in load_policy_files(directory, strict=strict).items()}


def load_policy_files(directory: Path, *, strict: bool = False) -> dict[str, PolicyFile]:
    """Every policy file validated, with its version; raise PolicyError on the first problem.

    ``strict`` (``relaydesk policy check``, which imports every domain first) refuses a file of a kind
    no module registered: a misspelt kind. Otherwise such a file is left alone: nobody in this process
    can ask for it (asking needs the kind's model, and importing the model registers it)."""
    files: dict[str, PolicyFile] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PolicyError(f"{path.name}: not valid YAML: {exc}") from None
        if not isinstance(document, dict) or "kind" not in document or "spec" not in document:
            raise PolicyError(f"{path.name}: a policy file needs top-level 'kind' and 'spec' keys.")
        kind = str(document["kind"])
        model = _kinds.get(kind)
        if model is None:
            if not strict:
                continue
            raise PolicyError(
                f"{path.name}: unknown kind {kind!r}; known kinds: {', '.join(sorted(_kinds))}."
            )
        if kind in files:
            raise PolicyError(f"{path.name}: a second file of kind {kind!r}; keep one file per kind.")
        try:
            spec = model.model_validate(document["spec"])
        except ValidationError as exc:
            problems = "; ".join(
                f"{_where(path.name, node, ('spec', *err['loc']))}: "
                f"spec.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()[:5]
            )
            raise PolicyError(problems) from None
        version = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        files[kind] = PolicyFile(kind, spec, path.name, version)
    policies = {kind: loaded.spec for kind, loaded in files.items()}
    across = [problem for check in _cross_checks for problem in check(policies)]
    if across:
        raise PolicyError("; ".join(across))
    return files


def _where(filename: str, node: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    """``file.yaml:LINE`` of the deepest node on ``loc`` that exists (the field, or its parent)."""
    found = node
    for key in loc:
        child: yaml.Node | None = None
        if isinstance(found, yaml.MappingNode):
            child = next((v for k, v in found.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(found, yaml.SequenceNode) and isinstance(key, int) and 0 <= key < len(found.value):
            child = found.value[key]
        if child is None:
            break
        found = child
    return f"{filename}:{found.start_mark.line + 1}" if found is not None else filename


def get_policy(kind: str, model: type[M], directory: Path | None = None) -> M | None:
    """The validated policy of ``kind``, reloaded when any file in the directory changed."""
    if directory is None:
        directory = get_settings().policy_dir
    loaded = _current(directory)
    found = loaded.files.get(kind)
    return _typed(found.spec if found is not None else None, model)


def policy_version(kind: str, directory: Path | None = None) -> str | None:
    """The hash of the text of the policy of ``kind`` now in force (None: no such file)."""
    found = _current(directory).files.get(kind)
    return found.version if found is not None else None


def _current(directory: Path | None) -> _Loaded:
    if directory is None:
        directory = get_settings().policy_dir
    directory = directory.resolve()
    signature = _signature(directory)
    with _lock:
        loaded = _cache.get(directory)
        if loaded is None or loaded.signature != signature:
            try:
                loaded = _Loaded(signature, load_policy_files(directory))
            except PolicyError:
                if loaded is None:
                    raise
                # Keep serving the last good version (and do not re-parse the bad one on every call);
                # `relaydesk policy check` shows the error.
                loaded = _Loaded(signature, loaded.files)
            _cache[directory] = loaded
    return loaded


def _typed(value: Any, model: type[M]) -> M | None:
    return value if isinstance(value, model) else None
