"""Hermite toolkit of ``giant-step`` (giant_step.md section 3): activations, their Hermite
coefficients, multi-index targets given as Hermite expansions, their Hermite tensors, and the
information-exponent / leap diagnostics.

Probabilists' Hermite polynomials He_0 = 1, He_1 = z, He_{k+1} = z He_k - k He_{k-1};
E[He_k He_l] = k! delta_kl for z ~ N(0, 1).

Activations (``ACTIVATIONS``): relu = max(x, 0); tanh; erf = erf(x) (no rescaling of x).
c_k(sigma) = E[sigma(xi) He_k(xi)], so sigma = sum_k c_k He_k / k! and E[sigma'] = c_1.

Targets: g*(z) = sum_terms coef * prod_k He_{n_k}(z_k), z in R^r, stored as ``coefs`` (T,) and
``degrees`` (T, r) integer arrays, so every named target is exact in this form:

  z1+z1z2      He1(z1) + He1(z1) He1(z2)
  he2          He2(z1)                                  (information exponent 2)
  notebook     (h(z1) + h(z2)) / 2,  h = He1 + He2/2 + He4/24       (authors' notebook, section 6.1)
  staircase-1  (4 z1 + z1^2 + z2) / 2 = 1/2 + 2 He1(z1) + He2(z1)/2 + He1(z2)/2    (section 6.2)
  staircase-2  (z1 + z1^2 + z2 - z2^2) / 2 = (He1(z1) + He2(z1) + He1(z2) - He2(z2)) / 2

and ``target=hermite`` reads the parameter ``g_star``: terms separated by ';', each
``coef:n_1,n_2,...,n_r`` (e.g. ``"1:1,0;1:1,1"`` is z1 + z1 z2).

From the expansion (exact, by orthogonality): E[g*] = coef of the all-zero term,
E[g*^2] = sum over distinct multi-indices of coef^2 prod_k n_k!,
C_1[i] = E[g* z_i] = coef of e_i,  C_2[i, j] = E[g* (z z^T - I)_ij] = coef of e_i + e_j for i != j
and 2 x coef of 2 e_i on the diagonal.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numba
import numpy as np
from scipy import integrate

from dmft.model import ParameterError

ACTIVATIONS = ("relu", "tanh", "erf")
_CODES = {name: k for k, name in enumerate(ACTIVATIONS)}
NAMED_TARGETS = ("z1+z1z2", "he2", "notebook", "staircase-1", "staircase-2")
TARGETS = NAMED_TARGETS + ("hermite",)


def activation_code(name: str) -> int:
    return _CODES[name]


@numba.njit(cache=True)
def act(x, code):
    """sigma(x) for activation ``code`` (0 relu, 1 tanh, 2 erf)."""
    if code == 0:
        return x if x > 0.0 else 0.0
    if code == 1:
        return math.tanh(x)
    return math.erf(x)


@numba.njit(cache=True)
def act_prime(x, code):
    """sigma'(x) (relu: the step function, 1 for x > 0)."""
    if code == 0:
        return 1.0 if x > 0.0 else 0.0
    if code == 1:
        t = math.tanh(x)
        return 1.0 - t * t
    return 1.1283791670955126 * math.exp(-x * x)


@numba.njit(cache=True)
def activate(x, code):
    """sigma and sigma' of every entry of a 2-d array."""
    s, ds = np.empty_like(x), np.empty_like(x)
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            s[i, j] = act(x[i, j], code)
            ds[i, j] = act_prime(x[i, j], code)
    return s, ds


@numba.njit(cache=True)
def hermite(n, x):
    """He_n(x) by the three-term recurrence."""
    h0, h1 = 1.0, x
    if n == 0:
        return h0
    for k in range(1, n):
        h0, h1 = h1, x * h1 - k * h0
    return h1


@numba.njit(cache=True)
def target_value(z, coefs, degrees):
    """g*(z) for one point z (r,) of the Hermite expansion (coefs, degrees)."""
    total = 0.0
    for t in range(coefs.shape[0]):
        term = coefs[t]
        for k in range(z.shape[0]):
            if degrees[t, k] > 0:
                term *= hermite(degrees[t, k], z[k])
        total += term
    return total


@numba.njit(cache=True)
def target_values(Z, coefs, degrees):
    """g*(z) for every row of Z (N, r)."""
    y = np.empty(Z.shape[0])
    for i in range(Z.shape[0]):
        y[i] = target_value(Z[i], coefs, degrees)
    return y


def activation_coefficients(name: str, kmax: int) -> np.ndarray:
    """c_0..c_kmax of an activation by adaptive quadrature of E[sigma(xi) He_k(xi)] (split at the
    relu kink; absolute accuracy ~1e-12)."""
    code = activation_code(name)
    out = np.empty(kmax + 1)
    for k in range(kmax + 1):
        def f(x):
            return act(x, code) * hermite(k, x) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        out[k] = sum(integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
                     for lo, hi in ((-40.0, 0.0), (0.0, 40.0)))
    return out


def derivative_variance(name: str) -> float:
    """Var sigma'(xi) = E[sigma'^2] - c_1^2, xi ~ N(0, 1)."""
    code = activation_code(name)
    second = sum(integrate.quad(lambda x: act_prime(x, code) ** 2 * math.exp(-x * x / 2),
                                lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
                 for lo, hi in ((-40.0, 0.0), (0.0, 40.0))) / math.sqrt(2 * math.pi)
    return second - activation_coefficients(name, 1)[1] ** 2


@dataclass(frozen=True)
class Target:
    """A multi-index target g*(z) = sum coefs[t] prod_k He_{degrees[t, k]}(z_k), z in R^r."""

    coefs: np.ndarray
    degrees: np.ndarray

    @property
    def r(self) -> int:
        return self.degrees.shape[1]

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        return target_values(np.ascontiguousarray(Z, dtype=float), self.coefs, self.degrees)

    def _combined(self) -> dict[tuple[int, ...], float]:
        out: dict[tuple[int, ...], float] = {}
        for c, n in zip(self.coefs, self.degrees):
            out[tuple(int(v) for v in n)] = out.get(tuple(int(v) for v in n), 0.0) + float(c)
        return out

    def _coef(self, degree) -> float:
        return self._combined().get(tuple(degree), 0.0)

    @property
    def mean(self) -> float:
        return self._coef((0,) * self.r)

    @property
    def second_moment(self) -> float:
        """E[g*^2] (orthogonality of the Hermite products)."""
        return sum(c * c * math.prod(math.factorial(v) for v in n) for n, c in self._combined().items())

    def C1(self) -> np.ndarray:
        """E[g* z] (r,)."""
        return np.array([self._coef(np.eye(self.r, dtype=int)[i]) for i in range(self.r)])

    def C2(self) -> np.ndarray:
        """E[g* (z z^T - I)] (r, r)."""
        e = np.eye(self.r, dtype=int)
        return np.array([[self._coef(e[i] + e[j]) * (2.0 if i == j else 1.0) for j in range(self.r)]
                         for i in range(self.r)])

    def information_exponent(self) -> int | None:
        """Smallest total degree k >= 1 with a nonzero term (None for a constant target)."""
        degrees = [sum(n) for n, c in self._combined().items() if c != 0 and sum(n) > 0]
        return min(degrees) if degrees else None

    def leap(self) -> int:
        """Leap index in the coordinate basis of z (Abbe, Boix-Adsera, Misiakiewicz 2023):
        min over orders of the nonconstant terms of the largest total degree, in coordinates not
        yet reached, that one term needs.  Exhaustive over orders (terms <= 8)."""
        terms = [n for n, c in self._combined().items() if c != 0 and sum(n) > 0]
        if len(terms) > 8:
            raise ValueError("leap: at most 8 distinct terms")
        best = 0 if not terms else math.inf
        for order in itertools.permutations(terms):
            reached: set[int] = set()
            worst = 0
            for n in order:
                worst = max(worst, sum(v for k, v in enumerate(n) if k not in reached))
                reached |= {k for k, v in enumerate(n) if v > 0}
            best = min(best, worst)
        return int(best)


def _target(terms: list[tuple[float, tuple[int, ...]]]) -> Target:
    return Target(np.array([c for c, _ in terms], dtype=float),
                  np.array([n for _, n in terms], dtype=np.int64))


def parse_g_star(text: str) -> Target:
    """Target from ``"coef:n1,...,nr; coef:n1,...,nr"`` (ParameterError naming g_star if bad)."""
    terms = []
    try:
        for item in filter(None, (s.strip() for s in text.split(";"))):
            coef, degree = item.split(":")
            n = tuple(int(v) for v in degree.split(","))
            if any(v < 0 for v in n):
                raise ValueError
            terms.append((float(coef), n))
        if not terms or len({len(n) for _, n in terms}) != 1 or not all(math.isfinite(c) for c, _ in terms):
            raise ValueError
    except ValueError:
        raise ParameterError(f"parameter 'g_star' must be terms 'coef:n1,...,nr' separated by ';' with "
                             f"the same r >= 1 and degrees >= 0, e.g. '1:1,0;1:1,1' (got {text!r})") from None
    return _target(terms)


def make_target(name: str, g_star: str | None = None) -> Target:
    """A named target of the module docstring, or ``hermite`` from ``g_star``."""
    if name == "z1+z1z2":
        return _target([(1.0, (1, 0)), (1.0, (1, 1))])
    if name == "he2":
        return _target([(1.0, (2,))])
    if name == "notebook":
        h = ((1.0, (1, 0)), (0.5, (2, 0)), (1 / 24, (4, 0)))      # h(z1); reversed degrees: h(z2)
        return _target([(c / 2, n) for c, n in h] + [(c / 2, n[::-1]) for c, n in h])
    if name == "staircase-1":
        return _target([(0.5, (0, 0)), (2.0, (1, 0)), (0.5, (2, 0)), (0.5, (0, 1))])
    if name == "staircase-2":
        return _target([(0.5, (1, 0)), (0.5, (2, 0)), (0.5, (0, 1)), (-0.5, (0, 2))])
    if name == "hermite":
        if not g_star:
            raise ParameterError("target=hermite needs parameter 'g_star' (e.g. g_star='1:1,0;1:1,1')")
        return parse_g_star(g_star)
    raise ParameterError(f"parameter 'target' must be one of {'|'.join(TARGETS)} (got {name!r})")
