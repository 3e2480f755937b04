"""Device and dtype mistakes, caught on a CPU-only machine.

Devices: a second device type, torch's PrivateUse1 backend set up from Python
(``torch.utils.backend_registration``) and named ``npu`` (a name transformers' loader accepts). Its
tensors hold CPU data under a device of their own: an op that meets one of them and a CPU tensor of
one or more dimensions fails, as on CUDA (indices may stay on the CPU, as CUDA allows), and every copy
to the host is counted (each is a wait for the device on a GPU). The backend is process-wide and
cannot be removed, so the fits on it run in a child process (``python tests/test_device_dtype.py
CHECK DIR``). Dtypes: the cache, hidden states and logits under each precision the configs use.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.plugins.precision import HalfPrecision, MixedPrecision, Precision
from lightning.pytorch.strategies import DDPStrategy, FSDPStrategy
from transformers import DynamicCache

from lit_parallel.errors import DataError
from lit_parallel.execution import ExecutionSpec
from lit_parallel.generation import CACHE, Engine, Request, SamplingSpec
from lit_parallel.modeling import LoRASpec, ModelSpec, load_model
from lit_parallel.modules.devices import execution_beside, refuse_sharding
from lit_parallel.modules.sft import SFTModule

ROOT = Path(__file__).resolve().parents[1]
TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
TINY |= {"num_key_value_heads": 2}


# ---- the emulated device (set up only in the child process) ----------------------------------------

NAME = "npu"
SYNCS = [0]
"""Copies from the emulated device to the host so far."""


def install() -> torch.device:
    """Set up the emulated device in this process; returns it."""
    from torch.utils._pytree import tree_map
    from torch.utils.backend_registration import _setup_privateuseone_for_python_backend

    _setup_privateuseone_for_python_backend(NAME)
    device = torch.device(NAME, 0)
    index_ops = {torch.ops.aten.index.Tensor, torch.ops.aten.index_put_.default, torch.ops.aten.index_put.default}
    index_ops.add(torch.ops.aten._index_put_impl_.default)
    crossing = {torch.ops.aten.copy_.default, torch.ops.aten._to_copy.default}

    class Emulated(torch.Tensor):
        @staticmethod
        def __new__(cls, inner: torch.Tensor) -> Emulated:
            kwargs = {"strides": inner.stride(), "storage_offset": inner.storage_offset(), "dtype": inner.dtype}
            return torch.Tensor._make_wrapper_subclass(
                cls, inner.shape, device=device, requires_grad=inner.requires_grad, **kwargs
            )

        def __init__(self, inner: torch.Tensor) -> None:
            self.inner = inner

        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func is torch.Tensor.tolist:  # not dispatched: a copy to the host
                SYNCS[0] += 1
                return args[0].inner.tolist()
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **(kwargs or {}))

        @classmethod
        def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
            return run(func, args, kwargs or {})

    def run(func, args, kwargs):
        seen, target = set(), args[0] if args else None

        def unwrap(x):
            if isinstance(x, Emulated):
                seen.add(NAME)
                return x.inner
            if isinstance(x, torch.Tensor) and x.dim() > 0:
                seen.add("cpu")
            return x

        if func in index_ops:  # the indices (args[1]) may be CPU tensors
            indices = tree_map(lambda x: x.inner if isinstance(x, Emulated) else x, args[1])
            args = (unwrap(args[0]), indices, *map(unwrap, args[2:]))
        else:
            args = tree_map(unwrap, args)
        kwargs = tree_map(unwrap, kwargs)
        if kwargs.get("device") is not None:
            emulated = torch.device(kwargs["device"]).type == NAME
            kwargs["device"] = torch.device("cpu")
            SYNCS[0] += func is torch.ops.aten._to_copy.default and not emulated and NAME in seen
        else:
            if len(seen) > 1 and func not in crossing:
                raise RuntimeError(f"{func}: Expected all tensors to be on the same device, found {NAME}:0 and cpu")
            emulated = NAME in seen and func is not torch.ops.aten._local_scalar_dense.default
            SYNCS[0] += func is torch.ops.aten._local_scalar_dense.default and NAME in seen
        out = func(*args, **kwargs)
        if func is torch.ops.aten.copy_.default:
            return target
        return tree_map(lambda x: Emulated(x) if emulated and isinstance(x, torch.Tensor) else x, out)

    from torch.utils._python_dispatch import TorchDispatchMode

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            return run(func, args, kwargs or {})

    library = torch.library.Library("aten", "IMPL")  # what C++ code asks of the backend directly

    def empty_strided(size, stride, dtype=None, layout=None, device=None, pin_memory=None):
        return Emulated(torch.empty_strided(size, stride, dtype=dtype))

    def empty(size, dtype=None, layout=None, device=None, pin_memory=None, memory_format=None):
        return Emulated(torch.empty(size, dtype=dtype))

    def copy_from(source, target, non_blocking=False):
        (target.inner if isinstance(target, Emulated) else target).copy_(
            source.inner if isinstance(source, Emulated) else source
        )
        return target

    library.impl("empty_strided", empty_strided, "PrivateUse1")
    library.impl("empty.memory_format", empty, "PrivateUse1")
    library.impl("_copy_from", copy_from, "PrivateUse1")
    install.keep = library  # registrations last as long as the library object
    Mode().__enter__()
    return device


def emulated_trainer(device: torch.device, root: Path, steps: int, callbacks: list) -> L.Trainer:
    from lightning.pytorch.accelerators import Accelerator
    from lightning.pytorch.strategies import SingleDeviceStrategy

    class Emulator(Accelerator):
        name = classmethod(lambda cls: NAME)
        setup_device = teardown = lambda self, *args: None
        parse_devices = staticmethod(lambda devices: 1)
        get_parallel_devices = staticmethod(lambda devices: [device])
        auto_device_count = staticmethod(lambda: 1)
        is_available = staticmethod(lambda: True)
        get_device_stats = lambda self, device: {}  # noqa: E731

    return L.Trainer(
        strategy=SingleDeviceStrategy(device=device, accelerator=Emulator()),
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        default_root_dir=root,
        callbacks=callbacks,
    )


class OnDevice(L.Callback):
    """Asserts at every step that the module's parameters and the logged reward live on the device."""

    def __init__(self) -> None:
        self.steps = 0

    def on_train_batch_end(self, trainer, module, *args) -> None:
        assert {p.device.type for p in module.parameters()} == {NAME}
        self.steps += 1


def config(path: str, root: Path, *overrides: str):
    from lit_parallel.commands.lightning import build_lightning_cli

    args = ["--config", str(ROOT / path), f"--trainer.default_root_dir={root}", "--trainer.logger=false"]
    return build_lightning_cli([*args, "--model.init_args.model.quantization=none", *overrides], run=False)


def check_grpo(device: torch.device, root: Path) -> None:
    """Two RL steps with dynamic sampling, KL and two inner updates, on the device."""
    cli = config("configs/tiny/grpo.yaml", root, "--model.init_args.algorithm.dynamic_sampling=true")
    cli.model.reward_fn = lambda job, completion: float(len(completion) % 2)  # spread within most groups
    seen = OnDevice()
    trainer = emulated_trainer(device, root, 2, [seen])
    trainer.fit(cli.model, datamodule=cli.datamodule)
    assert seen.steps == 2 and trainer.global_step == 2
    assert "rl/all_equal_groups" in trainer.callback_metrics
    lora_b = [p for n, p in cli.model.named_parameters() if "lora_B" in n]
    assert any(float(p.abs().sum()) > 0 for p in lora_b), "no update reached the adapter"


def check_sft(device: torch.device, root: Path) -> None:
    """Two packed SFT steps and a pass@k evaluation (generation, execution) on the device."""
    from callbacks import PassAtK

    cli = config("configs/tiny/sft.yaml", root, "--data.init_args.mixture.num_examples=8")
    evaluation = PassAtK(targets=["lua"], sampling=SamplingSpec(max_new_tokens=4, batch_size=4), before_training=True)
    seen = OnDevice()
    trainer = emulated_trainer(device, root, 2, [seen, evaluation])
    trainer.fit(cli.model, datamodule=cli.datamodule)
    assert seen.steps == 2 and math.isfinite(float(trainer.callback_metrics["train/loss"]))
    assert "pass@1/python" in trainer.callback_metrics


def check_decode(device: torch.device, root: Path) -> None:
    """A decoding step copies to the host once (the drawn tokens), greedy or sampled."""
    from lit_parallel.modeling import PACKAGED, load_tokenizer

    tokenizer = load_tokenizer(PACKAGED)
    model = load_model(ModelSpec(tiny=TINY, quantization="none", lora=LoRASpec(r=4)), device).eval()
    for temperature in (0.0, 1.0):
        spec = SamplingSpec(temperature=temperature, max_new_tokens=12, batch_size=4)
        requests = [Request(f"def f{i}(x):", seed=i) for i in range(4)]
        with torch.no_grad():
            engine = Engine(model, tokenizer, requests, spec, special=False)
            before, steps = SYNCS[0], 0
            while engine.rows:
                engine.step()
                steps += 1
        assert steps > 3 and SYNCS[0] - before == steps, (temperature, steps, SYNCS[0] - before)


CHECKS = {"grpo": check_grpo, "sft": check_sft, "decode": check_decode}


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_a_step_runs_on_a_second_device_type(check, tmp_path):
    """RL (dynamic sampling: its mask met the rewards on the model's device), SFT with in-training pass@k,
    and the decoding loop, on the emulated device."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's package, whatever is installed
    command = [sys.executable, __file__, check, str(tmp_path)]
    run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-6000:]


# ---- dtypes -------------------------------------------------------------------------------------------

PRECISIONS = {"32-true": Precision(), "bf16-mixed": MixedPrecision("bf16-mixed", "cpu")}
PRECISIONS["bf16-true"] = HalfPrecision("bf16-true")
CONFIGS = [  # (quantization, compute dtype, trainer precision): the configs' own, and the issue's mix
    ("nf4", "float32", "32-true"),  # tiny/
    ("none", "bfloat16", "32-true"),  # demo/
    ("nf4-double", "bfloat16", "bf16-mixed"),  # llama31_8b/
    ("nf4", "bfloat16", "32-true"),  # 4-bit + bf16 compute + 32-true: the packed mask raised
]


@pytest.mark.parametrize(("quantization", "compute", "precision"), CONFIGS)
def test_cache_hidden_states_and_logits_stay_in_the_compute_dtype(quantization, compute, precision, tokenizer):
    """The weights left unquantized stay in the compute dtype (peft's preparation cast them to fp32, and
    a bf16 model's hidden states and cache became fp32 with them): training, rollouts and evaluation."""
    dtype = getattr(torch, compute)
    spec = ModelSpec(tiny=TINY, quantization=quantization, compute_dtype=compute, lora=LoRASpec(r=4, dropout=0.0))
    model = load_model(spec)
    assert {p.dtype for n, p in model.named_parameters() if "lora_" not in n and p.is_floating_point()} == {dtype}
    ids = torch.randint(0, 1000, (2, 12))
    with PRECISIONS[precision].forward_context():
        out = model(
            input_ids=ids, **{CACHE: DynamicCache(config=model.config)}, use_cache=True, output_hidden_states=True
        )
        engine = Engine(model.eval(), tokenizer, [Request("def f(x):", seed=0)], SamplingSpec(), special=False)
        engine.step()
    assert {h.dtype for h in out.hidden_states} == {dtype}
    assert getattr(out, CACHE).layers[0].keys.dtype == dtype and out.logits.dtype == dtype
    assert engine.slots.layers[0].keys.dtype == dtype


SFT_PRECISIONS = [*CONFIGS, ("none", "float32", "bf16-true"), ("nf4", "float32", "bf16-mixed")]


@pytest.mark.parametrize(("quantization", "compute", "precision"), SFT_PRECISIONS)
def test_the_packed_sft_mask_has_the_dtype_of_the_queries(quantization, compute, precision, tmp_path):
    spec = ModelSpec(tiny=TINY, quantization=quantization, compute_dtype=compute, lora=LoRASpec(r=4, dropout=0.0))
    module = SFTModule(model=spec)
    module.configure_model()
    plugin = PRECISIONS[precision]
    module.model = plugin.convert_module(module.model)
    seen = {}

    def record(layer, args, kwargs) -> None:
        hidden = kwargs.get("hidden_states", args[0] if args else None)
        seen["hidden"], seen["mask"] = hidden.dtype, kwargs["attention_mask"].dtype

    layer = module.model.get_base_model().model.layers[0]
    layer.register_forward_pre_hook(record, with_kwargs=True)
    segments = torch.tensor([[0] * 5 + [1] * 6 + [-1]] * 2)
    labels = torch.randint(0, 1000, (2, 12)).masked_fill(segments < 0, -100)
    batch = {"input_ids": torch.randint(0, 1000, (2, 12)), "segment_ids": segments, "labels": labels}
    batch["position_ids"] = torch.tensor([list(range(5)) + list(range(6)) + [0]] * 2)
    with plugin.forward_context():
        loss = module(batch)
    loss.backward()
    assert math.isfinite(float(loss)) and seen["mask"] == seen["hidden"], seen


# ---- strategies and the machine ---------------------------------------------------------------------


def test_fsdp_is_refused_for_4bit_weights_and_for_rl_naming_ddp():
    fsdp = FSDPStrategy()
    with pytest.raises(DataError, match=r"trainer.strategy: FSDPStrategy cannot shard nf4 .*strategy: ddp"):
        refuse_sharding(fsdp, ModelSpec(quantization="nf4"), rl=False)
    with pytest.raises(DataError, match=r"trainer.strategy: GRPOModule .*FSDPStrategy.*strategy: ddp"):
        refuse_sharding(fsdp, ModelSpec(quantization="none"), rl=True)
    refuse_sharding(fsdp, ModelSpec(quantization="none"), rl=False)  # LoRA on bf16 weights shards
    for rl in (False, True):
        refuse_sharding(DDPStrategy(), ModelSpec(quantization="nf4"), rl=rl)


def test_on_cuda_the_executor_leaves_a_core_per_process_and_tf32_is_on(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    spec = ExecutionSpec()
    assert execution_beside(spec, torch.device("cuda", 0), 1).workers == 15
    assert execution_beside(spec, torch.device("cuda", 1), 2).workers == 7
    assert execution_beside(spec, torch.device("cpu"), 2).workers is None  # the CPU default: one per core
    assert execution_beside(ExecutionSpec(workers=4), torch.device("cuda", 0), 1).workers == 4
    previous = torch.get_float32_matmul_precision()
    try:
        from lit_parallel.modeling import use_tf32

        torch.set_float32_matmul_precision("highest")
        use_tf32(torch.device("cpu"), True)
        use_tf32(torch.device("cuda", 0), False)
        assert torch.get_float32_matmul_precision() == "highest"
        use_tf32(torch.device("cuda", 0), True)
        assert torch.get_float32_matmul_precision() == "high"
    finally:
        torch.set_float32_matmul_precision(previous)


def test_in_training_evaluation_runs_under_the_fits_autocast(tmp_path):
    from callbacks import PassAtK

    cli = config("configs/tiny/sft.yaml", tmp_path, "--data.init_args.mixture.num_examples=4")
    evaluation = PassAtK(targets=["lua"], sampling=SamplingSpec(max_new_tokens=2, batch_size=4), before_training=True)
    trainer = L.Trainer(
        accelerator="cpu",
        precision="bf16-mixed",
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        limit_val_batches=0,
        default_root_dir=tmp_path,
        callbacks=[evaluation],
        enable_progress_bar=False,
    )
    autocast: set[bool] = set()
    module = cli.model
    module.configure_model()
    module.model.register_forward_hook(
        lambda model, args, out: autocast.add(torch.is_autocast_enabled("cpu")) if not model.training else None
    )
    trainer.fit(module, datamodule=cli.datamodule)
    assert autocast == {True}


if __name__ == "__main__":
    target = install()
    CHECKS[sys.argv[1]](target, Path(sys.argv[2]))
