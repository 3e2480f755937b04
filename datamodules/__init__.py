"""The one DataModule of lit-parallel, and the mixture it serves."""

from datamodules.mixture import FORMATS, Example, MixtureBuilder, MixtureConfig
from datamodules.parallel_mixture import ParallelMixtureDataModule, PromptItem

__all__ = ["FORMATS", "Example", "MixtureBuilder", "MixtureConfig", "ParallelMixtureDataModule", "PromptItem"]
