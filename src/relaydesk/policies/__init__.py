"""Policies as code: YAML files validated by typed schemas, reloaded when they change. See README.md."""

from relaydesk.policies.loader import PolicyError, get_policy, load_policy_dir, policy_kind

__all__ = ["PolicyError", "get_policy", "load_policy_dir", "policy_kind"]
