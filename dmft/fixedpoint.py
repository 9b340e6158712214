"""Fixed-point driver for DMFT equations that must be iterated.

Solves x = G(x) for an iterate x that is a dict of arrays, G = ``update``.

Plain damped iteration (``accel="none"``, the default)::

    x_{k+1} = theta * x_k + (1 - theta) * G(x_k),     theta = damping (0 on the first sweep)

Anderson acceleration (``accel="anderson"``; type-II Anderson mixing, a.k.a. DIIS or the
scheme of Walker & Ni, SIAM J. Numer. Anal. 49, 1715 (2011)): the arrays are flattened in
the key order of ``x0`` into one vector x, with residual f_k = G(x_k) - x_k.  The last
m_k <= m = ``memory`` differences of iterates and residuals are kept as the columns of

    dX_k = [x_{k-m_k+1} - x_{k-m_k}, ..., x_k - x_{k-1}],
    dF_k = [f_{k-m_k+1} - f_{k-m_k}, ..., f_k - f_{k-1}],

and the next iterate is

    gamma_k  = argmin_gamma || f_k - dF_k gamma ||_2            (least squares, via SVD)
    x_{k+1}  = x_k + beta f_k - (dX_k + beta dF_k) gamma_k,       beta = 1 - damping,

i.e. the damped step applied to the best affine combination of the stored iterates
(damping = 0: beta = 1, undamped Anderson mixing).  With an empty history (the first sweep,
after a restart or a resume) this is the plain damped step above.  Safeguards:

* ill-conditioning: while the condition number of dF_k exceeds ``1e10`` (or a column is
  zero) the oldest column is dropped for good;
* restart: the history is cleared and the plain damped step is taken instead when the
  Anderson candidate x_{k+1} has a NaN or a value beyond ``dmft.divergence.OVERFLOW``, or when
  the residual r_k of an iterate produced by an Anderson step exceeds 10 times the smallest
  residual since the last restart.  ``FixedPointOutcome.restarts`` counts restarts.

For both methods the residual is r_k = sum over arrays of max |G(x_k) - x_k|, recorded in
``residuals``; the iteration stops when r_k < tol (converged; the returned iterate is the
plain damped step from x_k, as for ``accel="none"``) or after ``max_iter`` sweeps.  An update
with a NaN or a value beyond ``dmft.divergence.OVERFLOW`` stops it as diverged and keeps the
last (finite) iterate.

Checkpoints (through ``run``) hold the iterate x and the residual history.  A resumed
plain iteration is bit-identical to an uninterrupted one.  The Anderson history is not
stored: a resumed Anderson run starts with an empty history, so it takes a different path
and is reproducible only in the sense that it converges to the same fixed point (within tol).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .divergence import OVERFLOW, bounded
from .run import Run

Iterate = dict[str, np.ndarray]

ACCELERATIONS = ("none", "anderson")
MAX_CONDITION = 1e10   # drop the oldest Anderson columns while cond(dF) exceeds this
GROWTH_RESTART = 10.0  # restart when the residual grows beyond this factor of the best one


@dataclass
class FixedPointOutcome:
    x: Iterate
    iterations: int
    residuals: list[float] = field(default_factory=list)
    converged: bool = False
    diverged: bool = False
    message: str = ""
    restarts: int = 0


def residual(new: Iterate, old: Iterate) -> float:
    return float(sum(np.max(np.abs(new[k] - old[k]), initial=0.0) for k in old))


def _flatten(x: Iterate, keys: list[str]) -> np.ndarray:
    return np.concatenate([np.ravel(x[k]).astype(float, copy=False) for k in keys])


def _unflatten(v: np.ndarray, like: Iterate) -> Iterate:
    out, offset = {}, 0
    for k, a in like.items():
        out[k] = v[offset:offset + a.size].reshape(a.shape)
        offset += a.size
    return out


class _Anderson:
    """History of the last ``memory`` differences of iterates and residuals (flattened)."""

    def __init__(self, memory: int, beta: float):
        self.beta = beta
        self.dx: deque[np.ndarray] = deque(maxlen=memory)
        self.df: deque[np.ndarray] = deque(maxlen=memory)
        self.last: tuple[np.ndarray, np.ndarray] | None = None  # (x, f) of the previous sweep

    def clear(self) -> None:
        self.dx.clear()
        self.df.clear()

    def push(self, x: np.ndarray, f: np.ndarray) -> None:
        """Record sweep (x, f): the difference to the previous sweep becomes a column."""
        if self.last is not None:
            self.dx.append(x - self.last[0])
            self.df.append(f - self.last[1])
        self.last = (x, f)

    def step(self, x: np.ndarray, f: np.ndarray) -> np.ndarray | None:
        """The Anderson candidate x + beta f - (dX + beta dF) gamma (None: history empty)."""
        while self.df:
            dF = np.stack(self.df, axis=1)
            u, s, vt = np.linalg.svd(dF, full_matrices=False)
            if s[-1] > 0 and s[0] <= MAX_CONDITION * s[-1]:
                break
            self.dx.popleft()  # ill-conditioned (or a zero column): drop the oldest
            self.df.popleft()
        else:
            return None
        gamma = vt.T @ ((u.T @ f) / s)
        dX = np.stack(self.dx, axis=1)
        return x + self.beta * f - (dX + self.beta * dF) @ gamma


def iterate(update: Callable[[Iterate], Iterate], x0: Iterate, run: Run, *, damping: float = 0.0,
            tol: float = 1e-12, max_iter: int = 1000, accel: str = "none",
            memory: int = 5) -> FixedPointOutcome:
    """Solve x = update(x) from ``x0`` by damped iteration, plain (``accel="none"``) or with
    Anderson acceleration of depth ``memory`` (``accel="anderson"``); see module docstring."""
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1) (got {damping})")
    if accel not in ACCELERATIONS:
        raise ValueError(f"accel must be one of {', '.join(map(repr, ACCELERATIONS))} (got {accel!r})")
    if isinstance(memory, bool) or not isinstance(memory, (int, np.integer)) or memory < 1:
        raise ValueError(f"memory must be an integer >= 1 (got {memory!r})")
    x = {k: np.array(v, dtype=float) for k, v in x0.items()}
    keys = list(x)
    residuals: list[float] = []
    start = 0
    restored = run.restore()
    if restored is not None:
        start, saved = restored
        residuals = list(saved.pop("_residuals", []))
        x = {k: saved[k] for k in x}
    anderson = _Anderson(int(memory), 1.0 - damping) if accel == "anderson" else None
    restarts = 0
    best = np.inf       # smallest residual since the last restart (Anderson)
    accelerated = False  # was the current iterate produced by an Anderson step?
    with run.progress(max_iter, start, unit="sweep") as bar:
        for k in range(start, max_iter):
            try:
                new = update(x)
            except KeyboardInterrupt:
                run.checkpoint(k, {**x, "_residuals": np.array(residuals)}, force=True)
                raise
            if not all(bounded(v) for v in new.values()):
                return FixedPointOutcome(x, k, residuals, diverged=True, restarts=restarts,
                                         message=f"diverged at sweep {k + 1}: NaN or overflow "
                                                 f"(|x| > {OVERFLOW:g}); the last finite iterate is kept")
            r = residual(new, x)
            residuals.append(r)
            candidate = None
            if anderson is not None and r >= tol:
                xv = _flatten(x, keys)
                fv = _flatten(new, keys) - xv
                if accelerated and r > GROWTH_RESTART * best:
                    restarts += 1
                    anderson.clear()
                    anderson.last = (xv, fv)
                    best = r
                else:
                    best = min(best, r)
                    anderson.push(xv, fv)
                    candidate = anderson.step(xv, fv)
                    if candidate is not None and not bounded(candidate):
                        restarts += 1
                        anderson.clear()
                        best = r
                        candidate = None
            accelerated = candidate is not None
            if candidate is not None:
                x = _unflatten(candidate, x)
            else:
                theta = damping if k > 0 else 0.0
                x = {name: theta * x[name] + (1.0 - theta) * new[name] for name in x}
            bar.update(1)
            bar.set_postfix(residual=f"{r:.2e}")
            if r < tol:
                return FixedPointOutcome(x, k + 1, residuals, converged=True, restarts=restarts)
            run.checkpoint(k + 1, {**x, "_residuals": np.array(residuals)})
    return FixedPointOutcome(x, max_iter, residuals, converged=False, restarts=restarts,
                             message=f"not converged after {max_iter} sweeps "
                                     f"(residual {residuals[-1]:.3e} > tol {tol:g})")
