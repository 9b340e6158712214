"""Checkpoints and resume: an interrupted solve continued with resume=True / --resume gives
the uninterrupted result bit for bit."""
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import dmft
import solvers.linear_regression as lr
from dmft import cli
from dmft.store import StoreError

MODEL = "linear-regression"
MARCH = dict(method="gd", dt=0.1, t_max=20)      # 201 rows
ITERATE = dict(method="gd", dt=0.2, t_max=4, scheme="iterate")  # 21 points, ~21 sweeps


def _assert_same(a, b, exact=True):
    assert np.array_equal(a.t, b.t)
    for group in ("observables", "order"):
        ga, gb = getattr(a, group), getattr(b, group)
        assert ga.keys() == gb.keys()
        for k in ga:
            if exact:
                assert np.array_equal(ga[k], gb[k]), f"{group}/{k}"
            else:
                np.testing.assert_allclose(ga[k], gb[k], rtol=1e-14, atol=1e-14, err_msg=f"{group}/{k}")


def _interrupt_advance_at(monkeypatch, row):
    original = lr.advance

    def advance(i, *args):
        if i == row:
            raise KeyboardInterrupt
        return original(i, *args)

    monkeypatch.setattr(lr, "advance", advance)


def _progress(path):
    with h5py.File(path, "r") as f:
        return int(f.attrs["progress"])


@pytest.fixture(scope="module")
def uninterrupted_march():
    return dmft.solve(MODEL, **MARCH)


# ---------------------------------------------------------------- march

@pytest.mark.parametrize("every", [0.0, 3600.0], ids=["every-row", "on-interrupt-only"])
def test_march_resume_is_bit_identical(tmp_path, monkeypatch, uninterrupted_march, every):
    ckpt = tmp_path / "run.ckpt"
    _interrupt_advance_at(monkeypatch, 120)
    with pytest.raises(KeyboardInterrupt):
        dmft.solve(MODEL, checkpoint=ckpt, checkpoint_every=every, **MARCH)
    assert ckpt.exists()
    done = _progress(ckpt)
    assert 0 < done <= 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt"]  # no temporary files

    monkeypatch.undo()
    resumed = dmft.solve(MODEL, checkpoint=ckpt, checkpoint_every=every, resume=True, **MARCH)
    assert resumed.solver["resumed_from"] == done > 0
    assert resumed.solver["status"] == "ok"
    assert len(resumed.t) == 201
    _assert_same(resumed, uninterrupted_march)


def test_resume_without_checkpoint_starts_from_scratch(tmp_path, uninterrupted_march):
    r = dmft.solve(MODEL, checkpoint=tmp_path / "none.ckpt", resume=True, **MARCH)
    assert "resumed_from" not in r.solver
    _assert_same(r, uninterrupted_march)


def test_checkpoint_is_ignored_without_resume(tmp_path, monkeypatch, uninterrupted_march):
    ckpt = tmp_path / "run.ckpt"
    _interrupt_advance_at(monkeypatch, 50)
    with pytest.raises(KeyboardInterrupt):
        dmft.solve(MODEL, checkpoint=ckpt, **MARCH)
    monkeypatch.undo()
    r = dmft.solve(MODEL, checkpoint=ckpt, **MARCH)
    assert "resumed_from" not in r.solver
    _assert_same(r, uninterrupted_march)


# ---------------------------------------------------------------- fixed point

def test_iterate_resume_matches_uninterrupted(tmp_path, monkeypatch):
    reference = dmft.solve(MODEL, **ITERATE)
    assert reference.solver["converged"] and reference.solver["iterations"] > 5

    ckpt = tmp_path / "run.ckpt"
    original = lr._Problem.sweep
    calls = []

    def sweep(self, x):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return original(self, x)

    monkeypatch.setattr(lr._Problem, "sweep", sweep)
    with pytest.raises(KeyboardInterrupt):
        dmft.solve(MODEL, checkpoint=ckpt, checkpoint_every=3600.0, **ITERATE)
    assert _progress(ckpt) == 4  # four sweeps done

    monkeypatch.undo()
    resumed = dmft.solve(MODEL, checkpoint=ckpt, resume=True, **ITERATE)
    assert resumed.solver["resumed_from"] == 4
    assert resumed.solver["converged"]
    assert resumed.solver["iterations"] == reference.solver["iterations"]
    np.testing.assert_allclose(resumed.solver["residual_history"], reference.solver["residual_history"],
                               rtol=1e-14, atol=1e-300)
    _assert_same(resumed, reference, exact=False)


# ---------------------------------------------------------------- foreign checkpoints

def test_checkpoint_of_another_run_is_refused(tmp_path, monkeypatch):
    ckpt = tmp_path / "run.ckpt"
    _interrupt_advance_at(monkeypatch, 30)
    with pytest.raises(KeyboardInterrupt):
        dmft.solve(MODEL, checkpoint=ckpt, **MARCH)
    monkeypatch.undo()
    with pytest.raises(StoreError, match="different run"):
        dmft.solve(MODEL, checkpoint=ckpt, resume=True, **{**MARCH, "alpha": 3.0})
    with pytest.raises(StoreError, match="different run"):
        dmft.solve(MODEL, checkpoint=ckpt, resume=True, **{**MARCH, "scheme": "iterate"})
    assert _progress(ckpt) > 0  # left alone


def test_cli_resume_with_foreign_checkpoint(tmp_path, monkeypatch, capsys):
    out = tmp_path / "OUT.h5"
    ckpt = tmp_path / "OUT.h5.ckpt"
    _interrupt_advance_at(monkeypatch, 30)
    code = cli.main(["solve", MODEL, "method=gd", "dt=0.1", "t_max=20", "--quiet", "-o", str(out)])
    assert code == 130
    assert "--resume" in capsys.readouterr().err
    assert ckpt.exists() and not out.exists()
    monkeypatch.undo()
    code = cli.main(["solve", MODEL, "method=gd", "dt=0.1", "t_max=20", "alpha=3", "--resume", "--quiet",
                     "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "different run" in err
    assert not out.exists()


def test_trajectory_is_not_a_checkpoint(tmp_path):
    ckpt = tmp_path / "run.ckpt"
    dmft.solve(MODEL, **MARCH).save(ckpt)
    with pytest.raises(StoreError, match="not a dmft checkpoint"):
        dmft.solve(MODEL, checkpoint=ckpt, resume=True, **MARCH)


# ---------------------------------------------------------------- a real killed process

def _dmft_command():
    """The console script next to this interpreter, else on PATH, else ``python -m dmft.cli``."""
    for exe in (Path(sys.executable).with_name("dmft"), shutil.which("dmft")):
        if exe and Path(exe).is_file():
            return [str(exe)]
    return [sys.executable, "-m", "dmft.cli"]


KILL_ARGS = ["solve", MODEL, "method=gd", "dt=0.01", "t_max=15", "--checkpoint-every", "0.3", "--quiet"]


def test_killed_process_resumes_bit_identically(tmp_path):
    dmft_cmd = _dmft_command()
    out = tmp_path / "OUT.h5"
    ckpt = tmp_path / "OUT.h5.ckpt"
    ref = tmp_path / "REF.h5"
    # the uninterrupted reference runs alongside
    reference = subprocess.Popen(dmft_cmd + KILL_ARGS + ["-o", str(ref)], stderr=subprocess.PIPE)
    victim = subprocess.Popen(dmft_cmd + KILL_ARGS + ["-o", str(out)], stderr=subprocess.DEVNULL)
    try:
        _kill_after_first_checkpoint(victim, ckpt)
        _check_resume(dmft_cmd, out, ckpt, ref, reference)
    finally:
        for proc in (victim, reference):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _kill_after_first_checkpoint(victim, ckpt):
    deadline = time.monotonic() + 60
    while not ckpt.exists():
        assert victim.poll() is None, "finished before a checkpoint was seen: raise t_max"
        assert time.monotonic() < deadline, "no checkpoint after 60 s"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    assert victim.returncode == -signal.SIGKILL


def _check_resume(dmft_cmd, out, ckpt, ref, reference):
    assert not out.exists()
    assert ckpt.exists()
    done = _progress(ckpt)
    assert 0 < done < 1501

    resumed = subprocess.run(dmft_cmd + KILL_ARGS + ["--resume", "-o", str(out)],
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert out.exists()
    assert not ckpt.exists()
    _, ref_err = reference.communicate(timeout=120)
    assert reference.returncode == 0, ref_err

    with h5py.File(out, "r") as fo, h5py.File(ref, "r") as fr:
        assert fo["solver"].attrs["resumed_from"] >= done > 0
        assert "resumed_from" not in fr["solver"].attrs
        assert fo["grid/t"].shape == (1501,)
        assert np.array_equal(fo["grid/t"][()], fr["grid/t"][()])
        for group in ("observables", "order"):
            assert set(fo[group]) == set(fr[group])
            for name in fo[group]:
                assert np.array_equal(fo[group][name][()], fr[group][name][()]), f"{group}/{name}"
