"""The phase-diagram tool of linear-network and the generic `dmft tool` mechanism."""
import json

import h5py
import numpy as np
import pytest

import dmft
from dmft import cli
from solvers.linear_network_phases import MECHANISMS


@pytest.fixture(scope="module")
def diagram(tmp_path_factory):
    out = tmp_path_factory.mktemp("pd")
    paths = dmft.tool("linear-network", "phase-diagram", out, width=400, points=9, ratios=[0.01, 1.0])
    return out, paths


def test_writes_table_and_figure(diagram):
    out, paths = diagram
    assert [p.name for p in paths] == ["phase_diagram.h5", "phase_diagram.png"]
    assert (out / "phase_diagram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with h5py.File(out / "phase_diagram.h5", "r") as f:
        assert f.attrs["tool"] == "phase-diagram" and json.loads(f.attrs["params"])["width"] == 400
        assert f["kernel_ratio"].shape == f["zeta_inf"].shape == f["mechanism"].shape == (2, 9, 9)
        assert json.loads(f.attrs["mechanisms"]) == list(MECHANISMS)


def test_phases_and_mechanisms_where_the_theory_puts_them(diagram):
    out, _ = diagram
    with h5py.File(out / "phase_diagram.h5", "r") as f:
        kappa, sigma, ratio = f["kappa"][()], f["sigma"][()], f["kernel_ratio"][()]
        chi, mechanism, zeta_inf = f["chi"][()], f["mechanism"][()], f["zeta_inf"][()]
    # large output scale x initialisation (chi << 1): kernel phase; small (chi >> 1): feature learning
    assert abs(ratio[1, -1, -1] - 1) < 0.1 and chi[1, -1, -1] < 1e-3
    assert ratio[1, 0, 0] > 10 and chi[1, 0, 0] > 1e3
    # |F_0| >> |c| disaligns, small initialisation ends aligned
    assert MECHANISMS[mechanism[1, -1, -1]] == "disalignment" and abs(zeta_inf[1, -1, -1]) < 0.1
    assert abs(zeta_inf[1, 0, 0]) > 0.99
    # zeta_inf depends on rho only, not on the learning-rate ratio (linear_network.md section 4)
    np.testing.assert_allclose(zeta_inf[0], zeta_inf[1], rtol=1e-12)
    # the kernel edge sits near chi = 1 at large width: wherever chi < 0.01 the kernel barely changes
    assert np.all(np.abs(ratio[chi < 1e-2] - 1) < 0.1)
    assert np.all(ratio[chi > 100] > 2)
    assert kappa[0] < kappa[-1] and sigma[0] < sigma[-1]


def test_tool_command_line(tmp_path, capsys):
    assert cli.main(["tools", "linear-network"]) == 0
    assert "phase-diagram" in capsys.readouterr().out
    out = tmp_path / "pd"
    assert cli.main(["tool", "linear-network", "phase-diagram", "points=3", "width=10", "-o", str(out)]) == 0
    assert (out / "phase_diagram.h5").exists()
    assert cli.main(["tool", "linear-network", "phase-diagram", "points=3", "-o", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli.main(["tool", "linear-network", "phase-diagram", "points=3", "width=10", "-o", str(out), "--force"]) == 0
    for argv, message in ((["tool", "linear-network", "nope", "-o", str(tmp_path / "a")], "no tool 'nope'"),
                          (["tool", "linear-network", "phase-diagram", "points=1", "-o", str(tmp_path / "b")], "'points'"),
                          (["tool", "linear-network", "phase-diagram", "ratios=1,x", "-o", str(tmp_path / "c")], "'ratios'")):
        assert cli.main(argv) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / argv[-1]).exists()
    assert cli.main(["tools", "linear-regression"]) == 0
    assert "no tools" in capsys.readouterr().out
