"""Fixtures shared across test files."""

import pytest

from lit_parallel.modeling import PACKAGED, load_tokenizer


@pytest.fixture(scope="session")
def tokenizer():
    """The real SmolLM2-135M-Instruct tokenizer (chat template included), from the packaged GGUF."""
    return load_tokenizer(PACKAGED)
