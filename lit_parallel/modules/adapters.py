"""Checkpoints of LoRA training, shared by the SFT and RL modules."""

from __future__ import annotations

from pathlib import Path

from lit_parallel.modules.run_dir import run_directory


class AdapterCheckpoints:
    """Mixin for a LightningModule whose ``model`` is a PEFT model: checkpoints keep only the trainable
    weights (the frozen base comes back from the ModelSpec), and every checkpoint and the end of fit
    also write the adapter in PEFT format (``<adapter_dir>/step=N`` and ``<adapter_dir>/final``).
    The module's ``hparams.adapter_dir`` overrides the default ``<run directory>/adapters``."""

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        trainable = {name for name, p in self.named_parameters() if p.requires_grad}
        checkpoint["state_dict"] = {k: v for k, v in checkpoint["state_dict"].items() if k in trainable}
        self.save_adapter(f"step={self.global_step}")

    def on_fit_end(self) -> None:
        self.save_adapter("final")

    def adapter_path(self, name: str) -> Path:
        return Path(self.hparams.adapter_dir or run_directory(self.trainer) / "adapters") / name

    def save_adapter(self, name: str) -> None:
        """The LoRA adapter in PEFT format (``PeftModel.from_pretrained`` loads it), from rank 0."""
        if self.trainer.is_global_zero and hasattr(self.model, "peft_config"):
            self.model.save_pretrained(self.adapter_path(name))
