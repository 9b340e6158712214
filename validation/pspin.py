"""Finite-N simulation of ``pspin`` (pspin.md): Langevin dynamics of the spherical (mixed) p-spin
model with sampled Gaussian couplings, the direct check of the Cugliandolo–Kurchan DMFT.

Model.  N = d spins on the sphere |sigma|^2 = N and f(q) = sum_k c_k q^k / 2
(``solvers.pspin.coefficients``: pure ``p`` gives c_p = 1, a mixture ``f`` gives (c_1, c_2, ...)).
H = sum_k H_k over the nonzero c_k, degrees 1 <= k <= 4 (MAX_DEGREE; k = 1 is a random field).
The simulator uses ``indices="all"`` (below: covariance exactly N f); the variant
``indices="distinct"``, the textbook

  H_k(sigma) = sum_{i1 < ... < ik} J_{i1..ik} sigma_i1 ... sigma_ik,
  J_{i1..ik} iid N(0, v_k),   v_k = c_k k! / (2 N^(k-1))          (v_1 = c_1 / 2).

Then E[H(s) H(s')] = sum_k v_k e_k(x), x_i = s_i s'_i, e_k the elementary symmetric polynomial
(``covariance``).  e_k(x) = (sum_i x_i)^k / k! (1 + O(1/N)), so E[H(s) H(s')] = N f(s.s'/N) to
leading order only: on the sphere, for a typical (delocalised) s, sum_i s_i^4 ~ 3N and

  E[H_k(s)^2] = N c_k / 2 (1 - 3 k (k-1) / (2N) + O(N^-2))        (k = 2: 1 - 3/N; k = 3: 1 - 9/N).

This O(1/N) deficit shows in finite-N observables: the high-temperature equilibrium energy is
-(1/T) sum_k c_k/2 (1 - 3k(k-1)/(2N)) up to O(N^-2) (p = 3: -(1 - 9/N) / (2T)).  The variant
``indices="all"`` removes it: the sum runs over i1 <= ... <= ik and the coupling of a multiset
with multiplicities (m_1, m_2, ...) has variance v_k / prod_r m_r!, which is the law of
sum_{ordered (i1..ik)} K_{i1..ik} s_i1..s_ik with iid K of variance c_k / (2 N^(k-1)); then
E[H(s) H(s')] = N f(s.s'/N) exactly (for k = 2, H = s^T A s / 2 with A exactly GOE).

Storage.  Mathematically H_k = (1/k!) sum_{i1..ik} T_{i1..ik} s_i1 ... s_ik with the dense
symmetric tensor T_{i1..ik} = J_{sort(i1..ik)} prod_r m_r! (for "distinct": J on distinct indices,
0 when two indices coincide), so that dH_k/ds_i = (1/(k-1)!) sum_{i2..ik} T_{i i2..ik} s_i2..s_ik
and s.grad H_k = k H_k (``Couplings.dense_tensor`` builds T for small N, for the tests).  A dense
N^3 tensor (64 MB at N = 200) is read from memory once per gradient, which makes the dynamics
memory-bound, so only the distinct couplings are stored, packed in lexicographic order of
(i1 < ... < ik) (C(N, k) of them: 10.6 MB at N = 200, k = 3, which stays in cache; "all": (i1 <=
... <= ik), C(N + k - 1, k)), and every term is accumulated once into all k of its gradient
components.  For k = 3, with A_ij = sum_l J_ijl s_l over the l following j,

  dH_3/ds_l += J_ijl s_i s_j,   dH_3/ds_j += s_i A_ij,   dH_3/ds_i += s_j A_ij,
  H_3 = sum_{i,j} s_i s_j A_ij

(likewise for k = 2, 4; the same rules hold when indices coincide).  The work is split into a
fixed number (CHUNKS) of blocks of the first index i, balanced by their number of couplings, each
accumulated into its own gradient row, and the rows are added in a fixed order.  The kernel is
serial numba (``fastmath`` reassociation, fixed at compile time), so a seed reproduces
bit-identical numbers on a given build; the blocks would let a ``prange`` version give the same
numbers (on the 2-vCPU development VM a prange over the blocks was 5x slower).  Cost per gradient
(serial, this VM): p = 3: 0.1 ms at N = 100, 0.55 ms at N = 200; p = 2, N = 400: 0.03 ms;
p = 4, N = 100: 3 ms.

Dynamics.  d sigma/dt = -grad H - mu sigma + xi, <xi_i(t) xi_j(s)> = 2 T delta_ij delta(t - s),
mu(t) keeping |sigma|^2 = N.  Integrator (projected Euler–Maruyama): each recorded step dt is made
of n_sub = ceil(dt / max_step) substeps of length h = dt / n_sub (max_step = MAX_STEP = 0.005 by
default); with P = 1 - sigma sigma^T / N,

  sigma' = sigma - h P grad H(sigma) + sqrt(2 T h) P xi,   xi ~ N(0, 1)^N,
  sigma <- sqrt(N) sigma' / |sigma'|.

The projection and renormalisation supply mu: to first order in h they remove
(T (N-1)/N - sigma.grad H / N) h sigma, i.e. mu = T - sigma.grad H / N up to T/N (the spherical
constraint with Ito noise; d|sigma|^2 = 0 gives E mu = T - E[sigma.grad H]/N, which for pure p is
T - p e, the DMFT's mu = T + int [f'(C) R + f''(C) C R]).
The scheme has weak order 1: an O(h) bias, measured at p = 2, T = 0 against the exact finite-N
solution (eigendecomposition of the coupling matrix) as |Delta e|, |Delta C| < 3e-4 over
t <= 5 at h = 0.005, and at p = 3, T = 0, N = 200 as < 3e-4 in e(t <= 10) between h = 0.005 and
0.0025 (far below the finite-N effects: the p = 3, T = 0 energy is above the DMFT by ~0.02-0.04
at N = 200, t = 1..10, "distinct" about twice "all").  Start: sigma(0) = sqrt(N) g / |g|,
g ~ N(0, 1)^N, uniform on the sphere (a quench from infinite temperature).  Recorded on
``UniformGrid.up_to(t_max, dt).t``.  One realisation at p = 3, N = 200, t_max = 20 (4000 steps)
takes ~2 s.

Random draws, per realisation k from ``generator(seed, d, k)``, in this fixed order:
1. the couplings, degree by degree in increasing k over the nonzero c_k: standard_normal(count)
   in the packed (lexicographic) order, times the standard deviation of each entry;
2. the start g: standard_normal(N);
3. the noise, only if T > 0: for each recorded interval in turn, standard_normal((n_sub, N)),
   row r being the xi of substep r.
So couplings and start do not depend on T, t_max or dt, and at T = 0 nothing is drawn after
the start.

Observables per realisation, on the grid t_i:
  energy        H(sigma(t))/N;
  mu            T - sigma(t).grad H(sigma(t)) / N (= T - sum_k k H_k / N), the Lagrange multiplier
                of the N = infinity dynamics evaluated on the state;
  C0            C(t, 0) = sigma(t).sigma(0)/N;
  C_tw=<tw:g>   for each tw in ``t_w``: sigma(t).sigma(t_w)/N for t >= t_w and NaN for t < t_w,
                t_w being taken at the grid point i_w = round(tw / dt) (as the DMFT solver
                solvers/pspin.py does, i.e. the closest one); tw must lie in [0, t_max].
The NaN sit at the same times for every seed, so the mean and standard error of
``run_realisations`` are NaN exactly where t < t_w and finite elsewhere.
"""
from __future__ import annotations

import math
from itertools import combinations_with_replacement, permutations

import numpy as np
from numba import njit

from dmft.grid import UniformGrid
from dmft.model import ParameterError
from dmft.simulation import Simulator, run_realisations
from solvers.pspin import coefficients

MAX_DEGREE = 4
MAX_STEP = 0.005           # default largest internal Euler–Maruyama step
CHUNKS = 8                 # fixed number of first-index blocks per degree (determinism)
MAX_COUPLINGS = 2 * 10**8  # 1.6 GB of float64
INDICES = ("distinct", "all")
FAST = {"reassoc", "contract"}


# --------------------------------------------------------------------------- parameters

def degrees(c: np.ndarray, name: str = "p") -> list[int]:
    """The degrees k with c_k != 0; ParameterError naming parameter ``name`` beyond MAX_DEGREE."""
    ks = [k for k in range(1, len(c) + 1) if c[k - 1] != 0]
    high = [k for k in ks if k > MAX_DEGREE]
    if high:
        raise ParameterError(f"parameter {name!r}: the p-spin simulator supports degrees "
                             f"1..{MAX_DEGREE} (its couplings cost N^k / k!); got a nonzero c_{high[0]}")
    return ks


def coupling_variance(c_k: float, k: int, N: int) -> float:
    """v_k = c_k k! / (2 N^(k-1)): the variance of a coupling on k distinct indices."""
    return c_k * math.factorial(k) / (2.0 * float(N) ** (k - 1))


def coupling_count(N: int, k: int, indices: str = "all") -> int:
    """C(N, k) ("distinct") or C(N + k - 1, k) ("all")."""
    return math.comb(N, k) if indices == "distinct" else math.comb(N + k - 1, k)


# --------------------------------------------------------------------------- couplings

def _offsets(N: int, k: int, shift: int) -> np.ndarray:
    """offsets[i] = packed index of the first coupling with first index i (i = 0..N); shift = 1
    for i1 < i2 < ..., 0 for i1 <= i2 <= ...."""
    counts = [math.comb(N - 1 - i, k - 1) if shift else math.comb(N - i + k - 2, k - 1)
              for i in range(N)]
    return np.concatenate(([0], np.cumsum(counts))).astype(np.int64)


def _blocks(offsets: np.ndarray, chunks: int) -> np.ndarray:
    """Bounds 0 = b_0 <= ... <= b_chunks = N of first-index blocks with balanced coupling counts."""
    N = len(offsets) - 1
    targets = offsets[-1] * np.arange(1, chunks) / chunks
    inner = np.searchsorted(offsets, targets, side="left")
    return np.concatenate(([0], np.clip(inner, 0, N), [N])).astype(np.int64)


@njit(cache=True)
def _multiset_weights(N, k):
    """1 / prod_r m_r! for the multisets i1 <= ... <= ik (k = 2..4) in lexicographic order."""
    n = 1
    for r in range(k):
        n = n * (N + r) // (r + 1)
    w = np.empty(n)
    idx = 0
    if k == 2:
        for i in range(N):
            for j in range(i, N):
                w[idx] = 0.5 if i == j else 1.0
                idx += 1
    elif k == 3:
        for i in range(N):
            for j in range(i, N):
                for l in range(j, N):
                    if i == l:
                        w[idx] = 1.0 / 6.0
                    elif i == j or j == l:
                        w[idx] = 0.5
                    else:
                        w[idx] = 1.0
                    idx += 1
    else:
        for i in range(N):
            for j in range(i, N):
                for l in range(j, N):
                    for m in range(l, N):
                        # runs of equal indices in the sorted (i, j, l, m)
                        prod = 1.0
                        run = 1
                        prev = i
                        for x in (j, l, m):
                            if x == prev:
                                run += 1
                                prod *= run
                            else:
                                run = 1
                            prev = x
                        w[idx] = 1.0 / prod
                        idx += 1
    return w


class Couplings:
    """Packed couplings of one realisation: ``J[k]`` per degree in lexicographic order of
    (i1 < ... < ik) (``indices="distinct"``) or (i1 <= ... <= ik) ("all"), with the block bounds
    of the gradient kernel."""

    def __init__(self, N: int, J: dict[int, np.ndarray], indices: str = "all"):
        if indices not in INDICES:
            raise ValueError(f"indices must be one of {INDICES} (got {indices!r})")
        self.N = N
        self.indices = indices
        self.shift = 1 if indices == "distinct" else 0
        self.J = {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in J.items()}
        for k, v in self.J.items():
            if len(v) != coupling_count(N, k, indices):
                raise ValueError(f"degree {k}: {len(v)} couplings, expected {coupling_count(N, k, indices)}")
        empty_f, empty_i = np.zeros(0), np.zeros(1, dtype=np.int64)
        J_all = [self.J.get(k, empty_f) for k in range(1, MAX_DEGREE + 1)]
        off = [_offsets(N, k, self.shift) if k in self.J else empty_i
               for k in range(2, MAX_DEGREE + 1)]
        tasks = []     # (degree, first i, last i + 1)
        for k in sorted(self.J):
            if k == 1:
                tasks.append((1, 0, N))
            else:
                b = _blocks(off[k - 2], CHUNKS)
                tasks += [(k, int(b[c]), int(b[c + 1])) for c in range(CHUNKS) if b[c + 1] > b[c]]
        self.tasks = np.array(tasks, dtype=np.int64).reshape(-1, 3)
        buf, energies = np.zeros((len(self.tasks), N)), np.zeros(len(self.tasks))
        self._args = (*J_all, *off, self.shift, self.tasks, buf, energies)

    def gradient(self, s: np.ndarray, out: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """(H(s), grad H(s)); the gradient is written into ``out`` if given."""
        out = np.zeros(self.N) if out is None else out
        H = _energy_gradient(np.ascontiguousarray(s, dtype=np.float64), *self._args, out)
        return H, out

    def energy(self, s: np.ndarray) -> float:
        return self.gradient(s)[0]

    def dense_tensor(self, k: int) -> np.ndarray:
        """The dense symmetric T of degree k (small N only): T = J prod_r m_r! on every
        permutation of each stored index tuple, so H_k = T.s^k / k!, grad H_k = T.s^(k-1)/(k-1)!."""
        T = np.zeros((self.N,) * k)
        tuples = combinations_with_replacement(range(self.N), k)
        if self.shift:
            tuples = (t for t in tuples if len(set(t)) == k)
        for value, idx in zip(self.J[k], tuples):
            mult = np.prod([math.factorial(idx.count(i)) for i in set(idx)])
            for perm in set(permutations(idx)):
                T[perm] = value * mult
        return T


def sample_couplings(c: np.ndarray, N: int, rng: np.random.Generator,
                     indices: str = "all") -> Couplings:
    """Couplings of the degrees k with c_k != 0, drawn in increasing k (draw 1 of the module doc)."""
    J = {}
    for k in degrees(c):
        v = coupling_variance(c[k - 1], k, N)
        z = rng.standard_normal(coupling_count(N, k, indices))
        if indices == "all" and k > 1:
            J[k] = z * np.sqrt(v * _multiset_weights(N, k))
        else:
            J[k] = z * math.sqrt(v)
    return Couplings(N, J, indices)


def covariance(c: np.ndarray, s: np.ndarray, s2: np.ndarray, indices: str = "all") -> float:
    """Exact E[H(s) H(s2)] over the couplings: sum_k v_k e_k(s_i s2_i) ("distinct"; e_k by the
    recursion e_k <- e_k + x e_{k-1}), or N f(s.s2/N) ("all")."""
    N = len(s)
    x = np.asarray(s, float) * np.asarray(s2, float)
    ks = [k for k in range(1, len(c) + 1) if c[k - 1] != 0]
    if indices == "all":
        q = x.sum() / N
        return float(sum(N * c[k - 1] * q**k / 2 for k in ks))
    e = np.zeros(len(c) + 1)
    e[0] = 1.0
    for xi in x:
        e[1:] = e[1:] + xi * e[:-1]
    return float(sum(coupling_variance(c[k - 1], k, N) * e[k] for k in ks))


# --------------------------------------------------------------------------- numba kernels
# Each block kernel adds the gradient of its terms into g and returns their energy; d = 1 for
# strictly increasing indices, 0 for non-decreasing ones.  The innermost loops run on slices
# (contiguous, vectorised: 4x faster than indexing the full arrays).

@njit(cache=True, fastmath=FAST)
def _block1(s, J, g):
    h = 0.0
    for i in range(len(s)):
        g[i] += J[i]
        h += J[i] * s[i]
    return h


@njit(cache=True, fastmath=FAST, inline="always")
def _last_index(Jr, sr, gr, weight):
    """The sum over the last index on one contiguous run: gr += weight Jr, returns Jr . sr."""
    acc = 0.0
    for m in range(len(Jr)):
        v = Jr[m]
        gr[m] += v * weight
        acc += v * sr[m]
    return acc


@njit(cache=True, fastmath=FAST)
def _block2(s, J, off, d, lo, hi, g):
    N = len(s)
    h = 0.0
    for i in range(lo, hi):
        n = N - i - d
        si = s[i]
        acc = _last_index(J[off[i]:off[i] + n], s[i + d:], g[i + d:], si)   # j = i + d + m
        g[i] += acc
        h += si * acc
    return h


@njit(cache=True, fastmath=FAST)
def _block3(s, J, off, d, lo, hi, g):
    N = len(s)
    h = 0.0
    for i in range(lo, hi):
        idx = off[i]
        si = s[i]
        gi = 0.0
        for j in range(i + d, N):
            sj = s[j]
            sij = si * sj
            n = N - j - d
            acc = _last_index(J[idx:idx + n], s[j + d:], g[j + d:], sij)   # l = j + d + m
            idx += n
            g[j] += si * acc
            gi += sj * acc
            h += sij * acc
        g[i] += gi
    return h


@njit(cache=True, fastmath=FAST)
def _block4(s, J, off, d, lo, hi, g):
    N = len(s)
    h = 0.0
    for i in range(lo, hi):
        idx = off[i]
        si = s[i]
        gi = 0.0
        for j in range(i + d, N):
            sj = s[j]
            sij = si * sj
            gj = 0.0
            for l in range(j + d, N):
                sl = s[l]
                sijl = sij * sl
                n = N - l - d
                acc = _last_index(J[idx:idx + n], s[l + d:], g[l + d:], sijl)   # fourth index l + d + m
                idx += n
                g[l] += sij * acc
                gj += si * sl * acc
                gi += sj * sl * acc
                h += sijl * acc
            g[j] += gj
        g[i] += gi
    return h


@njit(cache=True, fastmath=FAST)
def _energy_gradient(s, J1, J2, J3, J4, off2, off3, off4, d, tasks, buf, energies, out):
    """H(s), and grad H(s) into ``out``: each task (degree, block of first indices) accumulates
    into its own row of ``buf``; the rows are then added in task order."""
    N = len(s)
    for b in range(tasks.shape[0]):
        k, lo, hi = tasks[b, 0], tasks[b, 1], tasks[b, 2]
        g = buf[b]
        for i in range(N):
            g[i] = 0.0
        if k == 1:
            energies[b] = _block1(s, J1, g)
        elif k == 2:
            energies[b] = _block2(s, J2, off2, d, lo, hi, g)
        elif k == 3:
            energies[b] = _block3(s, J3, off3, d, lo, hi, g)
        else:
            energies[b] = _block4(s, J4, off4, d, lo, hi, g)
    H = 0.0
    for i in range(N):
        out[i] = 0.0
    for b in range(tasks.shape[0]):
        H += energies[b]
        for i in range(N):
            out[i] += buf[b, i]
    return H


@njit(cache=True, fastmath=FAST)
def _project_step(s, g, xi, h, amp, noisy, snew):
    """s <- sqrt(N) s'/|s'|, s' = s - h P g + amp P xi (P = 1 - s s^T/N); snew is scratch."""
    N = len(s)
    gs = 0.0
    for i in range(N):
        gs += g[i] * s[i]
    gs /= N
    xs = 0.0
    if noisy:
        for i in range(N):
            xs += xi[i] * s[i]
        xs /= N
    norm2 = 0.0
    for i in range(N):
        v = s[i] - h * (g[i] - gs * s[i])
        if noisy:
            v += amp * (xi[i] - xs * s[i])
        snew[i] = v
        norm2 += v * v
    scale = math.sqrt(N / norm2)
    for i in range(N):
        s[i] = snew[i] * scale


@njit(cache=True, fastmath=FAST)
def _advance(s, J1, J2, J3, J4, off2, off3, off4, d, tasks, buf, energies, g, work, noise, h,
             amp, noisy, n_sub):
    """n_sub substeps in place on s; returns (H, s.grad H) at the initial s."""
    H0 = 0.0
    sg0 = 0.0
    for r in range(n_sub):
        H = _energy_gradient(s, J1, J2, J3, J4, off2, off3, off4, d, tasks, buf, energies, g)
        if r == 0:
            H0 = H
            for i in range(len(s)):
                sg0 += s[i] * g[i]
        _project_step(s, g, noise[r], h, amp, noisy, work)
    return H0, sg0


def advance(couplings: Couplings, s: np.ndarray, h: float, T: float, noise: np.ndarray | None,
            n_sub: int, g: np.ndarray, work: np.ndarray) -> tuple[float, float]:
    """n_sub projected Euler–Maruyama substeps of length h in place on ``s``; returns
    (H, s.grad H) at the initial s.  ``noise``: (n_sub, N) standard normals, or None (no noise term)."""
    noisy = noise is not None and T > 0
    if not noisy:
        noise = np.zeros((n_sub, 0))
    return _advance(s, *couplings._args, g, work, noise, h, math.sqrt(2.0 * T * h), noisy, n_sub)


# --------------------------------------------------------------------------- trajectory

def substeps(dt: float, max_step: float = MAX_STEP) -> int:
    """n_sub = ceil(dt / max_step) (within round-off): internal steps per recorded step."""
    return max(1, int(math.ceil(dt / max_step - 1e-9)))


def waiting_indices(t_w, t_max: float, dt: float, n_points: int) -> list[tuple[str, int]]:
    """(observable name, grid index round(tw / dt)) for each tw in ``t_w``."""
    out = []
    for tw in (t_w or ()):
        tw = float(tw)
        if not 0.0 <= tw <= t_max:
            raise ParameterError(f"parameter 't_w' must lie in [0, t_max = {t_max:g}] (got {tw:g})")
        out.append((f"C_tw={tw:g}", min(int(round(tw / dt)), n_points - 1)))
    return out


def initial_point(N: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform point on the sphere |s|^2 = N (draw 2 of the module doc)."""
    g = rng.standard_normal(N)
    return g * math.sqrt(N) / np.linalg.norm(g)


def trajectory(couplings: Couplings, s0: np.ndarray, T: float, dt: float, n_points: int,
               rng: np.random.Generator, waits=(), max_step: float = MAX_STEP) -> dict[str, np.ndarray]:
    """Observables on t_i = i dt, i < n_points, from sigma(0) = s0 (noise drawn from ``rng``)."""
    N = couplings.N
    n_sub = substeps(dt, max_step)
    h = dt / n_sub
    s = np.array(s0, dtype=np.float64)
    g, work = np.zeros(N), np.zeros(N)
    energy, mu = np.empty(n_points), np.empty(n_points)
    c0 = np.empty(n_points)
    corr = {name: np.full(n_points, np.nan) for name, _ in waits}
    anchors: dict[int, np.ndarray] = {}

    def record(i):
        c0[i] = 1.0 if i == 0 else s @ s0 / N
        for name, iw in waits:
            if i == iw:
                anchors[iw] = s.copy()
            if i >= iw:
                corr[name][i] = 1.0 if i == iw else s @ anchors[iw] / N

    record(0)
    for i in range(n_points - 1):
        noise = rng.standard_normal((n_sub, N)) if T > 0 else None
        H, sg = advance(couplings, s, h, T, noise, n_sub, g, work)
        energy[i], mu[i] = H / N, T - sg / N
        record(i + 1)
    H, _ = couplings.gradient(s, g)
    energy[-1], mu[-1] = H / N, T - s @ g / N
    return {"energy": energy, "mu": mu, "C0": c0, **corr}


class PSpinSimulator(Simulator):
    """Projected Euler–Maruyama Langevin dynamics of the spherical mixed p-spin at finite N = d.

    ``indices`` ("all", the default, or "distinct") chooses the coupling convention and
    ``max_step`` the largest internal step (module doc)."""

    name = "pspin"

    def __init__(self, indices: str = "all", max_step: float = MAX_STEP):
        if indices not in INDICES:
            raise ValueError(f"indices must be one of {INDICES} (got {indices!r})")
        if not max_step > 0:
            raise ValueError(f"max_step must be > 0 (got {max_step})")
        self.indices = indices
        self.max_step = max_step

    def simulate(self, p, d, seeds, seed, run):
        c = coefficients(p)
        ks = degrees(c, "f" if p.get("f") is not None else "p")
        T = float(p["T"])
        if not (math.isfinite(T) and T >= 0):
            raise ParameterError(f"parameter 'T' must be >= 0 (got {p['T']!r})")
        if self.indices == "distinct" and d < max(ks):
            raise ParameterError(f"parameter 'd' must be >= the largest degree {max(ks)} (got {d})")
        count = sum(coupling_count(d, k, self.indices) for k in ks)
        if count > MAX_COUPLINGS:
            raise ParameterError(f"parameter 'd' = {d} needs {count:.3g} couplings (more than "
                                 f"{MAX_COUPLINGS:.0e}, {8 * count / 1e9:.1f} GB): lower 'd'")
        grid = UniformGrid.up_to(p["t_max"], p["dt"])
        t = grid.t
        waits = waiting_indices(p.get("t_w"), p["t_max"], grid.dt, len(t))
        n_sub = substeps(grid.dt, self.max_step)

        def one(rng):
            couplings = sample_couplings(c, d, rng, self.indices)
            s0 = initial_point(d, rng)
            return trajectory(couplings, s0, T, grid.dt, len(t), rng, waits, self.max_step)

        return run_realisations(self.name, p, t, d, seeds, seed, run, one,
                                "projected-euler-maruyama", substeps=n_sub, step=grid.dt / n_sub,
                                indices=self.indices)
