"""The generation engine on a tiny random model with the real tokenizer: batch invariance, shared prefills,
stop sequences split across tokens, EOS, incremental detokenisation, LoRA and 4-bit weights."""

import warnings

import pytest
import torch

from lit_parallel.commands.model import merged
from lit_parallel.generation import Detokenizer, Request, SamplingSpec, generate, nucleus
from lit_parallel.modeling import LoRASpec, ModelSpec, load_model

TINY = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
PROMPTS = [f"def f{i}(x):\n    return" + " x +" * i for i in range(5)]
SAMPLED = SamplingSpec(temperature=1.0, max_new_tokens=12)


@pytest.fixture(scope="module")
def model(live_lora):
    """nf4 base weights with a LoRA adapter whose B is not zero, so the adapter changes the tokens."""
    # Seeded before loading: LoRA's A draws from the global generator, which earlier tests leave anywhere.
    torch.manual_seed(0)
    return live_lora(load_model(ModelSpec(tiny={**TINY, "num_key_value_heads": 2}, lora=LoRASpec(r=4))), 0.5).eval()


def run(model, tokenizer, requests, spec, batch_size):
    spec = SamplingSpec(**{**vars(spec), "batch_size": batch_size})
    out = dict(generate(model, tokenizer, requests, spec))
    assert sorted(out) == list(range(len(requests)))
    return [out[i] for i in range(len(requests))]


def first_text(model, tokenizer, request, spec=SAMPLED):
    [alone] = run(model, tokenizer, [request], spec, 1)
    return alone


def test_a_row_does_not_depend_on_its_batch_or_when_it_joined(model, tokenizer):
    requests = [Request(p, seed=10 + i) for i, p in enumerate(PROMPTS)]
    # Rows 0 and 2 stop after a few tokens, so with two slots rows 2, 3 and 4 join while others are midway.
    for i in (0, 2):
        text = first_text(model, tokenizer, requests[i]).text
        requests[i] = Request(requests[i].prompt, requests[i].seed, (text[3:6],))
    alone = [first_text(model, tokenizer, r) for r in requests]
    assert [c.finish for c in alone] == ["stop", "length", "stop", "length", "length"]
    full = run(model, tokenizer, requests, SAMPLED, len(requests))
    joining = run(model, tokenizer, requests, SAMPLED, 2)
    assert full == alone and joining == alone
    assert len({c.text for c in alone}) == len(alone)


def test_seeds_decide_the_draws(model, tokenizer):
    same = run(model, tokenizer, [Request(PROMPTS[1], 7), Request(PROMPTS[1], 7), Request(PROMPTS[1], 8)], SAMPLED, 3)
    assert same[0] == same[1] and same[0].token_ids != same[2].token_ids


def test_samples_of_a_prompt_share_one_prefill_and_equal_unshared_sampling(model, tokenizer):
    requests = [Request(PROMPTS[3], seed=s) for s in range(4)] + [Request(PROMPTS[4], seed=s) for s in range(4)]
    prefills = []
    hook = model.register_forward_pre_hook(
        lambda _, args, kwargs: prefills.append(kwargs["input_ids"].shape[1] > 1), with_kwargs=True
    )
    try:
        shared = run(model, tokenizer, requests, SAMPLED, 3)
    finally:
        hook.remove()
    assert sum(prefills) == 2
    assert shared == [first_text(model, tokenizer, r) for r in requests]


def test_a_stop_sequence_split_across_tokens_is_caught(model, tokenizer):
    free = first_text(model, tokenizer, Request(PROMPTS[2], seed=3))
    ends = [len(tokenizer.decode(free.token_ids[: k + 1])) for k in range(len(free.token_ids))]
    # a token boundary with at least two characters of text on each side
    k = next(k for k in range(1, len(ends) - 1) if ends[k] - ends[k - 1] >= 2 and ends[k + 1] - ends[k] >= 2)
    stop = free.text[ends[k] - 2 : ends[k] + 2]
    assert free.text.find(stop) == ends[k] - 2, "the stop must first occur at the boundary"
    stopped = first_text(model, tokenizer, Request(PROMPTS[2], seed=3, stops=("never there", stop)))
    assert stopped.finish == "stop"
    assert stopped.text == free.text[: ends[k] - 2]
    assert stopped.token_ids == free.token_ids[: k + 2]  # up to the token that completed the stop


class EosAt:
    """The real tokenizer with another EOS token (a random model never draws the real one)."""

    def __init__(self, tokenizer, eos):
        self.tokenizer, self.eos_token_id = tokenizer, eos

    def __call__(self, *args, **kwargs):
        return self.tokenizer(*args, **kwargs)

    def decode(self, *args, **kwargs):
        return self.tokenizer.decode(*args, **kwargs)


def test_eos_ends_a_row_and_is_kept_in_its_tokens_only(model, tokenizer):
    greedy = SamplingSpec(max_new_tokens=12)
    free = first_text(model, tokenizer, Request(PROMPTS[0], seed=0), greedy)
    eos = free.token_ids[4]
    cut = free.token_ids.index(eos)
    [ended] = run(model, EosAt(tokenizer, eos), [Request(PROMPTS[0], seed=0)], greedy, 1)
    assert ended.finish == "eos"
    assert ended.token_ids == free.token_ids[: cut + 1]
    assert ended.text == tokenizer.decode(free.token_ids[:cut], skip_special_tokens=True)


def test_the_adapter_is_applied_and_can_be_disabled(model, tokenizer):
    request = Request(PROMPTS[1], seed=1)
    with_adapter = first_text(model, tokenizer, request, SamplingSpec(max_new_tokens=12))
    with model.disable_adapter():
        reference = first_text(model, tokenizer, request, SamplingSpec(max_new_tokens=12))
    assert with_adapter.token_ids != reference.token_ids


def test_no_deprecation_warning(model, tokenizer):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        run(model, tokenizer, [Request(p, 0) for p in PROMPTS[:3]], SamplingSpec(max_new_tokens=3), 2)


def test_incremental_detokenisation_equals_decoding_the_whole(tokenizer):
    text = "print('héllo wörld ✓ 日本語 🙂')\nfor ä in range(3):\n    pass"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    detokenizer = Detokenizer(tokenizer)
    pieces = [detokenizer.add(t) for t in ids]
    assert "".join(pieces) == detokenizer.text == tokenizer.decode(ids) == text
    assert any(p == "" for p in pieces)  # a character split over byte tokens waits for its last byte


def test_a_merged_adapter_generates_what_the_unmerged_one_does(tokenizer, live_lora):
    """Inference folds an unquantized model's adapter into its weights (commands/model.py:merged): the
    same logits and greedy tokens; an nf4 model keeps its adapter apart."""
    torch.manual_seed(0)
    spec = ModelSpec(tiny={**TINY, "num_key_value_heads": 2}, quantization="none", lora=LoRASpec(r=4))
    peft_model = live_lora(load_model(spec), 0.5).eval()
    ids = tokenizer(PROMPTS[2], return_tensors="pt")["input_ids"]
    greedy = SamplingSpec(max_new_tokens=12)
    with torch.no_grad():
        unmerged_logits = peft_model(input_ids=ids).logits
    [unmerged] = run(peft_model, tokenizer, [Request(PROMPTS[2], seed=0)], greedy, 1)
    with peft_model.disable_adapter(), torch.no_grad():
        assert not torch.allclose(peft_model(input_ids=ids).logits, unmerged_logits, atol=1e-3)
    folded = merged(peft_model, spec)
    assert not any("lora" in name for name, _ in folded.named_parameters())
    with torch.no_grad():
        torch.testing.assert_close(folded(input_ids=ids).logits, unmerged_logits, atol=1e-4, rtol=1e-4)
    [after] = run(folded, tokenizer, [Request(PROMPTS[2], seed=0)], greedy, 1)
    assert after.token_ids == unmerged.token_ids


def test_a_quantized_model_keeps_its_adapter_apart(model):
    assert merged(model, ModelSpec(tiny=TINY, lora=LoRASpec(r=4))) is model


@pytest.mark.parametrize("candidates", [2, 8, 1000])
def test_the_nucleus_is_the_smallest_set_of_top_tokens_reaching_top_p(candidates):
    """Rows whose nucleus fits the ``topk`` candidates and rows sorted whole (peaked, flat, one-hot)."""
    torch.manual_seed(0)
    logits = torch.randn(6, 1000) * torch.tensor([[8.0], [4.0], [1.0], [0.1], [3.0], [0.0]])
    logits[5, 7] = 60.0  # all the mass on one token
    probs = torch.softmax(logits, -1)
    for top_p in (0.5, 0.9, 0.99):
        kept = nucleus(probs, top_p, candidates)
        for row, mass in zip(probs, kept, strict=True):
            inside = mass > 0
            assert torch.equal(mass[inside], row[inside])  # kept tokens keep their probability
            assert row[inside].min() >= row[~inside].max()  # the most likely ones
            assert row[inside].sum() >= top_p - 1e-6 and row[inside].sum() - row[inside].min() < top_p
