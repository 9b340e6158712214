"""HDF5 trajectory files (dmft.store): layout, round trip, atomic writes, reproducibility."""
import datetime as dt
import json

import h5py
import numpy as np
import pytest

import dmft
from dmft import cli
from dmft.store import FORMAT_VERSION, StoreError, write_result

MODEL = "linear-regression"
SMALL = dict(method="gd", dt=0.2, t_max=2)
SMALL_ARGS = ["method=gd", "dt=0.2", "t_max=2"]
ROOT_ATTRS = {"format", "format_version", "model", "params", "dmft_version", "created", "command"}
SOLVER_ATTRS = {"method", "dt", "iterations", "residual", "converged", "wall_time"}


@pytest.fixture(scope="module")
def theory():
    return dmft.solve(MODEL, command="test", **SMALL)


@pytest.fixture(scope="module")
def simulation():
    return dmft.simulate(MODEL, d=40, seeds=3, seed=5, command="test", **SMALL)


def _datasets(f):
    """{path: array} of every dataset in an open HDF5 file."""
    out = {}
    f.visititems(lambda name, obj: out.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _attrs(f):
    """{group path: attrs dict} of every group (root is '/')."""
    out = {"/": dict(f.attrs)}
    f.visititems(lambda name, obj: out.__setitem__(name, dict(obj.attrs)) if isinstance(obj, h5py.Group) else None)
    return out


def _leftovers(directory, keep):
    return sorted(p.name for p in directory.iterdir() if p.name not in keep)


# ---------------------------------------------------------------- layout and round trip

def test_root_attributes(theory, tmp_path):
    path = tmp_path / "t.h5"
    theory.save(path)
    with h5py.File(path, "r") as f:
        assert ROOT_ATTRS <= set(f.attrs)
        assert f.attrs["format"] == "dmft-trajectory"
        assert int(f.attrs["format_version"]) == FORMAT_VERSION
        assert f.attrs["model"] == MODEL
        assert json.loads(f.attrs["params"]) == theory.params
        assert f.attrs["dmft_version"] == dmft.__version__
        assert f.attrs["command"] == "test"
        created = dt.datetime.fromisoformat(f.attrs["created"])
        assert created.tzinfo is not None and created.utcoffset() == dt.timedelta(0)
        now = dt.datetime.now(dt.timezone.utc)
        assert abs((now - created).total_seconds()) < 3600


def test_dataset_layout(theory, tmp_path):
    path = tmp_path / "t.h5"
    theory.save(path)
    n = len(theory.t)
    assert n == 11
    with h5py.File(path, "r") as f:
        assert f["grid/t"].shape == (n,)
        assert set(f["observables"]) == {"train_error", "test_error", "m", "q"}
        for ds in f["observables"].values():
            assert ds.shape == (n,) and ds.dtype == np.float64
        assert set(f["order"]) == {"C", "R", "C_g", "Gamma"}
        for ds in f["order"].values():
            assert ds.shape == (n, n) and ds.dtype == np.float64
        solver = f["solver"].attrs
        assert SOLVER_ATTRS <= set(solver)
        assert solver["method"] == "causal-march"
        assert solver["dt"] == 0.2
        assert solver["iterations"] == 1
        assert solver["residual"] == 0.0
        assert bool(solver["converged"]) is True
        assert solver["wall_time"] >= 0
        assert "simulation" not in f


def test_round_trip_is_exact(theory, tmp_path):
    path = tmp_path / "t.h5"
    theory.save(path)
    r = dmft.load(path)
    assert r.model == theory.model and r.params == theory.params
    assert np.array_equal(r.t, theory.t)
    assert r.observables.keys() == theory.observables.keys()
    for k in theory.observables:
        assert np.array_equal(r.observables[k], theory.observables[k]), k
    assert r.order.keys() == theory.order.keys()
    for k in theory.order:
        assert np.array_equal(r.order[k], theory.order[k]), k
    for k, v in theory.solver.items():
        assert r.solver[k] == v, k
    assert r.provenance == theory.provenance
    assert r.seed is None and r.simulation is None
    # and the arrays in the file are the arrays of the result
    with h5py.File(path, "r") as f:
        assert np.array_equal(f["grid/t"][()], theory.t)
        for k in theory.order:
            assert np.array_equal(f["order"][k][()], theory.order[k])


def test_iterate_residual_history_round_trips(tmp_path):
    r = dmft.solve(MODEL, scheme="iterate", **SMALL)
    r.save(tmp_path / "i.h5")
    back = dmft.load(tmp_path / "i.h5")
    assert np.array_equal(back.solver["residual_history"], r.solver["residual_history"])
    assert back.solver["iterations"] == r.solver["iterations"]
    with h5py.File(tmp_path / "i.h5", "r") as f:
        assert SOLVER_ATTRS <= set(f["solver"].attrs)


def test_simulation_round_trip_and_seed(simulation, tmp_path):
    path = tmp_path / "s.h5"
    simulation.save(path)
    with h5py.File(path, "r") as f:
        assert f.attrs["seed"] == 5
        assert f["simulation"].attrs["d"] == 40 and f["simulation"].attrs["seeds"] == 3
        for k, v in simulation.simulation["per_seed"].items():
            assert np.array_equal(f["simulation/per_seed"][k][()], v)
    r = dmft.load(path)
    assert r.seed == 5
    for k in simulation.observables:
        assert np.array_equal(r.observables[k], simulation.observables[k])
    assert r.simulation["d"] == 40 and r.simulation["seeds"] == 3


def test_seed_absent_for_solve(theory, tmp_path):
    path = tmp_path / "t.h5"
    theory.save(path)
    with h5py.File(path, "r") as f:
        assert "seed" not in f.attrs
    assert dmft.load(path).seed is None


def test_save_refuses_to_overwrite_without_force(theory, tmp_path):
    path = tmp_path / "t.h5"
    theory.save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        theory.save(path)
    assert path.read_bytes() == before
    theory.save(path, force=True)
    assert dmft.load(path).params == theory.params


# ---------------------------------------------------------------- atomic writes

class _Unconvertible:
    def __array__(self, *args, **kwargs):
        raise RuntimeError("cannot convert")


def _broken(result):
    return dmft.Result(result.model, result.params, result.t,
                       observables={**result.observables, "zz_bad": _Unconvertible()},
                       order=result.order, solver=result.solver, provenance=result.provenance)


def test_failed_write_leaves_no_file(theory, tmp_path):
    path = tmp_path / "t.h5"
    with pytest.raises(RuntimeError, match="cannot convert"):
        write_result(path, _broken(theory))
    assert not path.exists()
    assert _leftovers(tmp_path, keep=()) == []


def test_failed_overwrite_keeps_old_file(theory, tmp_path):
    path = tmp_path / "t.h5"
    theory.save(path)
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        write_result(path, _broken(theory), force=True)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path, keep={"t.h5"}) == []
    assert np.array_equal(dmft.load(path).observables["q"], theory.observables["q"])


def test_failure_inside_h5py_midway(theory, tmp_path, monkeypatch):
    path = tmp_path / "t.h5"
    theory.save(path)
    before = path.read_bytes()
    original = h5py.Group.create_dataset

    def create_dataset(self, name, *args, **kwargs):
        if name.startswith("order/"):
            raise OSError("disk full (simulated)")
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    with pytest.raises(OSError, match="disk full"):
        theory.save(path, force=True)
    with pytest.raises(OSError, match="disk full"):
        theory.save(tmp_path / "new.h5")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not (tmp_path / "new.h5").exists()
    assert _leftovers(tmp_path, keep={"t.h5"}) == []


def test_keyboard_interrupt_during_write(theory, tmp_path, monkeypatch):
    path = tmp_path / "t.h5"
    original = h5py.Group.create_dataset

    def create_dataset(self, name, *args, **kwargs):
        if name.startswith("observables/"):
            raise KeyboardInterrupt
        return original(self, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", create_dataset)
    with pytest.raises(KeyboardInterrupt):
        theory.save(path)
    assert _leftovers(tmp_path, keep=()) == []


# ---------------------------------------------------------------- reproducibility

def test_same_solve_twice_is_identical():
    a = dmft.solve(MODEL, **SMALL)
    b = dmft.solve(MODEL, **SMALL)
    assert np.array_equal(a.t, b.t)
    for k in a.observables:
        assert np.array_equal(a.observables[k], b.observables[k]), k
    for k in a.order:
        assert np.array_equal(a.order[k], b.order[k]), k


def _simulate_in(directory, monkeypatch, capsys, *extra):
    directory.mkdir()
    monkeypatch.chdir(directory)
    code = cli.main(["simulate", MODEL, *SMALL_ARGS, "d=30", "seeds=3", *extra, "--quiet", "-o", "sim.h5"])
    err = capsys.readouterr().err
    assert code == 0, err
    return directory / "sim.h5"


def test_same_simulate_command_and_seed_is_identical(tmp_path, monkeypatch, capsys):
    pa = _simulate_in(tmp_path / "a", monkeypatch, capsys, "seed=3")
    pb = _simulate_in(tmp_path / "b", monkeypatch, capsys, "seed=3")
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        da, db = _datasets(fa), _datasets(fb)
        assert da.keys() == db.keys()
        assert {"grid/t", "observables/q", "observables/q_stderr", "simulation/per_seed/q"} <= set(da)
        for k in da:
            assert np.array_equal(da[k], db[k]), k
        aa, ab = _attrs(fa), _attrs(fb)
        assert aa.keys() == ab.keys()
        differing = {(g, k) for g in aa for k in set(aa[g]) | set(ab[g])
                     if not np.array_equal(aa[g].get(k), ab[g].get(k))}
        # only the creation time (and the measured wall time) may differ
        assert differing <= {("/", "created"), ("solver", "wall_time")}
        assert aa["/"]["seed"] == 3


def test_different_seed_gives_different_numbers(tmp_path, monkeypatch, capsys):
    pa = _simulate_in(tmp_path / "a", monkeypatch, capsys, "seed=3")
    pb = _simulate_in(tmp_path / "b", monkeypatch, capsys, "seed=4")
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        assert np.array_equal(fa["grid/t"][()], fb["grid/t"][()])
        for name in ("m", "q", "train_error", "test_error"):
            a, b = fa["simulation/per_seed"][name][()], fb["simulation/per_seed"][name][()]
            assert not np.allclose(a[:, 1:], b[:, 1:]), name


# ---------------------------------------------------------------- versions and foreign files

def test_newer_format_version_is_refused(theory, tmp_path, capsys):
    path = tmp_path / "t.h5"
    theory.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(StoreError, match=r"format_version.*newer.*upgrade"):
        dmft.load(path)
    code = cli.main(["show", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "format_version" in err


def test_foreign_hdf5_is_refused(tmp_path):
    path = tmp_path / "x.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "something-else"
    with pytest.raises(StoreError, match="not a dmft-trajectory"):
        dmft.load(path)


def test_not_hdf5_is_refused(tmp_path):
    path = tmp_path / "x.h5"
    path.write_text("hello")
    with pytest.raises(StoreError, match="not an HDF5 file"):
        dmft.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        dmft.load(tmp_path / "missing.h5")
