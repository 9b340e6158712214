"""Finite-size simulations of ``two-layer`` (two_layer.md §2, §7.2, §7.3): projected gradient
descent on the Gaussian model built from random tensors (``simulation="gaussian"``), full-batch
projected GD (``"gd"``) and SGD (``"sgd"``) on the real network f(x) = (1/m) a^T sigma(W x).

Sizes.  d is the input dimension; n = round(alpha_bar d) with alpha_bar = n/d = alpha m from
the model's ``solvers.two_layer.alphas`` (the same resolution of alpha / alpha_bar as the DMFT);
a(0) and C0 come from its ``initial_data`` and (phi_hat, ||phi||^2) from its ``link``.

Initial data (draw 1).  a(0) = ``a_init`` if given, else gamma0 sqrt(m) (``init="lazy"``) or a0
(``"mf"``).  W(0) has exactly the Gram matrix C0 = ``c_init`` (identity if None): with the
eigen-decomposition C0 = V diag(lam) V^T, keep the r eigenvalues lam > 1e-10 max(lam) (a singular
Gram, Setting 1 with w1 = w3, w2 = w4, has r = 2), L = V_r diag(sqrt(lam_r)) (m x r), and
W(0) = L Y with Y (r x d) having orthonormal rows, so W(0) W(0)^T = L L^T = C0 up to round-off.
Y and the target direction u* are the first r and the last column of the Haar orthogonal Q from
the QR decomposition of a d x (r + 1) standard Gaussian matrix (signs fixed by diag R > 0), so
<u*, w_i(0)> = 0 exactly (v(0) = 0, the DMFT's initial condition).  For C0 = I the neurons are
exactly orthonormal rather than iid uniform (C_ij(0,0) = delta_ij, as the DMFT assumes).  The law
of everything below depends on (W(0), u*) only through their Gram matrix, since the data are
rotation invariant.

Data (draw 2, 3).  'gaussian': the tensors of ``two_layer_gaussian`` (G_mu(w) with covariance
h(<w, w'>), target phi^g_mu); 'gd'/'sgd': X (n x d) with iid N(0, 1) entries, y = phi(<u*, x>) +
eps.  Then eps = tau N(0, 1)^n.  Activation sigma = sum_j s_j He_j/sqrt(j!) (probabilists'
Hermite, s_j = sqrt(h_j), §2.4 table) and teacher phi = sum_j f_j He_j/sqrt(j!), f_j = phi_j/s_j,
so that E sigma(G1) sigma(Gq) = h(q), E sigma(<w,x>) phi(<u*,x>) = phi_hat(<w,u*>) =
sum_j phi_j q^j and ||phi||^2 = sum_j phi_j^2/h_j.  Pure noise (``target="noise"``): y = eps.
With a linear h = (h_1,) the Gaussian model and the real network coincide sample by sample: the
degree-1 tensors are drawn exactly like X, and sigma, phi are linear.

Dynamics.  Every step, on the loss L_B = (1/2|B|) sum_{mu in B} (y_mu - f_mu)^2 of a batch B,

    a <- a - lr grad_a L_B            (skipped when ``train_a`` is false)
    w_i <- (w_i - lr grad_{w_i} L_B) / |w_i - lr grad_{w_i} L_B|     (ambient gradients, D.9)

'gaussian' and 'gd': B = all n samples and lr = eta_GD n/d (eta_GD = ``sim_step``), i.e. D.9 with
the n/d factor inside the step.  'sgd': lr = ``sim_step`` and |B| = ``batch``; the batches are
consecutive slices of a stream of random permutations of the n samples (draw 4, one
permutation per pass, drawn when needed; a batch may straddle two passes), so every batch has
exactly ``batch`` distinct-in-pass samples and the training set is reused.  Time map: gradient flow
in paper units is da/dt = -(n/d) grad R_hat with R_hat = (1/2n) sum (y - f)^2, so one step of
either kind advances t by lr d/n: t = steps eta_GD (GD), t = steps lr d/n (SGD, one pass =
lr d/batch).  The loss normalisation (1/2|B|, with the 1/2) is recorded in the result.

Recording.  The output times are UniformGrid.up_to(t_max, dt).t; observables are taken at the
step closest to each time.  For 'gaussian'/'gd' the step eta_GD must divide dt (ParameterError
naming 'sim_step' otherwise), so the recorded times are exact; for 'sgd' the step lr d/n must not
exceed dt and the largest offset |t - steps lr d/n| <= lr d/(2n) is recorded as
``max_time_offset``.

Observables at a recorded state (errors are 1/2 mean squared):
  train_error   (1/2n) sum_mu (y_mu - f_mu)^2 on the full training set;
  test_error    population risk (J.10): (tau^2 + ||phi||^2)/2 - (1/m) sum_i a_i phi_hat(<u*, w_i>)
                + (1/2m^2) sum_ij a_i a_j h(<w_i, w_j>)  (exact for both models; no test set);
  a             mean_i a_i;   gamma  ||a||_1 / m^{3/2};   w2_l1  (1/m) sum_i |a_i|;
  v             mean_i <u*, w_i> (0 for pure noise);
  nu            mean_i nu_i with nu_i = -<w_i, (n/d) grad_{w_i} R_hat>, R_hat on the full training
                set: the multiplier of dw_i/dt = -(n/d) grad_{w_i} R_hat - nu_i w_i, fixed by
                d|w_i|^2/dt = 2 <w_i, dw_i/dt> = 0 with |w_i| = 1 (the sign of the DMFT's nu_i,
                e.g. E nu_i(0) = -(n/d) a_0^2 h'(1)/m^2 for C0 = I, v = 0);
  cd0           mean_i <w_i(t), w_i(0)>;   displacement  mean_i |w_i(t) - w_i(0)|^2;
  wbar2         |(1/m) sum_i w_i|^2 (squared norm of the mean neuron);
and, when ``a_init`` is given, a_<i> (i = 1..m), c0_<i>_<j> = <w_i(t), w_j(0)> (all i, j) and
ctt_<i>_<j> = <w_i(t), w_j(t)> (i < j).  A run whose state stops being finite stops with a warning
and NaN at the later times.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import hermite_e, polynomial

from dmft.grid import UniformGrid
from dmft.model import ParameterError
from dmft.simulation import Simulator, run_realisations
from solvers.two_layer import alphas, initial_data, link
from validation.two_layer_gaussian import GaussianModel, check_memory

SIMULATIONS = ("gaussian", "gd", "sgd")
RANK_TOL = 1e-10
LOSS = "(1/2|B|) sum_{mu in B} (y_mu - f_mu)^2, B = batch (all n for gaussian/gd)"


# --------------------------------------------------------------------------- parameters

@dataclass
class Setup:
    """The resolved parameters of one simulation (module doc)."""

    kind: str
    m: int
    d: int
    n: int
    tau: float
    h: np.ndarray             # h[j-1] = h_j
    phi: np.ndarray | None    # phi_hat coefficients, None for pure noise
    phi_norm2: float
    a0: np.ndarray
    c0: np.ndarray
    train_a: bool
    lr: float                 # multiplier of the batch gradient per step
    batch: int
    record: np.ndarray        # step index of every output time
    per_neuron: bool

    @property
    def time_step(self) -> float:
        """Paper time per step, lr d/n."""
        return self.lr * self.d / self.n


def sample_count(p, d: int) -> int:
    """n = round(alpha_bar d), alpha_bar = n/d from the model's ``alphas`` (alpha_bar = alpha m)."""
    n = int(round(alphas(p)[1] * d))
    if n < 1:
        raise ParameterError(f"parameters 'alpha'/'alpha_bar' give n = {n} samples at d = {d}: "
                             f"they must give n >= 1")
    return n


def record_steps(p, t: np.ndarray, time_step: float, kind: str) -> np.ndarray:
    """Step index closest to every output time; for GD the step must divide dt."""
    dt = float(p["dt"])
    ratio = dt / time_step
    if kind == "sgd":
        if ratio < 1 - 1e-9:
            raise ParameterError(f"parameter 'sim_step': one SGD step advances t by lr d/n = "
                                 f"{time_step:.6g}, more than dt = {dt:g}; lower 'sim_step'")
    elif abs(ratio - round(ratio)) > 1e-9 * ratio or round(ratio) < 1:
        raise ParameterError(f"parameter 'sim_step' = {time_step:g} must divide dt = {dt:g} "
                             f"(dt/sim_step = {ratio:.6g} is not an integer)")
    return np.rint(t / time_step).astype(np.int64)


def resolve(p, d: int, t: np.ndarray) -> Setup:
    """Resolve n, a(0), C0, the coefficients, the step and the recording steps and check what
    only the simulator needs, before any work (ParameterError naming the parameter).  The
    model's own conditions (TwoLayer.check: a_init, c_init, phi, alpha/alpha_bar) are checked
    by ``dmft.simulate`` before this."""
    kind = p["simulation"]
    if kind not in SIMULATIONS:
        raise ParameterError(f"parameter 'simulation' must be one of {SIMULATIONS} (got {kind!r})")
    m = int(p["m"])
    if d < m + 1:
        raise ParameterError(f"parameter 'd' must be >= m + 1 = {m + 1} (got {d})")
    n = sample_count(p, d)
    h = np.asarray(p["h"], dtype=float)
    phi, phi_norm2 = link(p)
    phi = None if p["target"] == "noise" else np.pad(phi, (0, max(0, len(h) - len(phi))))
    step = float(p["sim_step"])
    if not step > 0:
        raise ParameterError(f"parameter 'sim_step' must be > 0 (got {p['sim_step']!r})")
    batch = n
    if kind == "sgd":
        batch = int(p["batch"])
        if not 1 <= batch <= n:
            raise ParameterError(f"parameter 'batch' must be in [1, n = {n}] (got {batch})")
        lr = step
    else:
        lr = step * n / d
    if kind == "gaussian":
        check_memory(n, d, m, [j for j in range(1, len(h) + 1) if h[j - 1] > 0])
    a0, c0 = initial_data(p)
    record = record_steps(p, t, lr * d / n, kind)
    return Setup(kind, m, d, n, float(p["tau"]), h, phi, phi_norm2, a0, c0, bool(p["train_a"]), lr,
                 batch, record, p["a_init"] is not None)


# --------------------------------------------------------------------------- initial condition

def initial_weights(c0: np.ndarray, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(W(0) (m, d) with W W^T = c0, u* (d,) unit and orthogonal to every row): draw 1."""
    lam, V = np.linalg.eigh(c0)
    keep = lam > RANK_TOL * lam.max()
    L = V[:, keep] * np.sqrt(lam[keep])
    r = int(keep.sum())
    Q, R = np.linalg.qr(rng.standard_normal((d, r + 1)))
    Q *= np.sign(np.diag(R))
    return L @ Q[:, :r].T, Q[:, r].copy()


# --------------------------------------------------------------------------- real network

def hermite_polynomial(coef: np.ndarray) -> np.ndarray:
    """Monomial coefficients (increasing degree) of sum_j coef[j-1] He_j / sqrt(j!)."""
    k = np.arange(1, len(coef) + 1)
    herme = np.concatenate(([0.0], coef / np.sqrt([math.factorial(j) for j in k])))
    return hermite_e.herme2poly(herme)


class Network:
    """One training set of the real network: X (n, d), y; sigma with Hermite coefficients
    s_j = sqrt(h_j)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, h: np.ndarray):
        self.X, self.y = X, y
        self.sigma = hermite_polynomial(np.sqrt(h))
        self.dsigma = polynomial.polyder(self.sigma)

    @classmethod
    def sample(cls, h: np.ndarray, phi: np.ndarray | None, u: np.ndarray, n: int, tau: float,
               rng: np.random.Generator) -> "Network":
        """Draw X, then eps = tau N(0, 1)^n; y = phi(X u*) + eps (phi None: pure noise)."""
        X = rng.standard_normal((n, len(u)))
        y = tau * rng.standard_normal(n)
        if phi is not None:
            s = np.sqrt(np.pad(h, (0, len(phi) - len(h))))
            f = np.divide(phi, s, out=np.zeros_like(phi), where=s > 0)
            y = y + polynomial.polyval(X @ u, hermite_polynomial(f))
        return cls(X, y, h)

    def gradients(self, a: np.ndarray, W: np.ndarray, batch: np.ndarray | None = None):
        """(Delta = y - f (|B|,), grad_a, grad_W (m, d)) of (1/2|B|) sum_B (y - f)^2."""
        X, y = (self.X, self.y) if batch is None else (self.X[batch], self.y[batch])
        m, size = len(a), len(y)
        Z = X @ W.T
        S = polynomial.polyval(Z, self.sigma)
        delta = y - S @ a / m
        scale = -1.0 / (size * m)
        pull = (polynomial.polyval(Z, self.dsigma) * delta[:, None]).T @ X
        return delta, scale * (S.T @ delta), scale * a[:, None] * pull


def batch_stream(n: int, size: int, rng: np.random.Generator):
    """Consecutive slices of ``size`` from a stream of random permutations of range(n) (draw 4)."""
    order = rng.permutation(n)
    pos = 0
    while True:
        if pos + size <= n:
            yield order[pos:pos + size]
            pos += size
        else:
            head = order[pos:]
            order = rng.permutation(n)
            pos = size - len(head)
            yield np.concatenate((head, order[:pos]))


# --------------------------------------------------------------------------- observables

def population_risk(a, W, u, s: Setup) -> float:
    """(J.10): (tau^2 + ||phi||^2)/2 - (1/m) sum a_i phi_hat(<u*, w_i>) + (1/2m^2) a^T h(W W^T) a."""
    m = len(a)
    hC = polynomial.polyval(W @ W.T, np.concatenate(([0.0], s.h)))
    risk = 0.5 * (s.tau**2 + s.phi_norm2) + a @ hC @ a / (2 * m * m)
    if s.phi is not None:
        risk -= a @ polynomial.polyval(W @ u, np.concatenate(([0.0], s.phi))) / m
    return float(risk)


def observables(a, W, W0, u, delta, grad_W, s: Setup) -> dict[str, float]:
    """The observables of the module doc at one state (delta, grad_W on the full training set)."""
    m = s.m
    out = {
        "train_error": 0.5 * float(np.mean(delta**2)),
        "test_error": population_risk(a, W, u, s),
        "a": float(a.mean()),
        "gamma": float(np.abs(a).sum()) / m**1.5,
        "w2_l1": float(np.abs(a).mean()),
        "v": float((W @ u).mean()) if s.phi is not None else 0.0,
        "nu": -s.n / s.d * float(np.einsum("id,id->", W, grad_W)) / m,
        "cd0": float(np.einsum("id,id->", W, W0)) / m,
        "displacement": float(np.sum((W - W0) ** 2)) / m,
        "wbar2": float(np.sum(W.mean(axis=0) ** 2)),
    }
    if s.per_neuron:
        c0, ctt = W @ W0.T, W @ W.T
        for i in range(m):
            out[f"a_{i + 1}"] = float(a[i])
            for j in range(m):
                out[f"c0_{i + 1}_{j + 1}"] = float(c0[i, j])
                if i < j:
                    out[f"ctt_{i + 1}_{j + 1}"] = float(ctt[i, j])
    return out


# --------------------------------------------------------------------------- dynamics

def trajectory(model, a, W, u, s: Setup, batches=None) -> dict[str, np.ndarray]:
    """Run the projected (S)GD of the module doc from (a, W) and return the observables at the
    steps ``s.record``; ``batches`` (an iterator of index arrays) makes it SGD."""
    W0 = W.copy()
    out: dict[str, np.ndarray] = {}
    last = int(s.record[-1])
    k = 0
    for step in range(last + 1):
        full = model.gradients(a, W) if (batches is None or s.record[k] == step) else None
        while k < len(s.record) and s.record[k] == step:
            for name, value in observables(a, W, W0, u, full[0], full[2], s).items():
                out.setdefault(name, np.full(len(s.record), np.nan))[k] = value
            k += 1
        if step == last:
            break
        _, grad_a, grad_W = full if batches is None else model.gradients(a, W, next(batches))
        if s.train_a:
            a = a - s.lr * grad_a
        W = W - s.lr * grad_W
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(W))):
            warnings.warn(f"two-layer {s.kind} simulation diverged (non-finite weights) at "
                          f"t = {(step + 1) * s.time_step:g}; later times are NaN", RuntimeWarning)
            break
    return out


class TwoLayerSimulator(Simulator):
    """Projected GD on the random-tensor Gaussian model, or full-batch GD / SGD on the real
    two-layer network, for ``simulation`` = 'gaussian' | 'gd' | 'sgd' (module doc)."""

    name = "two-layer"

    def simulate(self, p, d, seeds, seed, run):
        t = UniformGrid.up_to(p["t_max"], p["dt"]).t
        s = resolve(p, d, t)
        data = GaussianModel if s.kind == "gaussian" else Network

        def one(rng):
            W, u = initial_weights(s.c0, d, rng)
            model = data.sample(s.h, s.phi, u, s.n, s.tau, rng)
            batches = batch_stream(s.n, s.batch, rng) if s.kind == "sgd" else None
            return trajectory(model, s.a0.copy(), W, u, s, batches)

        methods = {"gaussian": "projected-gd-gaussian-model", "gd": "projected-gd-network",
                   "sgd": "projected-sgd-network"}
        return run_realisations(
            self.name, p, t, d, seeds, seed, run, one, methods[s.kind], n=s.n, m=s.m,
            alpha_bar=s.n / d, alpha=s.n / (s.m * d), loss=LOSS,
            time_map="t = steps * lr * d / n (gaussian/gd: lr = sim_step * n / d, so t = steps * sim_step)",
            learning_rate=s.lr, time_step=s.time_step, batch=s.batch, steps=int(s.record[-1]),
            max_time_offset=float(np.max(np.abs(s.record * s.time_step - t))),
            phi_norm2=s.phi_norm2)
