"""Every example configuration in data/examples parses and passes its model's parameter checks."""
from pathlib import Path

import pytest

import dmft
from dmft.config import read_config

EXAMPLES = sorted((Path(__file__).parent.parent / "data" / "examples").glob("*.toml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_config_is_valid(path):
    model, _ = read_config(path)
    assert model in dmft.models()
    dmft.check_params(model, path)
