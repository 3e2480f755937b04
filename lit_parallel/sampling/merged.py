"""A merged decoding copy of a 4-bit (or 8-bit) model with LoRA adapters: what the ``hf`` sampler decodes
from with ``sampling.merged_copy``.

Decoding the live QLoRA model de-quantizes every linear layer's weight at every step and runs each
adapter's two extra matmuls beside it. The copy is the same module tree in which each quantized or
LoRA-adapted linear layer is a plain ``torch.nn.Linear`` in the compute dtype holding
``dequantize(W) + scaling * B @ A``, computed once per ``refresh``; every other parameter and buffer
(embeddings, norms, an unadapted output head) is the live model's own tensor, shared, not copied. Its
memory is therefore the replaced layers' weights in the compute dtype. The copy is never trained: the
training forward and the KL reference (adapter disabled) stay on the live model, and ``refresh`` must
follow every change of the adapter (the sampler's ``load_adapter``).
"""

from __future__ import annotations

import copy

import torch

from lit_parallel.errors import DataError


def replaced_layers(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """The layers of ``model`` the copy replaces, by name: every LoRA layer (with the base layer it wraps)
    and every quantized linear layer outside one."""
    from peft.tuners.lora import LoraLayer

    found: dict[str, torch.nn.Module] = {}
    for name, module in model.named_modules():
        inside = any(name.startswith(f"{outer}.") for outer in found)
        if not inside and (isinstance(module, LoraLayer) or quantized(module)):
            found[name] = module
    return found


def quantized(module: torch.nn.Module) -> bool:
    """A bitsandbytes linear layer (4-bit or 8-bit weights)."""
    return type(getattr(module, "weight", None)).__name__ in ("Params4bit", "Int8Params")


def dequantized(layer: torch.nn.Module) -> torch.Tensor:
    """A linear layer's weight as plain values (a new tensor for a bitsandbytes layer, the weight itself
    otherwise)."""
    weight = layer.weight
    kind = type(weight).__name__
    if kind == "Params4bit":
        import bitsandbytes as bnb

        return bnb.functional.dequantize_4bit(weight.data, weight.quant_state)
    if kind == "Int8Params":
        from peft.utils.integrations import dequantize_bnb_weight

        return dequantize_bnb_weight(weight, state=layer.state)
    return weight.detach()


def merged_weight(layer: torch.nn.Module) -> torch.Tensor:
    """What ``layer`` computes as one weight, in fp32: its base weight plus each active, unmerged
    adapter's ``scaling * B @ A`` (for a LoRA layer whose adapters are enabled)."""
    from peft.tuners.lora import LoraLayer

    if not isinstance(layer, LoraLayer):
        return dequantized(layer).float()
    weight = dequantized(layer.get_base_layer()).float()
    if layer.disable_adapters or layer.merged:  # merged: the base weight holds the adapter already
        return weight
    for name in layer.active_adapters:
        if layer.use_dora.get(name):  # its magnitude vector rescales the merged weight: not a plain sum
            raise DataError("sampling.merged_copy: a DoRA adapter is not merged here; decode from the live model")
        if name in layer.lora_A:
            weight += layer.get_delta_weight(name).float()
    return weight


def plain_linear(layer: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Linear:
    """An empty ``torch.nn.Linear`` of ``layer``'s shape in ``dtype`` on its device, sharing its bias."""
    base = layer.get_base_layer() if hasattr(layer, "get_base_layer") else layer
    linear = torch.nn.Linear(base.in_features, base.out_features, bias=False, device="meta")
    weight = torch.empty(base.out_features, base.in_features, dtype=dtype, device=base.weight.device)
    linear.weight = torch.nn.Parameter(weight, requires_grad=False)
    linear.bias = base.bias
    return linear


class MergedCopy:
    """A decoding copy of ``model`` (a peft model or a plain transformers one): ``model`` is the copy,
    ``layers`` its replaced layers by name; ``refresh()`` writes the live weights into it again."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.live = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.dtype = self.live.get_input_embeddings().weight.dtype  # the compute dtype (ModelSpec)
        sources = replaced_layers(self.live)
        self.layers = {name: plain_linear(layer, self.dtype) for name, layer in sources.items()}
        # deepcopy with every tensor of the live model pre-filled in its memo: the module tree is new, the
        # tensors are the same objects, and each replaced layer is its plain Linear
        memo = {id(t): t for t in (*self.live.parameters(), *self.live.buffers())}
        memo |= {id(sources[name]): linear for name, linear in self.layers.items()}
        self.model = copy.deepcopy(self.live, memo).eval()
        self.sources = sources
        self.refresh()

    @torch.no_grad()
    def refresh(self) -> None:
        """The live model's current base and adapter weights into the copy, one layer at a time."""
        for name, linear in self.layers.items():
            linear.weight.copy_(merged_weight(self.sources[name]))

    def nbytes(self) -> int:
        """Bytes the copy holds of its own: the replaced layers' weights."""
        return sum(linear.weight.nbytes for linear in self.layers.values())
