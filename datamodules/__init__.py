"""The one DataModule of lit-parallel, and the mixture it serves."""

# First: lit_parallel sets the OpenMP wait policy, which counts only before torch loads.
import lit_parallel  # noqa: F401, I001

from datamodules.contract import CodeData, PromptItem, code_data
from datamodules.mixture import EXAMPLE_FORMATS, Example, MixtureBuilder, MixtureConfig
from datamodules.parallel_mixture import ParallelMixtureDataModule

__all__ = [
    "EXAMPLE_FORMATS",
    "CodeData",
    "Example",
    "MixtureBuilder",
    "MixtureConfig",
    "ParallelMixtureDataModule",
    "PromptItem",
    "code_data",
]
