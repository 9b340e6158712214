"""The ``dmft`` command line, mostly in-process through ``dmft.cli.main``.

Exit status: 0 success, 1 finished but diverged / failed validation, 2 bad input (one line on
stderr, nothing written).
"""
import json

import h5py
import numpy as np
import pytest

import dmft
from dmft import cli
from dmft.api import params as model_params
from dmft.registry import get_model
from validation.compare import compare

MODEL = "linear-regression"
SMALL = ["method=gd", "dt=0.2", "t_max=2"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(capsys, *argv):
    """(exit status, stdout, stderr) of ``dmft argv...`` run in-process."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def files(directory):
    """Every name in ``directory``, hidden temporary files included."""
    return sorted(p.name for p in directory.iterdir())


def assert_usage_error(code, err, *needles):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected a one-line message, got {err!r}"
    assert lines[0].startswith("dmft: error:"), lines[0]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"


# ---------------------------------------------------------------- models, params

def test_models_lists_linear_regression(capsys):
    code, out, err = run(capsys, "models")
    assert code == 0 and err == ""
    assert MODEL in out.split()


def test_params_lists_every_parameter_with_default_range_and_meaning(capsys):
    code, out, err = run(capsys, "params", MODEL)
    assert code == 0 and err == ""
    lines = out.splitlines()
    for p in model_params(MODEL):
        line = next((ln for ln in lines if ln.split() and ln.split()[0] == p.name), None)
        assert line is not None, f"parameter {p.name} not listed"
        assert str(p.default) in line
        assert p.allowed() in line
        assert p.meaning in line
    for name in get_model(MODEL).observables:
        assert name in out


def test_params_of_unknown_model(capsys, tmp_path):
    code, _, err = run(capsys, "params", "no-such-model")
    assert_usage_error(code, err, "no-such-model")


# ---------------------------------------------------------------- solve

def test_solve_with_defaults(capsys, tmp_path):
    out_path = tmp_path / "OUT.h5"
    code, out, err = run(capsys, "solve", MODEL, "-o", out_path)
    assert code == 0, err
    assert files(tmp_path) == ["OUT.h5"]  # no checkpoint or temporary file left
    r = dmft.load(out_path)
    assert r.model == MODEL
    assert r.params == {p.name: p.default for p in model_params(MODEL)}
    assert r.solver["converged"] and r.solver["status"] == "ok"
    assert len(r.t) == 501 and r.t[-1] == pytest.approx(10.0)
    assert r.provenance["command"] == f"dmft solve {MODEL} -o {out_path}"


def test_solve_key_values(capsys, tmp_path):
    out_path = tmp_path / "o.h5"
    code, _, err = run(capsys, "solve", MODEL, *SMALL, "alpha=3", "--quiet", "-o", out_path)
    assert code == 0, err
    r = dmft.load(out_path)
    assert r.params["alpha"] == 3.0 and r.params["method"] == "gd" and r.params["dt"] == 0.2
    assert len(r.t) == 11


BAD_SOLVE = [
    (["solve", "no-such-model"], ["no-such-model"]),
    (["solve", MODEL, "foo=1"], ["foo"]),
    (["solve", MODEL, "alpha=abc"], ["alpha", "abc"]),
    (["solve", MODEL, "alpha=-1"], ["alpha"]),
    (["solve", MODEL, "method=sgd"], ["method", "sgd"]),
    (["solve", MODEL, "max_iter=0"], ["max_iter"]),
    (["solve", MODEL, "alpha"], ["alpha", "key=value"]),
    (["solve", MODEL, "dt=20"], ["dt"]),
    (["simulate", MODEL, "seeds=1", *SMALL], ["seeds"]),
    (["simulate", MODEL, "d=1", *SMALL], ["'d'"]),
    (["simulate", "no-such-model"], ["no-such-model"]),
    (["simulate", MODEL, "foo=1"], ["foo"]),
]


@pytest.mark.parametrize("argv, needles", BAD_SOLVE, ids=[" ".join(a) for a, _ in BAD_SOLVE])
def test_bad_parameters_exit_2_and_write_nothing(capsys, tmp_path, argv, needles):
    out_path = tmp_path / "OUT.h5"
    code, out, err = run(capsys, *argv, "-o", out_path)
    assert_usage_error(code, err, *needles)
    assert not out_path.exists()
    assert files(tmp_path) == []


def test_missing_config_file(capsys, tmp_path):
    out_path = tmp_path / "OUT.h5"
    code, _, err = run(capsys, "solve", MODEL, "--config", tmp_path / "missing.toml", "-o", out_path)
    assert_usage_error(code, err, "missing.toml")
    assert files(tmp_path) == []


def test_invalid_toml_config(capsys, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text("alpha = [\n")
    out_path = tmp_path / "OUT.h5"
    code, _, err = run(capsys, "solve", MODEL, "--config", config, "-o", out_path)
    assert_usage_error(code, err, "bad.toml")
    assert files(tmp_path) == ["bad.toml"]


def test_config_for_another_model(capsys, tmp_path):
    config = tmp_path / "other.toml"
    config.write_text('model = "other"\nalpha = 3.0\n')
    out_path = tmp_path / "OUT.h5"
    code, _, err = run(capsys, "solve", MODEL, "--config", config, "-o", out_path)
    assert_usage_error(code, err, "other", MODEL)
    assert files(tmp_path) == ["other.toml"]


def test_config_with_bad_value(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('alpha = -2.0\n')
    code, _, err = run(capsys, "solve", MODEL, "--config", config, "-o", tmp_path / "OUT.h5")
    assert_usage_error(code, err, "alpha")
    assert files(tmp_path) == ["c.toml"]


def test_existing_output_needs_force(capsys, tmp_path):
    out_path = tmp_path / "OUT.h5"
    assert run(capsys, "solve", MODEL, *SMALL, "--quiet", "-o", out_path)[0] == 0
    before = out_path.read_bytes()
    code, _, err = run(capsys, "solve", MODEL, *SMALL, "alpha=3", "--quiet", "-o", out_path)
    assert_usage_error(code, err, "OUT.h5", "--force")
    assert out_path.read_bytes() == before
    assert files(tmp_path) == ["OUT.h5"]

    code, _, err = run(capsys, "solve", MODEL, *SMALL, "alpha=3", "--quiet", "--force", "-o", out_path)
    assert code == 0, err
    assert dmft.load(out_path).params["alpha"] == 3.0
    assert files(tmp_path) == ["OUT.h5"]


def test_simulate_existing_output_needs_force(capsys, tmp_path):
    out_path = tmp_path / "SIM.h5"
    out_path.write_bytes(b"keep me")
    code, _, err = run(capsys, "simulate", MODEL, *SMALL, "d=20", "seeds=2", "-o", out_path)
    assert_usage_error(code, err, "SIM.h5", "--force")
    assert out_path.read_bytes() == b"keep me"
    code, _, err = run(capsys, "simulate", MODEL, *SMALL, "d=20", "seeds=2", "--force", "-o", out_path)
    assert code == 0, err
    assert dmft.load(out_path).simulation["d"] == 20


def test_output_in_missing_directory(capsys, tmp_path):
    out_path = tmp_path / "nodir" / "OUT.h5"
    code, _, err = run(capsys, "solve", MODEL, *SMALL, "-o", out_path)
    assert_usage_error(code, err, "nodir")
    assert files(tmp_path) == []


def test_validate_bad_sizes(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "validate", MODEL, "--sizes", "5,x", "--report", tmp_path / "rep")
    assert_usage_error(code, err, "--sizes", "5,x")
    assert files(tmp_path) == []


@pytest.mark.parametrize("argv, needles", [
    (["--seeds", "1"], ["seeds"]),
    (["--sizes", "1"], ["'d'"]),
    (["--threshold", "0"], ["threshold"]),
    (["foo=1"], ["foo"]),
])
def test_validate_bad_input(capsys, tmp_path, monkeypatch, argv, needles):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "validate", MODEL, *SMALL, *argv, "--report", tmp_path / "rep")
    assert_usage_error(code, err, *needles)
    assert files(tmp_path) == []


def test_show_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "show", tmp_path / "missing.h5")
    assert_usage_error(code, err, "missing.h5")
    assert out == ""
    assert files(tmp_path) == []


def test_show_non_hdf5_file(capsys, tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("not hdf5\n")
    code, out, err = run(capsys, "show", path)
    assert_usage_error(code, err, "text.h5")
    assert files(tmp_path) == ["text.h5"]


def test_show_hdf5_file_of_another_kind(capsys, tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    code, _, err = run(capsys, "show", path)
    assert_usage_error(code, err, "other.h5")


def test_plot_missing_file(capsys, tmp_path):
    code, _, err = run(capsys, "plot", tmp_path / "missing.h5", "-o", tmp_path / "fig.png")
    assert_usage_error(code, err, "missing.h5")
    assert files(tmp_path) == []


def test_no_verb_and_unknown_option(capsys):
    code, _, err = run(capsys)
    assert_usage_error(code, err)
    code, _, err = run(capsys, "solve", MODEL, "--bogus", "-o", "x.h5")
    assert_usage_error(code, err, "--bogus")


# ---------------------------------------------------------------- config files

@pytest.mark.parametrize("text", [
    'model = "linear-regression"\nalpha = 3.0\nmethod = "gd"\ndt = 0.2\nt_max = 2\n',
    'model = "linear-regression"\n[params]\nalpha = 3.0\nmethod = "gd"\ndt = 0.2\nt_max = 2\n',
    'alpha = 3.0\nmethod = "gd"\n[params]\ndt = 0.2\nt_max = 2\n',
], ids=["top-level", "params-table", "mixed"])
def test_config(capsys, tmp_path, text):
    config = tmp_path / "run.toml"
    config.write_text(text)
    out_path = tmp_path / "OUT.h5"
    code, _, err = run(capsys, "solve", MODEL, "--config", config, "--quiet", "-o", out_path)
    assert code == 0, err
    p = dmft.load(out_path).params
    assert (p["alpha"], p["method"], p["dt"], p["t_max"]) == (3.0, "gd", 0.2, 2.0)
    assert p["sigma2"] == 0.25  # default


def test_command_line_overrides_config(capsys, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[params]\nalpha = 3.0\nsigma2 = 0.5\nmethod = "gd"\ndt = 0.2\nt_max = 2\n')
    out_path = tmp_path / "OUT.h5"
    code, _, err = run(capsys, "solve", MODEL, "alpha=4", "--config", config, "--quiet", "-o", out_path)
    assert code == 0, err
    p = dmft.load(out_path).params
    assert p["alpha"] == 4.0 and p["sigma2"] == 0.5 and p["t_max"] == 2.0


# ---------------------------------------------------------------- show, plot

@pytest.fixture
def solved(capsys, tmp_path):
    path = tmp_path / "solve.h5"
    assert run(capsys, "solve", MODEL, *SMALL, "--quiet", "-o", path)[0] == 0
    return path


@pytest.fixture
def simulated(capsys, tmp_path):
    path = tmp_path / "sim.h5"
    assert run(capsys, "simulate", MODEL, *SMALL, "d=50", "seeds=3", "--quiet", "-o", path)[0] == 0
    return path


def _table(out, names):
    """Data rows of the observables table printed by `dmft show`."""
    lines = out.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.split()[:1] == ["t"])
    assert lines[header].split() == ["t"] + names
    return lines[header + 1:]


def test_show_solve(capsys, solved):
    r = dmft.load(solved)
    code, out, err = run(capsys, "show", solved, "--times", "4")
    assert code == 0 and err == ""
    assert MODEL in out and "solve" in out
    params_line = next(ln for ln in out.splitlines() if ln.startswith("parameters:"))
    for name, value in r.params.items():
        assert f"{name}={value}" in params_line
    solver_line = next(ln for ln in out.splitlines() if ln.startswith("solver:"))
    for key in ("method=causal-march", "converged=True", "iterations=", "residual=", "wall_time=", "dt="):
        assert key in solver_line
    rows = _table(out, r.observable_names())
    assert len(rows) == 4
    times = [float(row.split()[0]) for row in rows]
    assert times[0] == 0 and times[-1] == pytest.approx(2.0) and times == sorted(times)
    i = int(np.argmin(abs(r.t - times[-1])))
    values = [float(x) for x in rows[-1].split()[1:]]
    expected = [r.observables[n][i] for n in r.observable_names()]
    np.testing.assert_allclose(values, expected, rtol=1e-5)
    assert "±" not in out


def test_show_simulation_prints_stderr(capsys, simulated):
    r = dmft.load(simulated)
    code, out, err = run(capsys, "show", simulated)
    assert code == 0 and err == ""
    assert "simulation d=50 seeds=3" in out and "seed 0" in out
    rows = _table(out, r.observable_names())
    assert len(rows) == 6
    for row in rows:
        assert row.count("±") == len(r.observable_names())


@pytest.mark.parametrize("logt", [False, True])
def test_plot(capsys, tmp_path, solved, logt):
    fig = tmp_path / "fig.png"
    code, out, err = run(capsys, "plot", solved, "-o", fig, *(["--logt"] if logt else []))
    assert code == 0, err
    assert fig.read_bytes().startswith(PNG_MAGIC)
    assert str(fig) in out


def test_plot_simulation(capsys, tmp_path, simulated):
    fig = tmp_path / "sim.png"
    code, _, err = run(capsys, "plot", simulated, "-o", fig, "--logt")
    assert code == 0, err
    assert fig.read_bytes().startswith(PNG_MAGIC)


# ---------------------------------------------------------------- simulate

def test_simulate_file_layout(capsys, tmp_path):
    path = tmp_path / "sim.h5"
    code, _, err = run(capsys, "simulate", MODEL, "d=200", "seeds=3", "-o", path)
    assert code == 0, err
    assert files(tmp_path) == ["sim.h5"]
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 0
        assert f.attrs["format"] == "dmft-trajectory"
        sim = f["simulation"]
        assert sim.attrs["d"] == 200 and sim.attrs["seeds"] == 3
        n = f["grid/t"].shape[0]
        assert n == 501
        names = ["m", "q", "test_error", "train_error"]
        assert sorted(sim["per_seed"]) == names
        assert sorted(f["observables"]) == sorted(names + [f"{k}_stderr" for k in names])
        for name in names:
            per_seed = sim["per_seed"][name][()]
            assert per_seed.shape == (3, n)
            np.testing.assert_allclose(f["observables"][name][()], per_seed.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(f["observables"][f"{name}_stderr"][()],
                                       per_seed.std(axis=0, ddof=1) / np.sqrt(3), rtol=1e-12, atol=1e-15)
            assert np.all(f["observables"][f"{name}_stderr"][()] >= 0)
        # the three realisations differ
        assert not np.array_equal(sim["per_seed"]["q"][0], sim["per_seed"]["q"][1])


def test_simulate_seed(capsys, tmp_path):
    path = tmp_path / "sim.h5"
    code, _, err = run(capsys, "simulate", MODEL, *SMALL, "d=20", "seeds=2", "seed=7", "-o", path)
    assert code == 0, err
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 7


# ---------------------------------------------------------------- validate

def _check_validate(capsys, tmp_path, argv):
    rep = tmp_path / "DIR"
    code, out, err = run(capsys, "validate", MODEL, *argv, "--quiet", "--report", rep)
    assert code == 0, out + err
    assert "PASS" in out
    assert (rep / "report.html").is_file() and (rep / "report.html").stat().st_size > 0
    summary = json.loads((rep / "summary.json").read_text())
    assert summary["passed"] is True
    assert summary["sizes"] == [500, 1000]
    assert summary["seeds"] == 8
    assert set(summary["observables"]) == {"train_error", "test_error", "m", "q"}
    for name, row in summary["observables"].items():
        assert row["max_abs_z"] <= summary["threshold"], name
        assert row["passed"] is True
        assert set(row["by_size"]) == {"500", "1000"}
    return summary


def test_validate_passes_at_d_500_gd(capsys, tmp_path):
    summary = _check_validate(capsys, tmp_path, ["method=gd", "dt=0.2", "t_max=4",
                                                 "--sizes", "500,1000", "--seeds", "8"])
    assert summary["params"]["method"] == "gd"


def test_validate_passes_at_d_500_gf(capsys, tmp_path):
    summary = _check_validate(capsys, tmp_path, ["t_max=5", "--sizes", "500,1000", "--seeds", "8"])
    assert summary["params"]["method"] == "gf" and summary["params"]["t_max"] == 5.0


def test_validate_json_flag(capsys, tmp_path):
    code, out, err = run(capsys, "validate", MODEL, *SMALL, "--sizes", "100,200", "--seeds", "3",
                         "--quiet", "--json")
    assert code in (0, 1), err
    summary = json.loads(out[out.index("{"):])
    assert summary["sizes"] == [100, 200]
    assert summary["passed"] is (code == 0)


def test_wrong_theory_fails_comparison():
    small = dict(method="gd", dt=0.2, t_max=4)
    theory = dmft.solve(MODEL, alpha=2, **small)
    sims = [dmft.simulate(MODEL, alpha=3, d=500, seeds=8, **small)]
    v = compare(theory, sims, threshold=4.0)
    assert v.passed is False
    assert v.summary["passed"] is False
    assert max(row["max_abs_z"] for row in v.summary["observables"].values()) > 4.0


def test_validate_fails_with_tiny_threshold(capsys, tmp_path):
    rep = tmp_path / "rep"
    code, out, err = run(capsys, "validate", MODEL, *SMALL, "--sizes", "100,200", "--seeds", "3",
                         "--threshold", "1e-9", "--quiet", "--report", rep)
    assert code == 1, err
    assert "FAIL" in out
    assert json.loads((rep / "summary.json").read_text())["passed"] is False


# ---------------------------------------------------------------- divergence

def test_divergence_exits_1_and_keeps_finite_rows(capsys, tmp_path):
    # GD at dt=1.5 > 2/s_+ (alpha=2) blows up by ~3.4 per step; the march detects it when the
    # numbers overflow (t ~ 444 here), so t_max must reach beyond that.
    out_path = tmp_path / "d.h5"
    code, out, err = run(capsys, "solve", MODEL, "method=gd", "dt=1.5", "t_max=600", "--quiet",
                         "-o", out_path)
    assert code == 1
    assert "diverged" in err
    assert len(err.strip().splitlines()) == 1
    assert out_path.exists()
    assert files(tmp_path) == ["d.h5"]
    with h5py.File(out_path, "r") as f:
        n = f["grid/t"].shape[0]
        assert 0 < n < 401
        for group in ("observables", "order"):
            for name, ds in f[group].items():
                assert np.all(np.isfinite(ds[()])), f"{group}/{name}"
                assert ds.shape[0] == n
        assert not f["solver"].attrs["converged"]
        assert "diverged" in f["solver"].attrs["status"]


def test_show_and_plot_a_diverged_fixed_point_file(capsys, tmp_path):
    # scheme=iterate that diverges writes a file with zero time points (a file dmft itself
    # wrote); show and plot must handle it: exit 0, or 2 with a one-line message, never a
    # traceback.  (Currently both raise IndexError: r.t[0] / result.t[-1] on an empty grid.)
    path = tmp_path / "it.h5"
    code, _, err = run(capsys, "solve", MODEL, "scheme=iterate", "method=gd", "dt=100", "t_max=7000",
                       "--quiet", "-o", path)
    assert code == 1 and "diverged" in err
    assert path.exists()
    for argv in (["show", path], ["plot", path, "-o", tmp_path / "fig.png"]):
        code, out, err = run(capsys, *argv)
        assert code in (0, 2), err
        if code == 2:
            assert_usage_error(code, err)


# Bad input that currently escapes as a traceback (exit 1) instead of exit 2 + one line.

def test_show_negative_times_is_a_usage_error(capsys, solved):
    code, _, err = run(capsys, "show", solved, "--times", "-1")
    assert_usage_error(code, err, "--times")


def test_solve_onto_a_directory_is_a_usage_error(capsys, tmp_path):
    target = tmp_path / "dir.h5"
    target.mkdir()
    code, _, err = run(capsys, "solve", MODEL, *SMALL, "--quiet", "--force", "-o", target)
    assert_usage_error(code, err, "dir.h5")
    assert files(tmp_path) == ["dir.h5"] and target.is_dir()


def test_plot_to_unsupported_format_is_a_usage_error(capsys, tmp_path, solved):
    code, _, err = run(capsys, "plot", solved, "-o", tmp_path / "fig.h5")
    assert_usage_error(code, err, "fig.h5")


def test_model_name_may_come_from_the_config(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(f'model = "{MODEL}"\nalpha = 3.0\n')
    out_path = tmp_path / "o.h5"
    code, _, err = run(capsys, "solve", "--config", config, *SMALL, "--quiet", "-o", out_path)
    assert code == 0, err
    r = dmft.load(out_path)
    assert r.model == MODEL and r.params["alpha"] == 3.0 and r.params["t_max"] == 2.0
    code, _, err = run(capsys, "solve", "--config", config, "-o", tmp_path / "p.h5", "--quiet")
    assert code == 0, err


def test_model_missing_without_config_model(capsys, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('alpha = 3.0\n')
    code, _, err = run(capsys, "solve", "--config", config, "-o", tmp_path / "o.h5")
    assert_usage_error(code, err, "model name", "--config")
    code, _, err = run(capsys, "solve", "-o", tmp_path / "o.h5")
    assert_usage_error(code, err, "model name")
    assert files(tmp_path) == ["c.toml"]
