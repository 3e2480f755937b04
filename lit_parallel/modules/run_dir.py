"""Where a fit's own files go (adapters, evaluation records, alignment reports): one rule for all."""

from __future__ import annotations

import os
from pathlib import Path

import lightning as L

LOG_ROOT = Path("runs")
"""Files of a fit that names no directory at all go under here, never into the working directory."""


def run_directory(trainer: L.Trainer) -> Path:
    """The logger's run directory (``<save_dir>/<name>/version_N``); without a logger,
    ``trainer.default_root_dir``, unless that is only Lightning's default (the working directory): then
    ``runs/``. Not ``trainer.log_dir``: it is a collective, and only rank 0 writes."""
    log_dir = getattr(trainer.logger, "log_dir", None)
    if log_dir:
        return Path(log_dir)
    root = Path(trainer.default_root_dir)
    return LOG_ROOT if root.resolve() == Path(os.getcwd()).resolve() else root
