"""A multinomial logistic regression over hashed sparse features: fitted with SciPy's L-BFGS, applied with numpy.

Training runs only when the corpus or the code changes (the knowledge-base cache keys it); answering a
question needs numpy alone, so a cold start never imports SciPy. The fit is our own dozen lines because
scikit-learn's multinomial solver spends 60 s where this one, in float32 with a transposed copy of the
design matrix, needs about ten (bench/accuracy.py prints the time).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge.features import BUCKET_BITS

# Features seen in fewer training texts than this are noise (a name, a one-off typo).
MIN_DOCUMENT_FREQUENCY = 2


@dataclass
class LinearModel:
    """Weights per (kept feature bucket, class), the idf of each, and the class names in column order."""

    classes: tuple[str, ...]
    buckets: np.ndarray  # the kept buckets, sorted: row r of the weights belongs to buckets[r]
    idf: np.ndarray  # (rows,)
    weights: np.ndarray  # (rows, classes)
    bias: np.ndarray  # (classes,)

    def rows_of(self, buckets: np.ndarray) -> np.ndarray:
        """The weight rows of the distinct kept buckets among these (one gather from a bucket → row table)."""
        table = self.__dict__.get("_row_table")
        if table is None:  # built on first use, not pickled: 4 MB of int32 that numpy makes in milliseconds
            table = np.full(1 << BUCKET_BITS, -1, dtype=np.int32)
            table[self.buckets] = np.arange(len(self.buckets), dtype=np.int32)
            self.__dict__["_row_table"] = table
        rows = np.take(table, buckets)
        return np.unique(rows[rows >= 0])

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_row_table"}


def _design_matrix(rows: list[np.ndarray], model: LinearModel):
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for buckets in rows:
        index = model.rows_of(buckets)
        values = model.idf[index]
        norm = float(np.sqrt(values @ values)) or 1.0
        indices.append(index)
        data.append(values / norm)
        indptr.append(indptr[-1] + len(index))
    return csr_matrix((np.concatenate(data).astype(np.float32), np.concatenate(indices), np.array(indptr)),
                      shape=(len(rows), len(model.buckets)))


def _lbfgs(f, x: np.ndarray, iterations: int, memory: int = 8) -> np.ndarray:
    """Limited-memory BFGS with a backtracking line search, in float32.

    SciPy's L-BFGS-B spends 0.6 s of bookkeeping per step on our 4.7 M weights; this loop spends 0.02 s.
    The loss is convex and smooth, so the plain two-loop recursion with Armijo backtracking suffices.
    """
    loss, grad = f(x)
    history: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(iterations):
        direction = -grad
        alphas = []
        for s, y, rho in reversed(history):
            a = rho * float(s @ direction)
            alphas.append(a)
            direction -= a * y
        if history:
            s, y, _ = history[-1]
            direction *= float(s @ y) / float(y @ y)
        for (s, y, rho), a in zip(history, reversed(alphas), strict=True):
            b = rho * float(y @ direction)
            direction += (a - b) * s
        slope = float(grad @ direction)
        if slope >= 0:  # not a descent direction: restart from the gradient
            history.clear()
            direction, slope = -grad, -float(grad @ grad)
        step = 1.0 if history else 1.0 / max(1e-8, float(np.sqrt(grad @ grad)))
        while True:
            candidate = x + step * direction
            new_loss, new_grad = f(candidate)
            if new_loss <= loss + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, y = candidate - x, new_grad - grad
        sy = float(s @ y)
        if sy > 1e-10:
            history.append((s, y, 1.0 / sy))
            if len(history) > memory:
                history.pop(0)
        converged = abs(loss - new_loss) <= 1e-6 * max(1.0, abs(loss))
        x, loss, grad = candidate, new_loss, new_grad
        if converged:
            break
    return x


def train(rows: list[np.ndarray], labels: list[str], regularisation: float = 20.0,
          max_iterations: int = 40) -> LinearModel:
    """Minimise cross-entropy + ||W||² / (2C) from zero weights: deterministic for the same rows and labels.

    Forty L-BFGS steps: stopping there generalises as well as running to convergence, at a third of the time.
    """
    distinct = [np.unique(r) for r in rows]
    counted, frequency = np.unique(np.concatenate(distinct), return_counts=True)
    kept = counted[frequency >= MIN_DOCUMENT_FREQUENCY]
    n = len(rows)
    idf = (np.log((1 + n) / (1 + frequency[frequency >= MIN_DOCUMENT_FREQUENCY])) + 1.0).astype(np.float32)
    classes = tuple(sorted(set(labels)))
    shape = LinearModel(classes, kept, idf, np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.float32))
    matrix = _design_matrix(distinct, shape)
    transposed = matrix.T.tocsr()
    column = {c: i for i, c in enumerate(classes)}
    targets = np.zeros((n, len(classes)), dtype=np.float32)
    targets[np.arange(n), [column[label] for label in labels]] = 1.0
    features, k = matrix.shape[1], len(classes)
    penalty = np.float32(1.0 / regularisation)

    def loss_and_gradient(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights, bias = theta[:features * k].reshape(features, k), theta[features * k:]
        z = matrix @ weights + bias
        z -= z.max(axis=1, keepdims=True)
        expz = np.exp(z)
        total = expz.sum(axis=1, keepdims=True)
        loss = float(-(targets * (z - np.log(total))).sum()) + 0.5 * float(penalty) * float(weights.ravel() @ weights.ravel())
        residual = expz / total - targets
        gradient = np.empty_like(theta)
        gradient[:features * k] = (transposed @ residual + penalty * weights).ravel()
        gradient[features * k:] = residual.sum(axis=0)
        return loss, gradient

    theta = _lbfgs(loss_and_gradient, np.zeros(features * k + k, dtype=np.float32), max_iterations)
    weights = theta[:features * k].reshape(features, k).copy()
    return LinearModel(classes, kept, idf, weights, theta[features * k:].copy())
