"""Where a fit's own files go: the logger's run directory, an explicit root, never the working directory."""

from pathlib import Path

import lightning as L
from lightning.pytorch.loggers import TensorBoardLogger

from lit_parallel.modules.run_dir import run_directory


def test_files_of_a_fit_without_a_directory_stay_out_of_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_directory(L.Trainer(logger=False)) == Path("runs")
    assert run_directory(L.Trainer(logger=False, default_root_dir=tmp_path / "root")) == tmp_path / "root"
    logger = TensorBoardLogger(tmp_path / "logs", name="x", version=3)
    assert run_directory(L.Trainer(logger=logger)) == tmp_path / "logs" / "x" / "version_3"
