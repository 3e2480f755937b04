"""Lightning callbacks of lit-parallel: per-language pass@k evaluation."""

from callbacks.pass_at_k import PassAtK

__all__ = ["PassAtK"]
