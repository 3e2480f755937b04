"""The SFT LightningModule: causal-LM loss on the answer tokens of a (Parallel-)SFT mixture.

The base model is loaded in ``configure_model``, on the device Lightning chose, so that under DDP
each rank holds its own quantized copy. Checkpoints hold only the trainable (LoRA) weights, with the
optimizer, schedule and loop state: the base weights come back from the ModelSpec. Every checkpoint
and the end of fit also write the adapter in PEFT format.
"""

from __future__ import annotations

import time
from collections import Counter

import lightning as L
import torch

from datamodules.contract import code_data
from lit_parallel.modeling import ModelSpec, load_model
from lit_parallel.modules.adapters import AdapterCheckpoints
from lit_parallel.modules.devices import refuse_sharding
from lit_parallel.modules.memory import log_estimate
from lit_parallel.modules.optim import OptimizerSpec, build_optimizer
from lit_parallel.modules.rl_losses import selected_logprobs


def block_causal_mask(segment_ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The additive 4-D attention mask of packed rows: causal, and only within one segment
    (padding, segment -1, attends to itself only so that no row of the softmax is empty)."""
    same = segment_ids[:, :, None] == segment_ids[:, None, :]
    causal = torch.ones(segment_ids.shape[1], segment_ids.shape[1], dtype=torch.bool, device=segment_ids.device).tril()
    allowed = (same & causal) | torch.eye(segment_ids.shape[1], dtype=torch.bool, device=segment_ids.device)
    return torch.zeros(allowed.shape, dtype=dtype, device=segment_ids.device).masked_fill(
        ~allowed, torch.finfo(dtype).min
    )[:, None]


def model_inputs(batch: dict, dtype: torch.dtype) -> dict:
    """The keyword arguments of the decoder's forward for an SFT batch, packed or not."""
    inputs = {"input_ids": batch["input_ids"]}
    if "segment_ids" in batch:
        inputs["attention_mask"] = block_causal_mask(batch["segment_ids"], dtype)
        inputs["position_ids"] = batch["position_ids"]
    else:
        inputs["attention_mask"] = batch["attention_mask"]
    return inputs


def answer_loss(model: torch.nn.Module, batch: dict, dtype: torch.dtype) -> torch.Tensor:
    """Mean negative log-likelihood of the answer tokens (labels not -100), as the causal-LM loss.

    The output head runs only at the positions that predict an answer token, about a third of a packed
    row in the demo's mixture: the full logits of every position, upcast to float for the loss, and
    their gradient were the largest tensors of a step over a 49k-token vocabulary. Against transformers'
    loss: the same losses, a lower step peak and a slightly faster step (benchmarks/README.md, "SFT's
    loss on answer tokens only")."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft or plain
    hidden = causal_lm.get_decoder()(**model_inputs(batch, dtype), use_cache=False).last_hidden_state
    targets = batch["labels"][:, 1:]
    predicts = targets != -100
    logits = causal_lm.get_output_embeddings()(hidden[:, :-1][predicts]).float()
    logprobs, _ = selected_logprobs(logits, targets[predicts])
    return -logprobs.mean()


class SFTModule(AdapterCheckpoints, L.LightningModule):
    """QLoRA SFT of a causal LM on completion-only labels."""

    def __init__(
        self,
        model: ModelSpec | None = None,
        optimizer: OptimizerSpec | None = None,
        adapter_dir: str | None = None,
    ) -> None:
        """
        Args:
            model: the base model, its quantization and its LoRA adapter.
            optimizer: AdamW and the warmup + cosine schedule.
            adapter_dir: where the PEFT adapters go (default: ``<log dir>/adapters``): one folder per
                checkpoint (``step=N``) and ``final`` at the end of fit.
        """
        super().__init__()
        self.save_hyperparameters()
        self.spec = model or ModelSpec()
        self.optim = optimizer or OptimizerSpec()
        self.model: torch.nn.Module | None = None
        # Checkpoints carry only trainable weights; the frozen base is rebuilt from the spec.
        self.strict_loading = False
        self.tokens_seen: Counter[str] = Counter()
        self._step_started = 0.0

    def setup(self, stage: str) -> None:
        refuse_sharding(self.trainer.strategy, self.spec, rl=False)
        log_estimate(self)

    def configure_model(self) -> None:
        if self.model is None:
            # from_pretrained hands back eval mode; Lightning records train/eval modes before this hook.
            self.model = load_model(self.spec, self.device).train()

    @property
    def hidden_dtype(self) -> torch.dtype:
        """The dtype of the hidden states, and so of the queries the packed rows' mask is added to: that of
        the input embeddings, which a precision plugin may have converted (bf16-true), not the spec's."""
        return self.model.get_input_embeddings().weight.dtype

    def forward(self, batch: dict) -> torch.Tensor:
        return answer_loss(self.model, batch, self.hidden_dtype)

    def on_train_batch_start(self, batch: dict, batch_idx: int) -> None:
        self._step_started = time.perf_counter()

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        loss = self(batch)
        for language, count in zip(batch["languages"], batch["answer_tokens"], strict=True):
            self.tokens_seen[language] += count
        size = len(batch["languages"])
        self.log("train/loss", loss, prog_bar=True, batch_size=size)
        self.log("train/loss_epoch", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=size)
        self.log("train/lr", self.lr_schedulers().get_last_lr()[0])
        # Summed over ranks, so every rank must log the same keys: the mixture's languages.
        seen = {f"train/answer_tokens/{lang}": float(n) for lang, n in sorted(self.tokens_seen.items())}
        self.log_dict(seen, sync_dist=True, reduce_fx="sum")
        return loss

    def on_train_start(self) -> None:
        for language in code_data(self.trainer, "SFTModule").train_languages:
            self.tokens_seen[language] += 0

    def on_train_batch_end(self, outputs: object, batch: dict, batch_idx: int) -> None:
        real = batch["segment_ids"] >= 0 if "segment_ids" in batch else batch["attention_mask"].bool()
        elapsed = max(time.perf_counter() - self._step_started, 1e-9)
        self.log("train/tokens_per_s", int(real.sum()) / elapsed)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self.log("val/loss", self(batch), prog_bar=True, sync_dist=True, batch_size=len(batch["languages"]))

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self.log("test/loss", self(batch), sync_dist=True, batch_size=len(batch["languages"]))

    def configure_optimizers(self) -> dict:
        return build_optimizer(self, self.optim, self.trainer.estimated_stepping_batches)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["tokens_seen"] = dict(self.tokens_seen)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.tokens_seen = Counter(checkpoint.get("tokens_seen", {}))
