"""Representation alignment: how close equivalent programs in different languages sit in a model's hidden states."""

from lit_parallel.analysis.embedding import POOLINGS, ParallelPrograms, embed, measure_alignment, parallel_programs
from lit_parallel.analysis.similarity import METRICS, alignment_curves, chance, pair_metrics, retrieval

__all__ = [
    "METRICS",
    "POOLINGS",
    "ParallelPrograms",
    "alignment_curves",
    "chance",
    "embed",
    "measure_alignment",
    "pair_metrics",
    "parallel_programs",
    "retrieval",
]
