"""Tools of ``kernel``: the three-stage figure and the two-kernel example."""
import json

import h5py
import pytest

import dmft
from solvers.kernel import KernelModel
from solvers.kernel_tools import kernel_pair


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    out = tmp_path_factory.mktemp("stages")
    paths = dmft.tool("kernel", "stages", out, d=200, n=2828, points=36)
    with h5py.File(out / "stages.h5", "r") as f:
        return paths, json.loads(f.attrs["checks"]), json.loads(f.attrs["diagnostics"])


def test_stages_writes_table_and_figure(stages):
    paths, _, diag = stages
    assert [p.name for p in paths] == ["stages.h5", "stages.png"]
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert diag["L"] == 1 and diag["separated"]


def test_three_stages_at_d200(stages):
    _, checks, _ = stages
    assert checks["stage1_gap"] < 0.25                  # train and test together early
    assert checks["stage2_end"] < 0.3                   # train -> 0 well before tau_2 ...
    assert checks["stage2_oracle_gap"] < 0.35           # ... test and oracle close (0.28 at d=200, 0.44 at d=100)
    assert checks["stage3_gap"] > 5                     # oracle far below the frozen test error


def test_faster_training_is_not_better_generalisation(tmp_path):
    dmft.tool("kernel", "two-kernels", tmp_path, points=40)
    with h5py.File(tmp_path / "two_kernels.h5", "r") as f:
        s = json.loads(f.attrs["summary"])
    assert s["speedup"] > 2 and abs(s["speedup"] / s["predicted"] - 1) < 0.15
    assert s["test_advantage_B"] < 0.02
    dmft.tool("kernel", "two-kernels", tmp_path / "worse", points=40, low_scale=0.5)
    with h5py.File(tmp_path / "worse" / "two_kernels.h5", "r") as f:
        worse = json.loads(f.attrs["summary"])
    assert worse["speedup"] > 2 and worse["test_deficit_B"] > 0.05


def test_two_kernels_rejects_a_low_boost_degree():
    p = {q.name: q.default for q in KernelModel.tools["two-kernels"].parameters}
    with pytest.raises(dmft.ParameterError, match="boost_degree"):
        kernel_pair({**p, "boost_degree": 2})
