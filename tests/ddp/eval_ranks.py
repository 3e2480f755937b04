"""Run by tests/test_pass_at_k_ddp.py: PassAtK over the tiny model in `trainer.validate`, on WORLD
(1 or 2) CPU processes; rank 0 writes the gathered records, every rank its metrics."""

import json
import sys
from pathlib import Path

from callbacks import PassAtK
from lit_parallel.commands.lightning import build_lightning_cli
from lit_parallel.generation import SamplingSpec

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "tiny" / "sft.yaml"


def main(out: Path, world: int, problems: int) -> None:
    args = ["--config", str(CONFIG), f"--trainer.devices={world}", f"--trainer.default_root_dir={out}"]
    args += ["--trainer.logger=false", "--trainer.limit_val_batches=1", "--data.init_args.eval_languages=[python]"]
    args += ["--trainer.callbacks=[]"]  # only the PassAtK under test
    args += [f"--data.init_args.eval_problems_per_language={problems}"]
    args += ["--trainer.strategy=ddp"] if world > 1 else []
    cli = build_lightning_cli(args, run=False)
    sampling = SamplingSpec(n=1, temperature=0.8, max_new_tokens=12, batch_size=2, seed=7)
    callback = PassAtK(sampling=sampling, on="validation_end")
    cli.trainer.callbacks.append(callback)
    cli.trainer.validate(cli.model, datamodule=cli.datamodule)
    (out / f"metrics{cli.trainer.global_rank}.json").write_text(json.dumps(callback.history))


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
