"""The calibrated relevance model: logistic regression on a candidate's features, and the abstain threshold.

``score`` is the probability that the article answers the query. The default coefficients ship in
``default_calibration.json`` (fitted on data/stackfaq/dev_queries.jsonl with the threshold chosen by
k-fold cross-validation); ``relaydesk kb calibrate`` refits them on an organisation's own labelled
queries and stores the result in the database (``kb_index_state.calibration``), where every process
picks it up with the next index generation.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Calibration", "default_calibration"]

DEFAULT_PATH = Path(__file__).with_name("default_calibration.json")


@dataclass(frozen=True)
class Calibration:
    feature_names: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    # Below this top probability search suggests nothing (the customer goes to a person).
    threshold: float
    # Where it came from and how it did under cross-validation (for people, not for scoring).
    meta: dict[str, Any] = field(default_factory=dict)

    def probabilities(self, features: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if features.shape[0] == 0:
            return np.zeros(0)
        z = ((features - np.asarray(self.mean)) / np.asarray(self.scale)) @ np.asarray(self.coef)
        result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-(z + self.intercept)))
        return result

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feature_names"] = list(self.feature_names)
        for name in ("mean", "scale", "coef"):
            data[name] = list(data[name])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            feature_names=tuple(data["feature_names"]),
            mean=tuple(float(v) for v in data["mean"]),
            scale=tuple(float(v) for v in data["scale"]),
            coef=tuple(float(v) for v in data["coef"]),
            intercept=float(data["intercept"]),
            threshold=float(data["threshold"]),
            meta=dict(data.get("meta") or {}),
        )


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    return Calibration.from_dict(json.loads(DEFAULT_PATH.read_text()))
