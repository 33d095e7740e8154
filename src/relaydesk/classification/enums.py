"""Enumerations of the classification domain: public surface (other domains import them from here)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ModelState"]


class ModelState(StrEnum):
    CANDIDATE = "candidate"  # trained and registered, not serving
    ACTIVE = "active"  # the one version of its head that answers predict()
    SHADOW = "shadow"  # predicts beside the active one; only the agreement is recorded
    RETIRED = "retired"  # served before; rollback returns to the newest retired one
    ROLLED_BACK = "rolled_back"  # taken out of service by a rollback; never chosen by rollback again
