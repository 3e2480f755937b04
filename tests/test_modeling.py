"""Model specs: every quantization builds real bitsandbytes layers that train through LoRA; the
packaged GGUF becomes a cached directory that loads like any checkpoint."""

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoConfig

from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model, packaged_gguf, resolve_source

TINY = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
}


@pytest.mark.parametrize(
    ("quantization", "layer", "double"),
    [
        ("none", "Linear", None),
        ("nf4", "Linear4bit", False),
        ("nf4-double", "Linear4bit", True),
        ("int8", "Linear8bitLt", None),
    ],
)
def test_each_quantization_gives_its_layers_and_lora_trains_on_them(quantization, layer, double):
    model = load_model(ModelSpec(tiny=TINY, quantization=quantization, lora=LoRASpec(r=4, alpha=8, dropout=0.0)))
    proj = model.base_model.model.model.layers[0].self_attn.q_proj
    assert type(proj.base_layer).__name__ == layer
    if double is not None:
        assert proj.base_layer.weight.quant_state.nested == double
    ids = torch.randint(0, 1000, (2, 12))
    model(input_ids=ids, labels=ids).loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.requires_grad}
    assert grads and all("lora_" in n for n in grads)
    assert any(g is not None and g.abs().sum() > 0 for g in grads.values())


def test_a_spec_without_lora_is_frozen_and_tiny_models_are_cached_by_config():
    spec = ModelSpec(tiny=TINY, quantization="none", lora=None)
    model = load_model(spec)
    assert not any(p.requires_grad for p in model.parameters())
    assert spec.weights_dir() == ModelSpec(tiny=TINY, quantization="nf4").weights_dir()
    assert spec.weights_dir() != ModelSpec(tiny={**TINY, "hidden_size": 32}).weights_dir()


def test_packaged_gguf_is_converted_once_into_a_smollm2_checkpoint(tokenizer):
    directory = resolve_source(PACKAGED)
    assert resolve_source(PACKAGED) == directory and packaged_gguf().suffix == ".gguf"
    config = AutoConfig.from_pretrained(directory)
    assert config.model_type == "llama" and config.num_hidden_layers == 30 and config.hidden_size == 576
    assert "quantization_config" not in json.loads((Path(directory) / "config.json").read_text())
    assert tokenizer.chat_template and tokenizer.eos_token == "<|im_end|>"


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_activation_checkpointing_gives_lora_the_same_gradient(dtype, live_lora):
    """Unquantized weights, as the CPU demo configs train: LoRA stays fp32 and checkpointing changes no gradient."""
    grads = []
    for checkpointing in (False, True):
        spec = ModelSpec(
            tiny=TINY,
            quantization="none",
            compute_dtype=dtype,
            lora=LoRASpec(r=4, dropout=0.0),
            gradient_checkpointing=checkpointing,
        )
        torch.manual_seed(0)  # the same LoRA A initialisation
        model = live_lora(load_model(spec), 0.1).train()
        ids = torch.arange(2, 34).view(2, 16)
        model(input_ids=ids, labels=ids).loss.backward()
        lora = {n: p for n, p in model.named_parameters() if p.requires_grad}
        assert lora and all(p.dtype == torch.float32 for p in lora.values())
        grads.append({n: p.grad for n, p in lora.items()})
    assert all(g is not None and g.abs().sum() > 0 for g in grads[1].values())
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=0, atol=0)


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_a_loaded_adapter_trains_with_the_specs_dropout_not_the_saved_one(tmp_path, dropout, live_lora):
    # Saved with 0.05, as the SFT configs do; RL's spec says what dropout its updates use.
    saved = load_model(ModelSpec(tiny=TINY, quantization="none", lora=LoRASpec(r=4, dropout=0.05)))
    live_lora(saved, 0.5).save_pretrained(tmp_path)  # a live B, so dropout on the LoRA input shows
    spec = ModelSpec(tiny=TINY, quantization="none", lora=LoRASpec(r=4, dropout=dropout), adapter=str(tmp_path))
    model = load_model(spec).train()
    layers = [m.lora_dropout["default"] for m in model.modules() if hasattr(m, "lora_dropout")]
    assert layers and all(getattr(layer, "p", 0.0) == dropout for layer in layers)
    ids = torch.randint(0, 1000, (2, 12))
    twice = [model(input_ids=ids).logits for _ in range(2)]
    assert torch.equal(*twice) == (dropout == 0.0)
    model.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "adapter_config.json").read_text())["lora_dropout"] == dropout
