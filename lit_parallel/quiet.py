"""Upstream messages a user need not learn to ignore, each silenced by its text where it is raised (no blanket
filter: any other warning still shows). Each is the installed packages' own, with no setting to turn it off
and no call of ours behind it, and goes when they fix it."""

from __future__ import annotations

import logging
import warnings


def is_tip(record: logging.LogRecord) -> bool:
    """Lightning's advertisements of its cloud products (litlogger, litmodels) at every fit."""
    return str(record.msg).startswith("💡 Tip:")


def quiet_upstream() -> None:
    """Silence the upstream messages listed here, for this process (called once by the command)."""
    # Lightning 2.6 builds torch's deprecated LeafSpec at every logged step (lightning/pytorch/utilities/_pytree.py).
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
    # peft reads transformers' deprecated `is_gradient_checkpointing` when it wraps a model (peft_model.py).
    warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    # torch 2.13 warns at its own torch/utils/mkldnn.py, imported on first use of its JIT utilities.
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script_method` is deprecated", category=DeprecationWarning)
    # LightningCLI calls jsonargparse 4.53's deprecated `instantiate_classes`, `skip_none` and `add_instantiator`
    # (lightning/pytorch/cli.py); the commands' own parsing uses the current names (commands/arguments.py).
    warnings.filterwarnings("ignore", message=r"(?s).*(skip_none|instantiate_classes|add_instantiator).*was deprecated")
    # ... and their preface, a warning of its own
    warnings.filterwarnings("ignore", message=r"\s*By default only one JsonargparseDeprecationWarning[^`]*\Z")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(lambda record: not is_tip(record))
