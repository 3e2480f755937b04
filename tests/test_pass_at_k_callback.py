"""pass@k of the tiny model: the PassAtK callback inside a real fit (before training and after the epoch,
records written, metrics logged, heatmap drawn), and `lit-parallel evaluate` of a checkpoint."""

import json
import re
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from callbacks import PassAtK
from lit_parallel.cli import main
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.generation import SamplingSpec

TINY = Path(__file__).resolve().parents[1] / "configs" / "tiny" / "sft.yaml"


def test_pass_at_k_runs_in_a_fit_and_writes_every_generation(tmp_path):
    args = ["--config", str(TINY), f"--trainer.default_root_dir={tmp_path}"]
    args += [f"--trainer.logger.init_args.save_dir={tmp_path}", "--trainer.logger.init_args.name=tb"]
    # The config's own PassAtK makes way for the one under test.
    args += ["--trainer.max_steps=2", "--data.init_args.mixture.num_examples=8", "--trainer.callbacks=[]"]
    args += ["--data.init_args.eval_problems_per_language=3", "--data.init_args.eval_languages=[python, lua]"]
    cli = build_lightning_cli(args, run=False)
    sampling = SamplingSpec(n=2, temperature=0.8, top_p=0.95, max_new_tokens=12, batch_size=4)
    callback = PassAtK(targets=["lua"], sampling=sampling, ks=[1, 2], before_training=True)
    cli.trainer.callbacks.append(callback)
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    run_dir = Path(cli.trainer.logger.log_dir)
    for epoch in (0, 1):
        records = [json.loads(line) for line in (run_dir / "pass_at_k" / f"epoch={epoch}.jsonl").open()]
        assert sorted((r["language"], r["task_id"], r["sample"]) for r in records) == sorted(
            {(r["language"], r["task_id"], s) for r in records for s in (0, 1)}
        )
        assert len(records) == 2 * 3 * 2 and all(r["verdict"] for r in records)
    metrics = cli.trainer.callback_metrics
    assert {"pass@1/python", "pass@2/lua", "pass@1/targets"} <= set(metrics)
    assert callback.heatmap().shape[-1] == 3 and sorted(callback.history) == [0, 1]

    events = EventAccumulator(str(run_dir), size_guidance={"images": 0, "tensors": 0}).Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"pass@1/python", "pass@2/lua", "pass@1/targets"} <= scalars, scalars
    assert any(tag.startswith("verdicts/lua/") for tag in scalars), scalars
    assert [e.step for e in events.Images("pass_at_k/heatmap")] == [0, 1]
    texts = {tag for tag in events.Tags()["tensors"] if tag.startswith("pass_at_k/samples/")}
    assert {"pass_at_k/samples/python/text_summary", "pass_at_k/samples/lua/text_summary"} <= texts, texts


def test_evaluate_command_scores_a_checkpoint_and_the_same_adapter_alike(tmp_path, capsys, tiny_checkpoint):
    _, ckpt = tiny_checkpoint
    sampling = [
        "--sampling.n",
        "2",
        "--ks",
        "[1, 2]",
        "--sampling.temperature",
        "0.7",
        "--sampling.max_new_tokens",
        "8",
    ]
    common = ["evaluate", "--languages", "[python, ruby]", "--limit", "3", *sampling]
    by_checkpoint, by_adapter = tmp_path / "checkpoint.json", tmp_path / "adapter.json"
    assert main([*common, "--model.checkpoint", str(ckpt), "--output", str(by_checkpoint)]) == 0
    table = capsys.readouterr().out
    assert re.search(r"^python\s+3\s+0\.\d{3}\s+0\.\d{3}$", table, re.MULTILINE), table
    report = json.loads(by_checkpoint.read_text())
    records = [json.loads(line) for line in by_checkpoint.with_suffix(".jsonl").open()]
    assert len(records) == 2 * 3 * 2 and {"pass@1/ruby", "pass@2/python"} <= set(report["metrics"])
    assert report["problems"] == {"python": 3, "ruby": 3}

    # The training config's model (tiny, nf4) with the adapter saved at the end: the same weights.
    adapter = tmp_path / "adapters" / "final"
    assert (
        main([*common, "--model.fit_config", str(TINY), "--model.adapter", str(adapter), "--output", str(by_adapter)])
        == 0
    )
    completions = lambda path: [json.loads(line)["completion"] for line in path.with_suffix(".jsonl").open()]  # noqa: E731
    assert completions(by_adapter) == completions(by_checkpoint)
