"""The answer model: a logistic model of how likely an answer is right, fitted on data, and its operating points."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .evidence import FEATURES

MODEL_FILE = Path(__file__).resolve().parent / "answer_model.json"


@dataclass(frozen=True)
class AnswerModel:
    """Two logistic models over the same standardised features, and their operating points.

    `weights`/`bias` give the probability that the chosen answer is right (the confidence and its label);
    `answerable_weights`/`answerable_bias` the probability that the documents answer the question at all
    (below `refuse_below` the question is refused).
    """

    features: tuple[str, ...] = FEATURES
    mean: tuple[float, ...] = ()
    scale: tuple[float, ...] = ()
    weights: tuple[float, ...] = ()
    bias: float = 0.0
    answerable_weights: tuple[float, ...] = ()
    answerable_bias: float = 0.0
    refuse_below: float = 0.5
    high_at: float = 0.8
    medium_at: float = 0.6
    fitted_on: dict = field(default_factory=dict)

    def _logistic(self, evidence: dict[str, float], weights: tuple[float, ...], bias: float) -> float:
        z = bias
        for name, m, s, w in zip(self.features, self.mean, self.scale, weights):
            z += w * (float(evidence.get(name, 0.0)) - m) / (s or 1.0)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def probability(self, evidence: dict[str, float]) -> float:
        """The probability that the answer the evidence supports is right."""
        return self._logistic(evidence, self.weights, self.bias)

    def answerable(self, evidence: dict[str, float]) -> float:
        """The probability that the documents answer the question at all."""
        return self._logistic(evidence, self.answerable_weights or self.weights, self.answerable_bias)

    def label(self, p: float) -> str:
        """high, medium or low: how sure an answer with this probability is."""
        if p >= self.high_at:
            return "high"
        return "medium" if p >= self.medium_at else "low"

    def to_json(self) -> dict:
        """The model as stored in answer_model.json."""
        return {
            "features": list(self.features), "mean": list(self.mean), "scale": list(self.scale),
            "weights": list(self.weights), "bias": self.bias, "answerable_weights": list(self.answerable_weights),
            "answerable_bias": self.answerable_bias, "refuse_below": self.refuse_below,
            "high_at": self.high_at, "medium_at": self.medium_at, "fitted_on": self.fitted_on,
        }


def load_model(path: Path) -> AnswerModel:
    """An answer model from its JSON file."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return AnswerModel(
        features=tuple(data["features"]), mean=tuple(data["mean"]), scale=tuple(data["scale"]),
        weights=tuple(data["weights"]), bias=float(data["bias"]),
        answerable_weights=tuple(data.get("answerable_weights", ())), answerable_bias=float(data.get("answerable_bias", 0.0)),
        refuse_below=float(data["refuse_below"]),
        high_at=float(data["high_at"]), medium_at=float(data["medium_at"]), fitted_on=data.get("fitted_on", {}),
    )


@cache
def answer_model() -> AnswerModel:
    """The shipped answer model (assistant/answer_model.json, written by bench/fit_answer_model.py)."""
    return load_model(MODEL_FILE)
