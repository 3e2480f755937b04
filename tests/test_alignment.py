"""Representation alignment: the metrics on cases with known answers, a tiny model's embeddings, the
Alignment callback inside a real fit (TensorBoard scalars and JSON; two DDP processes), and
`lit-parallel align`."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from callbacks import Alignment
from lit_parallel.analysis import chance, embed, pair_metrics, parallel_programs, retrieval
from lit_parallel.analysis.similarity import METRICS, alignment_curves, cosine_matrix
from lit_parallel.cli import main
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.errors import DataError
from lit_parallel.modeling import ModelSpec, load_model, load_tokenizer
from lit_parallel.problems.loading import load_problems

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"
TINY_LAYERS = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
TINY_SPEC = ModelSpec(tiny={**TINY_LAYERS, "num_key_value_heads": 2}, quantization="none", lora=None)


def direct(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """The metrics by their definitions, one program at a time (no ties in random data)."""
    n = len(a)
    cos = np.array([[x @ y / np.linalg.norm(x) / np.linalg.norm(y) for y in b] for x in a])
    ranks = []
    for sim in (cos, cos.T):
        for i in range(n):
            ranks.append(1 + sum(sim[i, j] > sim[i, i] for j in range(n) if j != i))
    positives = [cos[i, i] for i in range(n)]
    negatives = [cos[i, j] for i in range(n) for j in range(n) if i != j]
    return {
        "top1": np.mean([r == 1 for r in ranks]),
        "mrr": np.mean([1 / r for r in ranks]),
        "cos_pos": np.mean(positives),
        "cos_neg": np.mean(negatives),
        "cos_gap": np.mean(positives) - np.mean(negatives),
    }


def test_metrics_equal_a_direct_computation_on_a_small_case():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(7, 5))
    b = a + rng.normal(scale=1.0, size=(7, 5))  # related but noisy: some retrievals fail
    got, expected = pair_metrics(a, b), direct(a, b)
    assert 0 < got["top1"] < 1
    for metric in METRICS:
        assert got[metric] == pytest.approx(expected[metric], abs=1e-12), metric
    assert np.allclose(cosine_matrix(a, b), [[x @ y / np.linalg.norm(x) / np.linalg.norm(y) for y in b] for x in a])


def test_retrieval_of_a_hand_made_matrix():
    # row 0 finds 0 first; row 1 finds column 0 above its own (rank 2); row 2: rank 3
    sim = np.array([[0.9, 0.1, 0.2], [0.8, 0.5, 0.4], [0.7, 0.6, 0.1]])
    top1, mrr = retrieval(sim)
    assert top1 == pytest.approx(1 / 3) and mrr == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_identical_programs_retrieve_perfectly_and_collapsed_embeddings_score_chance():
    rng = np.random.default_rng(1)
    same = rng.normal(size=(3, 50, 16))  # [layers, N, H]
    curves = alignment_curves({"python": same, "go": same.copy(), "ruby": same.copy()})
    assert set(curves) == {"python-go", "python-ruby", "go-ruby", "mean"}
    assert curves["mean"]["top1"] == [1.0] * 3 and curves["mean"]["mrr"] == [1.0] * 3
    assert np.allclose(curves["python-go"]["cos_pos"], 1.0)
    # Every program the same vector: all tied, so exactly chance (not a perfect score).
    flat = np.ones((10, 4))
    top1, mrr = retrieval(cosine_matrix(flat, flat))
    assert top1 == pytest.approx(chance(10)["top1"]) and mrr == pytest.approx(chance(10)["mrr"])


def test_shuffled_pairing_scores_chance_within_noise():
    rng = np.random.default_rng(2)
    n, trials = 40, 50
    top1s, mrrs, gaps = [], [], []
    for _ in range(trials):
        a = rng.normal(size=(n, 32))
        b = a[rng.permutation(n)] + 0.1 * rng.normal(size=(n, 32))  # equivalents exist, but wrongly paired
        metrics = pair_metrics(a, b)
        top1s.append(metrics["top1"])
        mrrs.append(metrics["mrr"])
        gaps.append(metrics["cos_gap"])
    expected = chance(n)
    assert expected["top1"] == 1 / n and expected["mrr"] == pytest.approx(sum(1 / k for k in range(1, n + 1)) / n)
    # Standard errors over 2 * n * trials retrievals (both directions): a few thousand draws.
    assert abs(np.mean(top1s) - expected["top1"]) < 0.015
    assert abs(np.mean(mrrs) - expected["mrr"]) < 0.02
    assert abs(np.mean(gaps)) < 0.02


def test_parallel_programs_keep_complete_groups_and_name_the_problem():
    problems = [p for p in load_problems("bundled") if p.split == "eval"]
    programs = parallel_programs(problems, ["python", "rb", "go"], limit=5)
    assert programs.languages == ["python", "ruby", "go"] and len(programs.task_ids) == 5
    assert programs.programs["ruby"][0] == problems[0].variants["ruby"].solution
    with pytest.raises(DataError, match="at least two languages"):
        parallel_programs(problems, ["python"])
    with pytest.raises(DataError, match=r"languages: 0 of 18 problems"):
        parallel_programs(problems, ["python", "rust"])


@pytest.fixture(scope="module")
def tiny_model():
    return load_model(TINY_SPEC), load_tokenizer(TINY_SPEC.weights_dir())


def test_tiny_embeddings_have_every_layer_and_do_not_depend_on_the_batch(tiny_model):
    model, tokenizer = tiny_model
    problems = [p for p in load_problems("bundled") if p.split == "eval"][:6]
    texts = [p.parallel_group()[lang] for p in problems for lang in ("python", "go")]
    batched = embed(model, tokenizer, texts, batch_size=5)
    assert set(batched) == {"mean", "last"}
    assert batched["mean"].shape == (model.config.num_hidden_layers + 1, len(texts), model.config.hidden_size)
    for i, text in enumerate(texts):  # alone, no padding at all
        alone = embed(model, tokenizer, [text], batch_size=1)
        for pooling in ("mean", "last"):
            assert torch.allclose(batched[pooling][:, i], alone[pooling][:, 0], atol=1e-5), (i, pooling)
    # Layer 0 is the token embedding table: the mean of the program's token embeddings.
    ids = tokenizer(texts[0], add_special_tokens=False)["input_ids"]
    table = model.get_input_embeddings().weight.detach()
    assert torch.allclose(batched["mean"][0, 0], table[ids].mean(0), atol=1e-6)
    assert torch.allclose(batched["last"][0, 0], table[ids[-1]], atol=1e-6)


CALLBACK_YAML = """
trainer:
  callbacks:
    - class_path: callbacks.Alignment   # cross-language retrieval and cosine per layer, held-out groups
      init_args:
        languages: [python, lua, ruby]
        limit: 8
        before_training: true
        batch_size: 4
"""


def test_alignment_callback_logs_scalars_to_tensorboard_and_writes_json(tmp_path):
    (tmp_path / "align.yaml").write_text(CALLBACK_YAML)
    args = ["--config", str(TINY), "--config", str(tmp_path / "align.yaml"), f"--trainer.default_root_dir={tmp_path}"]
    args += [f"--trainer.logger.init_args.save_dir={tmp_path}", "--trainer.logger.init_args.name=tb"]
    cli = build_lightning_cli([*args, "--trainer.max_steps=2", "--data.init_args.mixture.num_examples=8"], run=False)
    [callback] = [c for c in cli.trainer.callbacks if isinstance(c, Alignment)]
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)

    run_dir = Path(cli.trainer.logger.log_dir)
    reports = {epoch: json.loads((run_dir / "align" / f"epoch={epoch}.json").read_text()) for epoch in (0, 1)}
    assert reports[1]["languages"] == ["python", "lua", "ruby"] and reports[1]["groups"] == 8
    assert reports[1]["layers"] == 3 and reports[1]["curves"]["mean"]["python-lua"]["top1"] == pytest.approx(
        callback.history[1]["curves"]["mean"]["python-lua"]["top1"]
    )
    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "images": 0}).Reload()
    tags = set(events.Tags()["scalars"])
    expected = {
        "align/mean/layer00/top1",
        "align/last/layer02/mrr",
        "align/mean/layer01/cos_gap",
        "align/last/python-ruby/best_top1",
        "align/mean/lua-ruby/last_top1",
        "align/mean/best_layer",
    }
    assert expected <= tags, expected - tags
    logged = events.Scalars("align/mean/layer02/top1")
    assert [e.step for e in logged] == [0, 2]  # before training, and after the epoch's 2 steps
    for event, report in zip(logged, reports.values(), strict=True):
        assert event.value == pytest.approx(report["curves"]["mean"]["mean"]["top1"][2])
    assert [e.step for e in events.Images("align/layers")] == [0, 1]  # by epoch, as PassAtK's heatmap


def test_align_command_compares_a_checkpoint_with_its_base(tmp_path, capsys, tiny_checkpoint):
    cli, ckpt = tiny_checkpoint
    common = ["--dataset", "bundled", "--languages", "[python, go, php, ruby]", "--limit", "10"]
    base = tmp_path / "base.json"
    base_model = ["--model.source", cli.model.spec.weights_dir(), "--model.quantization", "nf4"]
    assert main(["align", *base_model, *common, "--output", str(base)]) == 0
    tuned = tmp_path / "tuned.json"
    assert (
        main(["align", "--model.checkpoint", str(ckpt), *common, "--compare", str(base), "--output", str(tuned)]) == 0
    )
    out = capsys.readouterr().out
    assert "mean:top1" in out and "chance among 10 groups: top1 0.100" in out
    assert "last:dtop1" in out.split(f"this run minus {base}:")[1]
    report = json.loads(tuned.read_text())
    assert report["checkpoint"] == str(ckpt) and report["groups"] == 10 and len(report["curves"]["last"]) == 7
    assert tuned.with_suffix(".png").stat().st_size > 0
    # Bad input: one line naming the place.
    assert (
        main(["align", "--model.source", cli.model.spec.weights_dir(), "--languages", "[python]", "--output", "x"]) == 2
    )
    assert "languages: alignment needs at least two languages" in capsys.readouterr().err
    other = ["--languages", "[python, go]", "--compare", str(base), "--output", "x"]
    assert main(["align", *base_model, *other]) == 2
    assert f"{base}: field 'languages' or 'task_ids' differs" in capsys.readouterr().err


def test_alignment_callback_under_two_process_ddp_agrees_on_every_rank(tmp_path):
    script = Path(__file__).with_name("ddp") / "align_ranks.py"
    run = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert sorted(rank0) == ["0", "1", "2"]  # before training, then 2 epochs of one step per rank
    assert rank0 == rank1
    assert sorted(p.name for p in (tmp_path / "align").iterdir()) == ["epoch=0.json", "epoch=1.json", "epoch=2.json"]
