"""Fit the answer model (assistant/answer_model.json) on dev data: leave-gold-out runs of BEIR datasets.

    .venv/bin/python eval/datasets/make_regeringen.py                      # builds eval/out/regeringen-ki (once)
    .venv/bin/python bench/fit_answer_model.py                             # fit on the dev splits, write the model
    .venv/bin/python bench/fit_answer_model.py --check                     # print the operating points, write nothing

The dev data: regeringen-ki's dev split (two seeds) and SweFAQ-dev's dev split (qrels/dev.tsv, four seeds);
their test/heldout splits are never read here. Each run ingests a dataset without a seeded half of its gold documents
and answers every query with the current answering code; a row is the question's evidence features
(assistant.evidence), whether the question is answerable (a gold document is in the index) and whether the
sentence the answerer chose comes from a gold document. Two logistic models with L2 regularisation are fitted
on standardised features (Newton's method, numpy only): P(answerable), which decides refusals, and P(right),
which is the confidence and its label. Operating points are chosen on 5-fold cross-validated predictions of
the dev rows (so they are not set on predictions of the rows each model was fitted on):

- refuse_below: the highest refusal recall at which refusal precision stays at or above REFUSAL_PRECISION;
- high_at: the lowest P(right) above which answered questions are right at least 92 % of the time;
- medium_at: the lowest P(right) above which they are right at least 70 % of the time.

The rows of each run are cached in bench/out/fit-*.json; delete them after changing the answering code.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from assistant.calibration import MODEL_FILE, AnswerModel  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evidence import FEATURES  # noqa: E402
from assistant.heldout import evaluate_answers  # noqa: E402

OUT = ROOT / "bench" / "out"
# dataset folder, split, held-out fraction, seed
REGERINGEN = ROOT / "eval" / "out" / "regeringen-ki"
SWEFAQ = ROOT / "eval" / "datasets" / "swefaq-dev"
DEV_RUNS = [
    (REGERINGEN, "dev", 0.5, 0),
    (REGERINGEN, "dev", 0.5, 1),
    *((SWEFAQ, "dev", 0.5, seed) for seed in range(4)),
]
L2 = 1.0
# The aim is 0.90; cross-validated on the dev rows no threshold reaches it at a useful recall (0.91 holds
# for the 1.7 % least answerable), so the operating point asks for 0.80 (docs/answering.md has the curve).
REFUSAL_PRECISION = 0.80
FOLDS = 5
HIGH_PRECISION = 0.92
MEDIUM_PRECISION = 0.70


def run_rows(directory: Path, split: str, fraction: float, seed: int, fresh: bool) -> list[dict]:
    """The answer rows of one leave-gold-out run (cached)."""
    cache = OUT / f"fit-{directory.name}-{split}-{fraction}-{seed}.json"
    if cache.exists() and not fresh:
        return json.loads(cache.read_text())
    index_dir = OUT / f"fit-index-{directory.name}-{fraction}-{seed}"
    res = evaluate_answers(directory, Settings(), index_dir=index_dir, hold_out=fraction, seed=seed, split=split)
    OUT.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(res["questions"], ensure_ascii=False))
    return res["questions"]


def matrix(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels (the chosen sentence is from a gold document) and answerability of rows with a candidate."""
    rows = [r for r in rows if r.get("features")]
    x = np.array([[r["features"][f] for f in FEATURES] for r in rows], dtype=np.float64)
    y = np.array([bool(r["answerable"] and r["candidate_gold"]) for r in rows], dtype=np.float64)
    a = np.array([bool(r["answerable"]) for r in rows])
    return x, y, a


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression (Newton's method; the bias is not penalised)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = np.zeros(d + 1)
    pen = np.full(d + 1, l2)
    pen[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + pen * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(pen) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def refusal_point(p: np.ndarray, answerable: np.ndarray) -> float:
    """The threshold with the highest refusal recall whose refusal precision is at least REFUSAL_PRECISION."""
    best_t, best_recall = 0.0, -1.0
    for t in np.unique(np.round(p, 4)):
        refused = p < t
        if not refused.any():
            continue
        precision = (refused & ~answerable).sum() / refused.sum()
        recall = (refused & ~answerable).sum() / max(1, (~answerable).sum())
        if precision >= REFUSAL_PRECISION and recall > best_recall:
            best_t, best_recall = float(t), recall
    return best_t


def precision_point(p: np.ndarray, y: np.ndarray, target: float, floor: float, min_support: int = 20) -> float:
    """The lowest probability (at least floor) above which answers are right at least `target` of the time."""
    for t in np.unique(np.round(p[p >= floor], 4)):
        above = p >= t
        if above.sum() >= min_support and y[above].mean() >= target:
            return float(t)
    return 1.0


def cross_validated(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each row's prediction by a model fitted on the other folds."""
    fold = np.random.default_rng(seed).integers(0, FOLDS, len(y))
    p = np.zeros(len(y))
    for k in range(FOLDS):
        train = fold != k
        mean, scale = x[train].mean(0), x[train].std(0)
        scale[scale < 1e-9] = 1.0
        w, b = fit_logistic((x[train] - mean) / scale, y[train])
        p[~train] = 1 / (1 + np.exp(-(((x[~train] - mean) / scale) @ w + b)))
    return p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fresh", action="store_true", help="re-run the dev runs instead of using their cached rows")
    ap.add_argument("--check", action="store_true", help="print the fit and its operating points, write nothing")
    args = ap.parse_args()
    rows = [r for run in DEV_RUNS for r in run_rows(*run, fresh=args.fresh)]
    x, y, answerable = matrix(rows)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-9] = 1.0
    z = (x - mean) / scale
    w, b = fit_logistic(z, y)
    wa, ba = fit_logistic(z, answerable.astype(np.float64))
    p_cv, pa_cv = cross_validated(x, y), cross_validated(x, answerable.astype(np.float64))
    refuse = refusal_point(pa_cv, answerable)
    answered = pa_cv >= refuse
    high = precision_point(p_cv[answered], y[answered], HIGH_PRECISION, 0.0)
    medium = min(high, precision_point(p_cv[answered], y[answered], MEDIUM_PRECISION, 0.0))
    model = AnswerModel(
        features=FEATURES, mean=tuple(round(float(v), 6) for v in mean), scale=tuple(round(float(v), 6) for v in scale),
        weights=tuple(round(float(v), 6) for v in w), bias=round(b, 6),
        answerable_weights=tuple(round(float(v), 6) for v in wa), answerable_bias=round(ba, 6),
        refuse_below=round(refuse, 4), high_at=round(high, 4), medium_at=round(medium, 4),
        fitted_on={"runs": [f"{d.name}:{s}:hold-out {f}:seed {sd}" for d, s, f, sd in DEV_RUNS], "rows": int(len(y)),
                   "l2": L2, "refusal_precision_aim": REFUSAL_PRECISION, "script": "bench/fit_answer_model.py"},
    )
    print(f"{'feature':<16} {'P(right)':>9} {'P(answerable)':>14}")
    for name, wr, wq in sorted(zip(FEATURES, w, wa), key=lambda t: -abs(t[1]) - abs(t[2])):
        print(f"{name:<16} {wr:+9.3f} {wq:+14.3f}")
    refused = pa_cv < refuse
    print(f"rows {len(y)}  answerable {answerable.mean():.3f}  right {y.mean():.3f}  "
          f"refuse below {refuse:.3f}  high at {high:.3f}  medium at {medium:.3f}")
    print(f"dev, cross-validated: refusal precision {(refused & ~answerable).sum() / max(1, refused.sum()):.3f}  "
          f"recall {(refused & ~answerable).sum() / max(1, (~answerable).sum()):.3f}  "
          f"answered right {(~refused & (y > 0)).sum() / max(1, answerable.sum()):.3f}  "
          f"high precision {y[~refused & (p_cv >= high)].mean() if (~refused & (p_cv >= high)).any() else float('nan'):.3f}")
    print("refusal curve (cross-validated P(answerable) threshold: precision / recall / answered right):")
    for t in np.quantile(pa_cv, [0.05, 0.1, 0.2, 0.3, 0.4, 0.5]):
        r = pa_cv < t
        print(f"  {t:.3f}: {(r & ~answerable).sum() / max(1, r.sum()):.3f} / "
              f"{(r & ~answerable).sum() / max(1, (~answerable).sum()):.3f} / "
              f"{(~r & (y > 0)).sum() / max(1, answerable.sum()):.3f}")
    if not args.check:
        MODEL_FILE.write_text(json.dumps(model.to_json(), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
