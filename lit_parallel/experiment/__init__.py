"""The paper's comparison: arms x seeds x stages (SFT, RL, pass@k, alignment), resumable, and its report."""

from lit_parallel.experiment.config import ExperimentConfig, load_experiment
from lit_parallel.experiment.pipeline import RunCommand, StageFailed, plan, run
from lit_parallel.experiment.report import write_report

__all__ = ["ExperimentConfig", "RunCommand", "StageFailed", "load_experiment", "plan", "run", "write_report"]
