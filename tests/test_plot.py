"""dmft.plotting.plot on small real results."""
import numpy as np
import pytest
from matplotlib.figure import Figure

import dmft
from dmft.plotting import plot

SMALL = dict(method="gd", dt=0.2, t_max=2)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def theory():
    return dmft.solve("linear-regression", **SMALL)


@pytest.fixture(scope="module")
def simulation():
    return dmft.simulate("linear-regression", d=100, seeds=3, **SMALL)


@pytest.fixture
def saved(monkeypatch):
    """The figures plot() saves, in order (the files are still written)."""
    figures = []
    original = Figure.savefig

    def savefig(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figures


def _assert_png(path):
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > len(PNG_MAGIC)


def _panels(fig):
    """Observable panels (those with a line), heat-map panels (those with an image)."""
    return [ax for ax in fig.axes if ax.lines], [ax for ax in fig.axes if ax.images]


def test_solve_has_one_panel_per_observable_and_a_heat_map(theory, tmp_path, saved):
    path = tmp_path / "solve.png"
    assert plot(theory, path) is None
    _assert_png(path)
    lines, images = _panels(saved[0])
    assert [ax.get_ylabel() for ax in lines] == theory.observable_names()
    assert len(images) == 1
    np.testing.assert_array_equal(images[0].images[0].get_array(), theory.order["C"])
    assert images[0].get_xlim()[0] < theory.t[0] < theory.t[-1] < images[0].get_xlim()[1]
    np.testing.assert_array_equal(lines[0].lines[0].get_xdata(), theory.t)
    assert "linear-regression" in saved[0].get_suptitle() and "alpha=2" in saved[0].get_suptitle()
    assert not any(ax.collections for ax in lines)  # deterministic: no stderr band


def test_logt_drops_t0_and_uses_log_axis(theory, tmp_path, saved):
    path = tmp_path / "solve_log.png"
    plot(theory, path, logt=True)
    _assert_png(path)
    lines, _ = _panels(saved[0])
    for ax in lines:
        assert ax.get_xscale() == "log"
        t = ax.lines[0].get_xdata()
        assert t.min() > 0 and len(t) == len(theory.t) - 1


def test_simulation_has_stderr_band(simulation, tmp_path, saved):
    path = tmp_path / "sim.png"
    plot(simulation, path, logt=True)
    _assert_png(path)
    lines, images = _panels(saved[0])
    assert len(lines) == len(simulation.observable_names()) and not images
    assert all(len(ax.collections) == 1 for ax in lines)
    assert "d=100" in saved[0].get_suptitle()


def test_result_without_order_parameters_has_no_heat_map(tmp_path, saved):
    result = dmft.solve("linear-regression", scheme="mp", t_max=2)
    assert not result.order
    path = tmp_path / "mp.png"
    plot(result, path)
    _assert_png(path)
    lines, images = _panels(saved[0])
    assert len(lines) == len(result.observable_names()) and not images


def test_format_from_extension(theory, tmp_path):
    path = tmp_path / "solve.pdf"
    plot(theory, path)
    assert path.read_bytes().startswith(b"%PDF")


def test_leaves_no_pyplot_figures(theory, tmp_path):
    import sys
    plot(theory, tmp_path / "x.png")
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()
