"""The numeric fitting behind the embedded judge (:mod:`.train_embedded`): class-balanced
L2 logistic regression by damped Newton, grouped cross-validation folds, the per-category
and pooled models of one configuration, temperature scaling, and the H² ridge."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..types import Category
from ._embedded_features import SCALAR_NAMES
from ._embedded_h2 import DIMENSIONS, H2Model, fit_ridge, h2_design

__all__ = [
    "FOLDS",
    "H2_LAMBDAS",
    "SEED",
    "FitConfig",
    "cross_validate",
    "fit_h2",
    "fit_logistic",
    "fit_temperature",
    "folds_by_question",
    "per_category",
    "predict",
]

FloatArray = npt.NDArray[np.float64]

SEED = 20240611
FOLDS = 5
H2_LAMBDAS = (3.0, 10.0, 30.0, 100.0)


def newton_direction(x: FloatArray, curvature: FloatArray, lam: float, grad_w: FloatArray,
                      grad_b: float) -> tuple[FloatArray, float]:
    """Solve the Newton system of L2 logistic regression with an unpenalised bias.

    Hessian = [[A, c], [c^T, e]] with A = 2 lam I + X^T D X, c = X^T D 1, e = sum D.
    A^-1 comes from the Woodbury identity, so the only solve is n x n (n answers, far
    fewer than the ~400 features); the bias is eliminated with the Schur complement.
    """
    n = x.shape[0]
    root = np.sqrt(curvature)
    u = x * root[:, None]
    inner = u @ u.T + 2.0 * lam * np.eye(n)
    c = x.T @ curvature
    rhs = np.stack([grad_w, c], axis=1)
    a_inv = (rhs - u.T @ np.linalg.solve(inner, u @ rhs)) / (2.0 * lam)
    a_g, a_c = a_inv[:, 0], a_inv[:, 1]
    schur = float(curvature.sum()) - float(c @ a_c) + 1e-12
    step_b = (grad_b - float(c @ a_g)) / schur
    return a_g - a_c * step_b, step_b


def fit_logistic(x: FloatArray, y: FloatArray, lam: float) -> tuple[FloatArray, float]:
    """Class-balanced L2 logistic regression (bias unpenalised).

    Damped Newton from zeros: exact and deterministic (the loss is strictly convex
    thanks to the L2 term), and fast because each step solves an n x n system.
    """
    n, dim = x.shape
    pos = max(float(y.mean()), 1e-6)
    sample_w = np.where(y > 0, 0.5 / pos, 0.5 / max(1.0 - pos, 1e-6)) / n

    def loss(w: FloatArray, b: float) -> float:
        z = x @ w + b
        return float(np.sum(sample_w * (np.logaddexp(0.0, z) - y * z)) + lam * (w @ w))

    w, b = np.zeros(dim), 0.0
    current = loss(w, b)
    for _ in range(100):
        p = 0.5 * (1.0 + np.tanh(0.5 * (x @ w + b)))
        residual = sample_w * (p - y)
        step_w, step_b = newton_direction(
            x, sample_w * p * (1.0 - p), lam, x.T @ residual + 2.0 * lam * w,
            float(residual.sum()))
        scale = 1.0
        while True:  # halve until the loss does not go up
            cand_w, cand_b = w - scale * step_w, b - scale * step_b
            value = loss(cand_w, cand_b)
            if value <= current or scale < 1e-6:
                break
            scale *= 0.5
        w, b, improvement, current = cand_w, cand_b, current - value, value
        if scale * max(float(np.max(np.abs(step_w))), abs(step_b)) < 1e-10 or improvement < 1e-15:
            break
    return w, b


def balanced_accuracy(y: FloatArray, p: FloatArray) -> float:
    yes = p >= 0.5
    parts = [float(yes[y > 0].mean()) if (y > 0).any() else None,
             float((~yes[y <= 0]).mean()) if (y <= 0).any() else None]
    present = [v for v in parts if v is not None]
    return sum(present) / len(present)


def folds_by_question(questions: Sequence[str]) -> npt.NDArray[np.int64]:
    unique = sorted(set(questions))
    order = np.random.RandomState(SEED).permutation(len(unique))
    fold_of = {q: int(order[i]) % FOLDS for i, q in enumerate(unique)}
    return np.array([fold_of[q] for q in questions], dtype=np.int64)


@dataclass(frozen=True)
class FitConfig:
    lam: float
    emb_scale: float
    mix: float


def scaled(x: FloatArray, emb_scale: float) -> FloatArray:
    out: FloatArray = x.copy()
    out[:, len(SCALAR_NAMES):] *= emb_scale
    return out


def pooled_design(x: FloatArray, cats: Sequence[Category]) -> FloatArray:
    """Shared weights for every non-control category, plus per-category scalar weights."""
    names = [c for c in Category if not c.is_control]
    n_s = len(SCALAR_NAMES)
    onehot = np.array([[float(c == k) for k in names] for c in cats])
    inter = (x[:, :n_s, None] * onehot[:, None, :]).reshape(len(x), -1)
    return np.hstack([x, inter, onehot])


def fit_config(x: FloatArray, y: FloatArray, cats: Sequence[Category],
                cfg: FitConfig) -> dict[Category, tuple[FloatArray, float]]:
    """Per-category linear models (the pooled one folded into each) for one config."""
    xs = scaled(x, cfg.emb_scale)
    cat_arr = np.array([c.value for c in cats])
    models: dict[Category, tuple[FloatArray, float]] = {}
    pooled: tuple[FloatArray, float] | None = None
    if cfg.mix < 1.0:
        mask = cat_arr != Category.CONTROL.value
        pooled = fit_logistic(pooled_design(xs[mask], [c for c in cats if not c.is_control]),
                              y[mask], cfg.lam)
    names = [c for c in Category if not c.is_control]
    n_s, dim = len(SCALAR_NAMES), x.shape[1]
    for category in Category:
        mask = cat_arr == category.value
        w, b = fit_logistic(xs[mask], y[mask], cfg.lam)
        if pooled is not None and not category.is_control:
            k = names.index(category)
            pw, pb = pooled
            shared = pw[:dim].copy()
            # interaction weight of scalar s for category k sits at dim + s * K + k
            shared[:n_s] += pw[dim : dim + n_s * len(names)][k :: len(names)]
            bias = pb + pw[dim + n_s * len(names) + k]
            w = cfg.mix * w + (1 - cfg.mix) * shared
            b = cfg.mix * b + (1 - cfg.mix) * bias
        w = w.copy()
        w[n_s:] *= cfg.emb_scale  # fold the scale into the weights: inference uses raw x
        models[category] = (w, b)
    return models


def predict(models: dict[Category, tuple[FloatArray, float]], x: FloatArray,
             cats: Sequence[Category]) -> FloatArray:
    return np.array([float(models[c][0] @ x[i] + models[c][1]) for i, c in enumerate(cats)])


def cross_validate(x: FloatArray, y: FloatArray, cats: Sequence[Category],
                    folds: npt.NDArray[np.int64], cfg: FitConfig) -> FloatArray:
    logits = np.zeros(len(y))
    for f in range(FOLDS):
        train_idx, test_idx = np.where(folds != f)[0], np.where(folds == f)[0]
        models = fit_config(x[train_idx], y[train_idx], [cats[i] for i in train_idx], cfg)
        logits[test_idx] = predict(models, x[test_idx], [cats[i] for i in test_idx])
    return logits


def fit_temperature(logits: FloatArray, y: FloatArray) -> float:
    from scipy.optimize import minimize_scalar

    def nll(t: float) -> float:
        z = logits / t
        return float(np.mean(np.logaddexp(0.0, z) - y * z))

    return float(minimize_scalar(nll, bounds=(0.2, 20.0), method="bounded").x)


def per_category(y: FloatArray, p: FloatArray, cats: Sequence[Category]) -> dict[str, float]:
    out = {}
    for category in Category:
        mask = np.array([c == category for c in cats])
        if mask.any():
            out[category.value] = round(balanced_accuracy(y[mask], p[mask]), 4)
    out["overall"] = round(balanced_accuracy(y, p), 4)
    return out


def spearman(a: FloatArray, b: FloatArray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def fit_h2(x: FloatArray, p_honest: FloatArray, targets: FloatArray,
            folds: npt.NDArray[np.int64], log: Any) -> tuple[H2Model, dict[str, Any]]:
    """Ridge per H² score; the penalty chosen by grouped CV on the overall score."""
    design = h2_design(x, p_honest)
    best: tuple[float, float] | None = None
    for lam in H2_LAMBDAS:
        pred = np.zeros(len(design))
        for f in range(FOLDS):
            tr, te = folds != f, folds == f
            w, b = fit_ridge(design[tr], targets[tr, 3], lam)
            pred[te] = design[te] @ w + b
        gate = np.clip((p_honest - 0.1) / 0.8, 0.0, 1.0)
        rho = spearman(1.0 + (np.clip(pred, 1.0, 10.0) - 1.0) * gate, targets[:, 3])
        log(f"  cv H² ridge lam={lam:g}: Spearman of overall {rho:.3f}")
        if best is None or rho > best[1] + 1e-9:
            best = (lam, rho)
    assert best is not None
    lam, rho = best
    weights, bias = {}, {}
    for k, dim in enumerate(DIMENSIONS):
        weights[dim], bias[dim] = fit_ridge(design, targets[:, k], lam)
    return H2Model(weights, bias), {"lambda": lam, "cv_spearman_overall": round(rho, 4)}
