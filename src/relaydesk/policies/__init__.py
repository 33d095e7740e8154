"""Policies as code: YAML files validated by typed schemas, reloaded when they change. See README.md."""

from relaydesk.policies.docs import policy_renderer, render_policy_docs
from relaydesk.policies.loader import (
    PolicyError,
    get_policy,
    load_policy_dir,
    load_policy_files,
    policy_cross_check,
    policy_kind,
    policy_version,
)

__all__ = [
    "PolicyError",
    "get_policy",
    "load_policy_dir",
    "load_policy_files",
    "policy_cross_check",
    "policy_kind",
    "policy_renderer",
    "policy_version",
    "render_policy_docs",
]
