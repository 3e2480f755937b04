"""Lightning callbacks of lit-parallel: per-language pass@k evaluation, cross-language representation alignment."""

from callbacks.alignment import Alignment
from callbacks.pass_at_k import PassAtK

__all__ = ["Alignment", "PassAtK"]
