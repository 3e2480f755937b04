"""Lightning callbacks of lit-parallel: per-language pass@k evaluation, cross-language representation alignment."""

# First: lit_parallel sets the OpenMP wait policy, which counts only before torch loads.
import lit_parallel  # noqa: F401, I001

from callbacks.alignment import Alignment
from callbacks.pass_at_k import PassAtK

__all__ = ["Alignment", "PassAtK"]
