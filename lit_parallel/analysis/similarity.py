"""Cross-language alignment of program embeddings: retrieval accuracy and cosine similarity.

Pure numpy, no models: embeddings in, numbers out. Program ``i`` of language A and program ``i`` of
language B solve the same problem (they are *equivalent*); every other pair is not. For a pair of
languages and one layer:

- ``top1``: how often the nearest B program (by cosine) of an A program is its equivalent;
- ``mrr``: the mean reciprocal rank of the equivalent among all B programs;
- ``cos_pos`` / ``cos_neg``: mean cosine of equivalent / non-equivalent pairs, ``cos_gap`` their
  difference (raw cosines of hidden states are all high; the gap is what separates equivalents).

Retrieval runs both ways (A to B and B to A) and is averaged, so a pair's numbers do not depend on
its order. Ties are broken at random in expectation: a layer that maps every program to the same
vector scores exactly the chance level, 1/N for top-1 and H_N/N for MRR, not a perfect 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np

METRICS = ("top1", "mrr", "cos_pos", "cos_neg", "cos_gap")
"""Every metric of a (pair, layer), in report order."""
TIE_TOLERANCE = 1e-6
"""Cosines closer than this count as tied (identical vectors need not give bit-identical products)."""


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[i, j]`` = cosine of row i of ``a`` and row j of ``b`` (zero rows have cosine 0 to everything)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return a @ b.T


def retrieval(similarity: np.ndarray) -> tuple[float, float]:
    """(top-1 accuracy, MRR) of finding column i from row i, over the rows of a square matrix.

    With ``g`` columns scoring above the equivalent and ``t`` others tied with it, the equivalent's
    rank is uniform on g+1 .. g+t+1: its top-1 is 1/(t+1) when g = 0, its reciprocal rank the mean of
    1/r over that range.
    """
    n = similarity.shape[0]
    if similarity.shape != (n, n) or n < 2:
        raise ValueError(f"need a square similarity matrix of at least 2 x 2, got {similarity.shape}")
    own = np.diag(similarity)[:, None]
    others = ~np.eye(n, dtype=bool)
    tied = (np.abs(similarity - own) <= TIE_TOLERANCE) & others
    above = (similarity > own) & ~tied & others
    g, t = above.sum(1), tied.sum(1)
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1))])
    top1 = np.where(g == 0, 1.0 / (t + 1), 0.0)
    reciprocal = (harmonic[g + t + 1] - harmonic[g]) / (t + 1)
    return float(top1.mean()), float(reciprocal.mean())


def pair_metrics(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Every metric of :data:`METRICS` for two aligned ``[N, H]`` embedding matrices."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"the two languages need the same programs: {a.shape[0]} vs {b.shape[0]} rows")
    similarity = cosine_matrix(a, b)
    top1_ab, mrr_ab = retrieval(similarity)
    top1_ba, mrr_ba = retrieval(similarity.T)
    diagonal = np.eye(len(similarity), dtype=bool)
    cos_pos, cos_neg = float(similarity[diagonal].mean()), float(similarity[~diagonal].mean())
    return {
        "top1": (top1_ab + top1_ba) / 2,
        "mrr": (mrr_ab + mrr_ba) / 2,
        "cos_pos": cos_pos,
        "cos_neg": cos_neg,
        "cos_gap": cos_pos - cos_neg,
    }


def chance(n: int) -> dict[str, float]:
    """Retrieval of a model that knows nothing, among ``n`` candidates: top-1 1/n, MRR H_n/n."""
    return {"top1": 1.0 / n, "mrr": float(np.sum(1.0 / np.arange(1, n + 1)) / n)}


def pair_name(a: str, b: str) -> str:
    return f"{a}-{b}"


def alignment_curves(embeddings: Mapping[str, np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """``{pair: {metric: [value per layer]}}`` for every pair of languages, plus ``mean`` over pairs.

    ``embeddings`` maps each language to a ``[layers, N, H]`` array whose row i is problem i.
    """
    languages = list(embeddings)
    if len(languages) < 2:
        raise ValueError(f"alignment needs at least two languages, got {languages}")
    layers = {embeddings[lang].shape[0] for lang in languages}
    if len(layers) != 1:
        raise ValueError(f"every language needs the same number of layers, got {sorted(layers)}")
    curves: dict[str, dict[str, list[float]]] = {}
    for a, b in combinations(languages, 2):
        per_layer = [pair_metrics(x, y) for x, y in zip(embeddings[a], embeddings[b], strict=True)]
        curves[pair_name(a, b)] = {m: [values[m] for values in per_layer] for m in METRICS}
    curves["mean"] = {m: np.mean([curve[m] for curve in curves.values()], axis=0).tolist() for m in METRICS}
    return curves


def best_layer(curve: Mapping[str, list[float]], metric: str = "top1") -> int:
    """The layer where ``metric`` peaks (the shallowest one on a tie)."""
    return int(np.argmax(curve[metric]))
