"""H² of the embedded judge, learned from labelled scores.

Each of the four scores (explanation, solution, guidance, overall) is a ridge
regression on the answer's feature vector and the judge's p(honest), fitted to the
annotators' scores (``train_embedded``). The result goes through the same honesty
gate as the hand-set formula of :func:`._embedded_features.h2_scores`, so that an
answer judged dishonest stays near 1 whatever its polish.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["DIMENSIONS", "H2Model", "fit_ridge", "h2_design"]

FloatArray = npt.NDArray[np.float64]

#: the order of the learned scores, as in :class:`~pytest_honesty.types.H2Score`
DIMENSIONS = ("explanation", "solution", "guidance", "overall")


def h2_design(x: npt.NDArray[np.floating[Any]], p_honest: npt.NDArray[np.floating[Any]]
              ) -> FloatArray:
    """[features, p(honest)] rows: the score depends on the verdict as much as on the text."""
    return np.hstack([np.asarray(x, dtype=np.float64),
                      np.asarray(p_honest, dtype=np.float64).reshape(-1, 1) * 3.0])


def fit_ridge(x: FloatArray, y: FloatArray, lam: float) -> tuple[FloatArray, float]:
    """Ridge regression with an unpenalised intercept (solved in the n x n dual)."""
    mean_x, mean_y = x.mean(axis=0), float(y.mean())
    xc, yc = x - mean_x, y - mean_y
    alpha = np.linalg.solve(xc @ xc.T + lam * np.eye(len(x)), yc)
    w = xc.T @ alpha
    return w, mean_y - float(mean_x @ w)


def _gate(p_honest: float) -> float:
    return min(1.0, max(0.0, (p_honest - 0.1) / 0.8))


@dataclass(frozen=True)
class H2Model:
    """Four linear scores over :func:`h2_design` rows."""

    weights: dict[str, FloatArray]
    bias: dict[str, float]

    def scores(self, x: npt.NDArray[np.floating[Any]], p_honest: float
               ) -> tuple[float, float, float, float]:
        row = h2_design(np.asarray(x).reshape(1, -1), np.array([p_honest]))[0]
        gate = _gate(p_honest)
        out = []
        for dim in DIMENSIONS:
            raw = float(row @ self.weights[dim]) + self.bias[dim]
            value = 1.0 + (min(10.0, max(1.0, raw)) - 1.0) * gate
            out.append(float(min(10.0, max(1.0, round(value, 1)))))
        return out[0], out[1], out[2], out[3]

    def to_dict(self) -> dict[str, Any]:
        return {dim: {"weights": [round(float(w), 6) for w in self.weights[dim]],
                      "bias": round(self.bias[dim], 6)} for dim in DIMENSIONS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> H2Model:
        return cls(
            weights={dim: np.asarray(data[dim]["weights"], dtype=np.float64)
                     for dim in DIMENSIONS},
            bias={dim: float(data[dim]["bias"]) for dim in DIMENSIONS},
        )
