"""Model ``two-layer``: the Montanari-Urbani Gaussian DMFT of gradient flow on a two-layer network
f(x) = (1/m) sum_i a_i sigma(<w_i, x>), ||w_i|| = 1, trained on n = alpha m d samples
(two_layer.md §2-§3; errors carry the factor 1/2; time includes the factor n/d).

SymmDMFT (§3.8) for symmetric initialisations (all a_i(0) equal, C(0,0) = I) at any m, and the
general-m DMFT (§3.4) for arbitrary a_i(0) and C_ij(0,0): both are the kernel of
solvers.two_layer_kernel (K = 1 class of m exchangeable neurons, or K = m classes of one),
marched by dmft.history (Heun, second order in dt; ``scheme=long-time`` compresses the history
for t ~ m, ``richardson`` extrapolates dt -> 0 at third order).
"""
from __future__ import annotations

import math

import numpy as np

from dmft.extrapolate import richardson
from dmft.grid import UniformGrid
from dmft.history import History, history_capacity, march_history
from dmft.model import Model, Param, ParameterError, Tool
from dmft.result import Result

from . import two_layer_kernel as kernel
from . import two_layer_phenomena, two_layer_threshold

UNIFORM_MEMORY = 3e9   # bytes for the uniform scheme's history: 5 (N, N) float64 arrays per field
DEFAULT_ALPHA = 0.3
NEGATIVE_TRAIN_ERROR = 1e-5   # e_tr below -1e-5 e_tr(0) (beyond quadrature error near 0) = divergence
INTERPOLATED = 1e-4           # ... after e_tr fell below 1e-4 e_tr(0): the run interpolated first (the long-time
                              # scheme's floor is ~1e-5 absolute; past interpolation it later goes unstable)


def alphas(p) -> tuple[float, float]:
    """(alpha, alpha_bar) = (n/(m d), n/d) from whichever is given (alpha = 0.3 if neither)."""
    if p["alpha_bar"] is not None:
        return p["alpha_bar"] / p["m"], p["alpha_bar"]
    alpha = DEFAULT_ALPHA if p["alpha"] is None else p["alpha"]
    return alpha, alpha * p["m"]


def link(p) -> tuple[np.ndarray, float]:
    """Coefficients of phihat(q) and ||phi||^2 (zero for pure noise; phihat = h by default, and
    ||phi||^2 = sum_j phihat_j^2 / h_j: the teacher built from the activation's Hermite basis)."""
    h = np.asarray(p["h"], dtype=float)
    if p["target"] == "noise":
        return np.zeros(1), 0.0
    ph = h.copy() if p["phi"] is None else np.asarray(p["phi"], dtype=float)
    hh = np.concatenate([h, np.zeros(max(0, len(ph) - len(h)))])
    norm2 = float(sum(c * c / hh[j] for j, c in enumerate(ph) if c != 0))
    return ph, norm2


def initial_data(p) -> tuple[np.ndarray, np.ndarray]:
    """a_i(0) and C_ij(0,0) (m values, m x m)."""
    m = p["m"]
    if p["a_init"] is not None:
        a = np.asarray(p["a_init"], dtype=float)
    else:
        a = np.full(m, p["gamma0"] * math.sqrt(m) if p["init"] == "lazy" else p["a0"])
    c0 = np.eye(m) if p["c_init"] is None else np.asarray(p["c_init"], dtype=float).reshape(m, m)
    return a, c0


def is_symmetric(a: np.ndarray, c0: np.ndarray) -> bool:
    return bool(np.all(a == a[0]) and np.array_equal(c0, np.eye(len(a))))


class TwoLayer(Model):
    name = "two-layer"
    summary = "two-layer network, Gaussian DMFT of Montanari-Urbani (SymmDMFT and general m)"
    reference = "two_layer.md; Montanari & Urbani, arXiv 2502.21269 (NeurIPS 2025)"
    parameters = (
        Param("m", int, 16, "width (number of hidden neurons)", low=1),
        Param("alpha", float, None, "samples per parameter n/(m d) (default 0.3; give alpha or alpha_bar)",
              low=0, low_open=True),
        Param("alpha_bar", float, None, "samples per dimension n/d (instead of alpha)", low=0, low_open=True),
        Param("tau", float, 0.3, "label-noise standard deviation", low=0),
        Param("h", tuple, (0.9, 0.0, 1.0 / 6.0), "coefficients h_1,h_2,... of h(q) = E sigma(G) sigma(G_q) "
              "= h_1 q + h_2 q^2 + ... (all >= 0)"),
        Param("target", str, "single-index", "pure noise or single-index y = phi(<u*,x>) + noise",
              choices=("noise", "single-index")),
        Param("phi", tuple, None, "coefficients of phihat(q) = E sigma(G_q) phi(G) (default: equal to h, "
              "i.e. teacher = student activation)"),
        Param("init", str, "mf", "second-layer initialisation: lazy a_i = gamma0 sqrt(m), mean-field a_i = a0",
              choices=("lazy", "mf")),
        Param("gamma0", float, 1.0, "lazy initialisation scale gamma0 = a(0)/sqrt(m)"),
        Param("a0", float, 1.0, "mean-field initialisation a(0)"),
        Param("a_init", tuple, None, "general initialisation: a_1(0),...,a_m(0) (overrides init)"),
        Param("c_init", tuple, None, "general initialisation: C_ij(0,0), m*m values row by row "
              "(symmetric, unit diagonal, PSD; default identity)"),
        Param("train_a", bool, True, "train the second layer (false: frozen at its initial value)"),
        Param("method", str, "dmft", "finite-m Gaussian DMFT, or a large-width description: mean-field ODE, "
              "lazy lz1 closed forms, lz2 single-neuron DMFT, mf2 p-spin mapping (two_layer.md §4)",
              choices=("dmft", "mf-ode", "lz1", "lz2", "mf2")),
        Param("t_max", float, 10.0, "final time (paper units, including the factor n/d)", low=0, low_open=True),
        Param("dt", float, 0.05, "time step", low=0, low_open=True),
        Param("scheme", str, "uniform", "uniform grid (every time kept) or compressed history for t ~ m",
              choices=("uniform", "long-time")),
        Param("eps", float, 0.05, "long-time scheme: relative spacing of the kept history times",
              low=0, low_open=True, high=0.5),
        Param("richardson", bool, False, "also solve at dt/2 and extrapolate in dt (error O(dt^3))"),
        Param("simulation", str, "gaussian", "finite system for simulate/validate: GD on the Gaussian model "
              "(random tensors), full-batch GD or SGD on the real network", choices=("gaussian", "gd", "sgd")),
        Param("sim_step", float, 0.01, "simulation: GD step (gaussian, gd) or SGD learning rate (sgd)",
              low=0, low_open=True),
        Param("batch", int, 100, "simulation: SGD batch size", low=1),
    )
    observables = {
        "train_error": "training error e_tr = -C_A(t,t)/2",
        "test_error": "population error e_ts = Sigma_C(t,t)/2",
        "a": "second-layer weight (mean of a_i)",
        "gamma": "||a||_1 / m^(3/2) (= a/sqrt(m) when symmetric)",
        "w2_l1": "||a/m||_1 = (1/m) sum |a_i|",
        "v": "latent overlap <u*, w_i> (mean over neurons)",
        "nu": "Lagrange multiplier of ||w_i|| = 1 (mean over neurons)",
        "cd0": "C_d(t,0) = <w_i(t), w_i(0)> (mean over neurons)",
        "displacement": "||w_i(t) - w_i(0)||^2 = 2 - 2 C_d(t,0)",
        "wbar2": "squared norm of the mean neuron (1/m^2) sum_ij C_ij(t,t)",
        "a_<i>, c0_<i>_<j>, ctt_<i>_<j>": "with a_init: a_i(t), C_ij(t,0), C_ij(t,t) per neuron (1-based)",
    }
    tools = {"phenomena": Tool("phenomena", "the paper's claims (non-monotone test error, onset ~ m, gamma growth, "
                               "a v -> 1, gap vs lazy fixed-gamma curve): table and figure",
                               two_layer_phenomena.PARAMETERS, two_layer_phenomena.phenomena),
             "threshold": Tool("threshold", "interpolation threshold alpha*_GF(gamma0) from lz2 relaxation times "
                               "t_rel (e_tr < eps_rel tau^2) and the fit t_rel = c (alpha* - alpha)^-2: table and figure",
                               two_layer_threshold.PARAMETERS, two_layer_threshold.threshold),
             "frozen-threshold": Tool("frozen-threshold", "App. H: interpolation threshold alpha_bar_GF(m) with the "
                                      "second layer frozen at a = 1 (pure noise), from SymmDMFT relaxation times "
                                      "in t/m and the fit t_rel = c m (alpha_bar_GF - alpha_bar)^-2",
                                      two_layer_threshold.FROZEN_PARAMETERS, two_layer_threshold.frozen_threshold)}
    order_parameters = {
        "C_d, C_o, R_d, R_o": "SymmDMFT correlations and responses (same / distinct neurons)",
        "C_<i>_<j>, R_<i>_<j>": "general m: C_ij(t,s), R_ij(t,s)",
        "C_A, R_A": "sample-side resolvents; R_A is the regular part (its delta(t-s) is not stored)",
    }

    def check(self, p):
        if p["method"] != "dmft":
            from . import two_layer_limits
            return two_layer_limits.check(p)
        m = p["m"]
        if p["alpha"] is not None and p["alpha_bar"] is not None:
            raise ParameterError("give either parameter 'alpha' (n/(m d)) or 'alpha_bar' (n/d), not both")
        h = np.asarray(p["h"], dtype=float)
        if np.any(h < 0) or not np.any(h > 0):
            raise ParameterError(f"parameter 'h' must have coefficients >= 0, not all zero (got {p['h']})")
        if p["target"] == "noise" and p["phi"] is not None:
            raise ParameterError("parameter 'phi' needs target=single-index")
        if p["phi"] is not None:
            ph = np.asarray(p["phi"], dtype=float)
            hh = np.concatenate([h, np.zeros(max(0, len(ph) - len(h)))])
            if np.any((ph != 0) & (hh[: len(ph)] == 0)):
                raise ParameterError("parameter 'phi' may only have coefficients where h_j > 0 "
                                     "(phihat_j = s_j f_j with s_j = sqrt(h_j))")
        if p["a_init"] is not None and len(p["a_init"]) != m:
            raise ParameterError(f"parameter 'a_init' must have m = {m} values (got {len(p['a_init'])})")
        if p["c_init"] is not None:
            if len(p["c_init"]) != m * m:
                raise ParameterError(f"parameter 'c_init' must have m*m = {m * m} values (got {len(p['c_init'])})")
            c0 = np.asarray(p["c_init"], dtype=float).reshape(m, m)
            if (not np.allclose(c0, c0.T, atol=1e-12) or not np.allclose(np.diag(c0), 1.0, atol=1e-12)
                    or np.linalg.eigvalsh(0.5 * (c0 + c0.T)).min() < -1e-10):
                raise ParameterError("parameter 'c_init' must be a symmetric PSD matrix with unit diagonal")
        alpha, _ = alphas(p)
        a, _ = initial_data(p)
        h1, h1_at_1 = h[0], float(np.sum(np.arange(1, len(h) + 1) * h))
        rate = alpha * float(np.max(a ** 2)) * (h1 + (h1_at_1 - h1) / m)
        if p["dt"] * rate > 1.0:
            raise ParameterError(f"parameter 'dt' must be <= {1 / rate:.3g} here (Heun stability: dt times the "
                                 f"initial relaxation rate of the mean neuron, alpha a(0)^2 (h'(0) + "
                                 f"(h'(1) - h'(0))/m), must be <= 1)")
        points = (UniformGrid.check(p["t_max"], p["dt"]) - 1) * (2 if p["richardson"] else 1) + 1
        a0, c0 = initial_data(p)
        fields = kernel.field_index(1 if is_symmetric(a0, c0) else m)["count"]
        max_points = int(math.sqrt(UNIFORM_MEMORY / (40 * fields)))
        if p["scheme"] == "uniform" and points > max_points:
            raise ParameterError(f"t_max/dt gives {points} time points (twice as many with richardson); the uniform "
                                 f"scheme allows at most {max_points} here ({fields} two-time fields, "
                                 f"{UNIFORM_MEMORY / 1e9:g} GB): raise 'dt', lower 't_max' or use scheme=long-time")

    def solve(self, p, run):
        if p["method"] != "dmft":
            from . import two_layer_limits
            return two_layer_limits.solve(p, run)
        if not p["richardson"]:
            return self._solve(p, p["dt"], run)
        coarse = self._solve(p, p["dt"], run.stage("dt"))
        return richardson(coarse, self._solve(p, p["dt"] / 2, run.stage("dt2")), order=2)

    def _solve(self, p, dt, run):
        m = p["m"]
        alpha, alpha_bar = alphas(p)
        a0, c0 = initial_data(p)
        symmetric = is_symmetric(a0, c0)
        counts = np.array([float(m)]) if symmetric else np.ones(m)
        cls = np.zeros(m, dtype=int) if symmetric else np.arange(m)
        K = len(counts)
        fi = kernel.field_index(K)
        phihat, phi2 = link(p)
        params = kernel.pack(alpha_bar, m, p["tau"], phi2, p["train_a"], counts, np.asarray(p["h"], float), phihat)
        targets, tl, tw = kernel.terms(counts)
        diag = np.zeros(fi["count"])
        diag[fi["Cs"]:fi["Cs"] + K] = 1.0
        diag[fi["Rs"]:fi["Rs"] + K] = 1.0
        free = np.zeros(fi["count"], dtype=bool)
        for c in range(K):
            for d in range(K):
                diag[fi["Cx"] + c * K + d] = c0[np.flatnonzero(cls == c)[0], np.flatnonzero(cls == d)[-1]]
                free[fi["Cx"] + c * K + d] = True
        state0 = np.concatenate([[a0[np.flatnonzero(cls == c)[0]] for c in range(K)], np.zeros(K)])
        steps = (UniformGrid.check(p["t_max"], p["dt"]) - 1) * round(p["dt"] / dt)
        eps = p["eps"] if p["scheme"] == "long-time" else 0.0
        history = History(fi["count"], history_capacity(steps, dt, eps, 1), tuple(diag),
                          free_diag=tuple(free), state0=tuple(state0))

        def rates(r, tau, X, H, VT, Y, P, out, out_diag, out_state, scalars):
            kernel.rates(r, tau, X, H, VT, Y, P, out, out_diag, out_state, scalars, targets, tl, tw)

        outcome = march_history(rates, params, history, steps, dt, 4 + K, run, eps=eps, track=(0,),
                                complete=kernel.complete)
        steps_done, message = outcome.steps, outcome.message
        e_tr = outcome.scalars[:, 0]
        negative = np.flatnonzero(e_tr < -NEGATIVE_TRAIN_ERROR * e_tr[0])
        if len(negative):
            k = int(negative[0])
            steps_done = k - 1
            cause = ("the train error had reached zero (interpolation) and went below the scheme's quadrature "
                     "error; scheme=uniform resolves it to ~1e-8" if np.min(e_tr[:k]) < INTERPOLATED * e_tr[0]
                     else "dt too large for the fastest mode?")
            message = (f"diverged at t={outcome.t[k]:g}: negative train error {e_tr[k]:.3g} ({cause}); "
                       f"the steps before it are kept")
        n = steps_done + 1
        observables = self._observables(outcome, K, counts, cls, fi, m, p["a_init"] is not None, n)
        solver = {"method": "SymmDMFT" if symmetric else f"general-m Gaussian DMFT ({m} neurons)",
                  "scheme": f"heun-{p['scheme']}", "dt": dt, "iterations": steps_done, "residual": 0.0,
                  "converged": not (outcome.diverged or len(negative)), "status": message or "ok",
                  "symmetric": symmetric, "alpha": alpha, "alpha_bar": alpha_bar, "phi_norm2": phi2,
                  "history_points": history.L, "max_history_points": outcome.max_points,
                  "max_fast_rate_dt": float(np.nanmax(outcome.scalars[:n, 3])) * dt,
                  "min_train_error": float(np.nanmin(e_tr[:n])),
                  "min_gram_eigenvalue": float(np.nanmin(observables.pop("_gram_min")))}
        order = self._order(history, K, cls, fi, symmetric, n if eps == 0 else None)
        if eps == 0:
            return Result(self.name, p, outcome.t[:n], observables=observables, order=order, solver=solver)
        return Result(self.name, p, outcome.t[:n], observables=observables, solver=solver,
                      history={"tau": history.tau[: history.L].copy(), **order})

    @staticmethod
    def _observables(outcome, K, counts, cls, fi, m, per_neuron, n) -> dict:
        w = counts / m
        a_c = outcome.state[:n, :K]
        v_c = outcome.state[:n, K:]
        cd0_c = outcome.tracked[:n, fi["Cs"]:fi["Cs"] + K, 0]
        diag = outcome.diag[:n]
        cx = diag[:, fi["Cx"]:fi["Cx"] + K * K].reshape(n, K, K)          # C_cd(t,t), distinct neurons
        pairs = counts[:, None] * (counts[None, :] - np.eye(K))
        obs = {"train_error": outcome.scalars[:n, 0], "test_error": outcome.scalars[:n, 1],
               "a": a_c @ w, "gamma": np.abs(a_c) @ w / math.sqrt(m), "w2_l1": np.abs(a_c) @ w,
               "v": v_c @ w, "nu": outcome.scalars[:n, 4:4 + K] @ w, "cd0": cd0_c @ w,
               "displacement": 2.0 - 2.0 * (cd0_c @ w), "wbar2": (m + np.einsum("cd,ncd->n", pairs, cx)) / m ** 2}
        if K == 1:   # eigenvalues of the Gram of (w_1..w_m) minus v v^T: 1 - C_o (m-1 times), 1 + (m-1) C_o - m v^2
            co, v = cx[:, 0, 0], v_c[:, 0]
            obs["_gram_min"] = np.minimum(1 - co if m > 1 else np.inf, 1 + (m - 1) * co - m * v * v)
        else:
            gram = cx + np.eye(K) * (1 - cx)                              # K = m: C_ij(t,t), unit diagonal
            obs["_gram_min"] = np.linalg.eigvalsh(gram - v_c[:, :, None] * v_c[:, None, :]).min(axis=1)
        if per_neuron:
            def pair(i, j, values):      # C_ij(t, .) from the class fields (values: (n, nF))
                return values[:, fi["Cs"] + cls[i]] if i == j else values[:, fi["Cx"] + cls[i] * K + cls[j]]

            for i in range(m):
                obs[f"a_{i + 1}"] = a_c[:, cls[i]]
            for i in range(m):
                for j in range(m):
                    obs[f"c0_{i + 1}_{j + 1}"] = pair(i, j, outcome.tracked[:n, :, 0])
            for i in range(m):
                for j in range(i + 1, m):
                    obs[f"ctt_{i + 1}_{j + 1}"] = pair(i, j, diag)
        return obs

    @staticmethod
    def _order(history, K, cls, fi, symmetric, n) -> dict:
        """Two-time arrays on the kept times (the whole grid for the uniform scheme): correlations
        symmetrised, responses in the Ito convention (zero diagonal)."""
        L = history.L if n is None else n
        low = {f: history.lower(f)[:L, :L] for f in range(fi["count"])}
        sym = lambda x: x + np.tril(x, -1).T  # noqa: E731
        order = {"C_A": sym(low[fi["CA"]]), "R_A": np.tril(low[fi["rho"]], -1)}
        if symmetric:
            order.update({"C_d": sym(low[fi["Cs"]]), "C_o": sym(low[fi["Cx"]]),
                          "R_d": np.tril(low[fi["Rs"]], -1), "R_o": np.tril(low[fi["Rx"]], -1)})
            return order
        m = len(cls)
        for i in range(m):
            for j in range(m):
                if i == j:
                    order[f"C_{i + 1}_{j + 1}"] = sym(low[fi["Cs"] + i])
                    order[f"R_{i + 1}_{j + 1}"] = np.tril(low[fi["Rs"] + i], -1)
                else:
                    order[f"C_{i + 1}_{j + 1}"] = low[fi["Cx"] + i * K + j] + np.tril(low[fi["Cx"] + j * K + i], -1).T
                    order[f"R_{i + 1}_{j + 1}"] = np.tril(low[fi["Rx"] + i * K + j], -1)
        return order
