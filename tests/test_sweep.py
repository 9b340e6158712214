"""Parameter sweeps on dask.distributed (dmft.sweeps): files, index, resume, failures, plots."""
import numpy as np
import pytest
from dask.distributed import LocalCluster

import dmft
from dmft import cli
from dmft.sweeps import parse_grid, point_name, read_sweep

FIXED = dict(method="gd", dt=0.2, t_max=4.0, sigma2=0.5)
GRID = {"alpha": [0.5, 2.0], "ridge": [0.0, 0.1]}


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster with 2 worker processes, shared by the tests of this module."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c.scheduler_address


@pytest.fixture
def threads_cluster():
    """An in-process cluster: its workers see the test's monkeypatches."""
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as c:
        yield c.scheduler_address


def test_grid_parsing():
    assert parse_grid("alpha=0.5,1,2") == ("alpha", ["0.5", "1", "2"])
    key, values = parse_grid("ridge=1e-3:1:4:log")
    assert key == "ridge" and np.allclose(values, [1e-3, 1e-2, 1e-1, 1.0])
    assert parse_grid("t_max=0:10:3") == ("t_max", [0.0, 5.0, 10.0])
    for bad in ("alpha", "alpha=", "ridge=0:1", "ridge=0:1:3:lin", "ridge=0:1:3:log", "ridge=a:b:3"):
        with pytest.raises(dmft.ParameterError):
            parse_grid(bad)
    assert point_name({"alpha": 0.5, "loss": "hinge"}) == "alpha=0.5_loss=hinge"


def test_sweep_files_and_index(tmp_path, cluster):
    rows = dmft.sweep("linear-regression", tmp_path, GRID, scheduler=cluster, **FIXED)
    assert len(rows) == 4 and all(r["status"] == "ok" for r in rows)
    meta, index = read_sweep(tmp_path)
    assert meta["model"] == "linear-regression" and meta["grid"] == GRID and meta["fixed"] == FIXED
    assert [r["file"] for r in index] == [r["file"] for r in rows]
    for row in index:
        direct = dmft.solve("linear-regression", alpha=row["alpha"], ridge=row["ridge"], **FIXED)
        stored = dmft.load(tmp_path / row["file"])
        np.testing.assert_array_equal(stored["test_error"], direct["test_error"])
        assert row["test_error_final"] == pytest.approx(direct["test_error"][-1], rel=1e-12)
        assert row["test_error_min"] == pytest.approx(direct["test_error"].min(), rel=1e-12)
        assert row["wall_time"] > 0


def test_resume_recomputes_only_missing_points(tmp_path, cluster):
    dmft.sweep("linear-regression", tmp_path, GRID, scheduler=cluster, **FIXED)
    kept = tmp_path / "alpha=0.5_ridge=0.h5"
    stamp = kept.stat().st_mtime_ns
    lost = [tmp_path / "alpha=2_ridge=0.h5", tmp_path / "alpha=2_ridge=0.1.h5"]   # as if interrupted
    for path in lost:
        path.unlink()
    rows = dmft.sweep("linear-regression", tmp_path, GRID, scheduler=cluster, resume=True, **FIXED)
    status = {r["file"]: r["status"] for r in rows}
    assert status[kept.name] == "skipped (done)" and kept.stat().st_mtime_ns == stamp
    assert all(status[p.name] == "ok" and p.exists() for p in lost)


def test_failing_point_is_recorded_and_the_sweep_goes_on(tmp_path, threads_cluster, monkeypatch):
    from solvers.linear_regression import LinearRegression
    solve = LinearRegression.solve

    def fragile(self, p, run):
        if p["alpha"] == 2.0 and p["ridge"] == 0.1:
            raise RuntimeError("boom")
        return solve(self, p, run)

    monkeypatch.setattr(LinearRegression, "solve", fragile)
    rows = dmft.sweep("linear-regression", tmp_path, GRID, scheduler=threads_cluster, **FIXED)
    status = {r["file"]: r["status"] for r in rows}
    assert status["alpha=2_ridge=0.1.h5"] == "failed: RuntimeError: boom"
    assert not (tmp_path / "alpha=2_ridge=0.1.h5").exists()
    assert sum(s == "ok" for s in status.values()) == 3
    _, index = read_sweep(tmp_path)
    assert any(str(r["status"]).startswith("failed") for r in index)


def test_interrupted_sweep_leaves_no_partial_file(tmp_path, monkeypatch):
    """Ctrl-C reaches the sweep while it waits for results, after the first point finishes; the
    sweep's own local cluster is shut down (workers and their writes stop) before the cleanup."""
    import dask.distributed
    real = dask.distributed.as_completed

    def interrupted(futures):
        results = real(futures)
        yield next(results)
        # a write cut short earlier (its own name: a file a live worker writes must not be touched)
        (tmp_path / ".alpha=9_ridge=9.h5.partial").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(dask.distributed, "as_completed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dmft.sweep("linear-regression", tmp_path, GRID, workers=2, **FIXED)
    assert not list(tmp_path.glob(".*.partial"))
    _, index = read_sweep(tmp_path)
    assert sum(r.get("status") == "ok" for r in index) >= 1
    for path in tmp_path.glob("*.h5"):
        dmft.load(path)                                                # every file is complete


def test_validate_task_writes_a_report_per_point(tmp_path, cluster):
    # 8 seeds, not 4: with 4 the standard error has 3 degrees of freedom and a correct theory
    # showed max|z| = 8.5 (docs/validation.md)
    grid = {"alpha": [0.5, 2.0]}
    rows = dmft.sweep("linear-regression", tmp_path, grid, task="validate", scheduler=cluster,
                      options={"sizes": [300], "seeds": 8}, **FIXED)
    assert [r["file"] for r in rows] == ["alpha=0.5", "alpha=2"]        # "0.5" is not a suffix
    for row in rows:
        assert row["status"] == "ok" and row["passed"] is True and row["max_abs_z"] < 4
        assert (tmp_path / row["file"] / "summary.json").exists()
    (tmp_path / "alpha=2" / "summary.json").unlink()                     # an unfinished report
    again = dmft.sweep("linear-regression", tmp_path, grid, task="validate", scheduler=cluster,
                       resume=True, options={"sizes": [300], "seeds": 8}, **FIXED)
    assert [r["status"] for r in again] == ["skipped (done)", "ok"]


def test_linear_network_phase_quantities_in_the_index(tmp_path, cluster):
    """The linear-network phase diagram as a sweep over kappa and a linked sigma_u = sigma_w axis:
    the exact K_inf/K_0 and zeta_inf of every point are in the index."""
    grid = {"kappa": [1e-3, 1e-1], "sigma_u+sigma_w": [1.0, 3.0]}
    rows = dmft.sweep("linear-network", tmp_path, grid, scheduler=cluster, width=1000, t_max=1.0, dt=0.5)
    by_point = {(r["kappa"], r["sigma_u+sigma_w"]): r for r in rows}
    stored = dmft.load(tmp_path / "kappa=0.001_sigma_u+sigma_w=3.h5").params
    assert stored["sigma_u"] == stored["sigma_w"] == 3.0
    assert by_point[1e-3, 1.0]["kernel_ratio"] == pytest.approx(np.sqrt(2), rel=0.05)    # mean field
    assert by_point[1e-3, 1.0]["zeta_inf"] == pytest.approx(1 / np.sqrt(2), rel=0.05)
    assert abs(by_point[1e-1, 1.0]["kernel_ratio"] - 1) < 0.05                        # kernel phase
    assert by_point[1e-1, 3.0]["kernel_ratio"] < 1                                     # disalignment
    assert read_sweep(tmp_path)[0]["grid"]["sigma_u+sigma_w"] == [1.0, 3.0]


def test_command_line_sweep_plot_and_errors(tmp_path, capsys):
    out = tmp_path / "sw"
    argv = ["sweep", "linear-regression", "method=gd", "dt=0.2", "t_max=2", "--grid", "alpha=0.5,2",
            "-o", str(out), "--workers", "2", "--quiet"]
    assert cli.main(argv) == 0
    assert "2 points, 0 failed" in capsys.readouterr().out
    assert cli.main(["plot", str(out), "--x", "alpha", "--y", "test_error_final", "-o", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(argv) == 2                                             # not empty, no --resume
    assert "--resume" in capsys.readouterr().err
    for bad, message in ((["--grid", "alpha=-1,2"], "'alpha' must be > 0"),
                         (["--grid", "nope=1,2"], "unknown parameter 'nope'"),
                         (["--grid", "alpha=1:2"], "start:stop:num")):
        target = tmp_path / "bad"
        assert cli.main(["sweep", "linear-regression", *bad, "-o", str(target)]) == 2
        assert message in capsys.readouterr().err and not target.exists()
    assert cli.main(["plot", str(out), "--x", "ridge", "--y", "test_error_final", "-o", str(tmp_path / "t.png")]) == 2
