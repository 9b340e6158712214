"""Spectrum of a dot-product kernel K(x, x') = h(<x, x'>/d) on the sphere S^{d-1}(sqrt d)
(kernel.md section 2).

  h(u) = sum_l xi_{d,l} B(d,l) P_l(u),   P_l = C_l^{(a)} / C_l^{(a)}(1),  a = (d - 2)/2,
  B(d,l) = (2l + d - 2) (l + d - 3)! / (l! (d - 2)!)  (B(d,0) = 1),

so xi_{d,l} is the eigenvalue of the integral operator on degree-l harmonics and
mass_l = xi_{d,l} B(d,l) its share of h(1) = sum_l mass_l.  Three independent routes:

* ``taylor_mass``: from h(u) = sum_k h_k u^k, with j = (k - l)/2 and (a)_m the rising factorial,
    mass_l = C_l^{(a)}(1) sum_{k >= l, k - l even} h_k k!/2^k (l + a)/(j! (a)_{k-j+1}),
  all terms >= 0 for h_k >= 0 (no cancellation), evaluated with log-gamma (any d, any l);
* ``bessel_mass`` (h = exp): mass_l = Gamma(a) 2^a (l + a) I_{l+a}(1) C_l^{(a)}(1);
* ``quadrature_xi``: xi_{d,l} = E_u[h(u) P_l(u)], u with density ~ (1 - u^2)^{(d-3)/2}
  (Gauss-Jacobi); cancels catastrophically once xi << h, so only for small l.

A kernel is the Taylor series of h (``exp``: h_k = 1/k!; ``poly``: given coefficients) plus
optional Gegenbauer terms c P_l(u) (``boosts``), which change mass_l by exactly c and nothing
else (section 5.6, the two-kernel example).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

EXP_TERMS = 80          # Taylor terms of exp kept beyond degree l (1/k! 2^-k: far below round-off)
TAIL_TOL = 1e-15        # the spectrum stops at the first l_max with sum_{l > l_max} mass_l <= TAIL_TOL h(1)
MAX_DEGREE = 60


def multiplicity(d: int, l) -> np.ndarray:
    """B(d, l): dimension of the degree-l spherical harmonics in d dimensions (float)."""
    l = np.asarray(l, dtype=float)
    with np.errstate(divide="ignore"):
        log_b = (np.log(2 * l + d - 2) + special.gammaln(l + d - 2) - special.gammaln(l + 1)
                 - special.gammaln(d - 1))
    return np.where(l == 0, 1.0, np.exp(log_b))


def _log_gegenbauer_at_one(d: int, l) -> np.ndarray:
    """log C_l^{(a)}(1) = log Gamma(l + 2a) - log l! - log Gamma(2a)."""
    a = (d - 2) / 2
    return special.gammaln(l + 2 * a) - special.gammaln(l + 1) - special.gammaln(2 * a)


def gegenbauer(d: int, l: int, u) -> np.ndarray:
    """P_l(u) = C_l^{(a)}(u) / C_l^{(a)}(1), the Legendre polynomial of dimension d (P_l(1) = 1)."""
    a = (d - 2) / 2
    return special.eval_gegenbauer(l, a, u) / special.eval_gegenbauer(l, a, 1.0)


def taylor_mass(d: int, coefficients, degrees) -> np.ndarray:
    """mass_l = xi_{d,l} B(d,l) of h(u) = sum_k coefficients[k] u^k (coefficients >= 0)."""
    a = (d - 2) / 2
    h = np.asarray(coefficients, dtype=float)
    k = np.arange(len(h))
    out = []
    for l in np.atleast_1d(degrees):
        pick = (k >= l) & ((k - l) % 2 == 0) & (h > 0)
        kk = k[pick]
        j = (kk - l) // 2
        log_terms = (np.log(h[pick]) + special.gammaln(kk + 1) - kk * np.log(2) + np.log(l + a)
                     - special.gammaln(j + 1) - special.gammaln(a + kk - j + 1) + special.gammaln(a))
        out.append(np.exp(special.logsumexp(log_terms) + _log_gegenbauer_at_one(d, l)) if len(kk) else 0.0)
    return np.array(out)


def exp_coefficients(max_degree: int) -> np.ndarray:
    """Taylor coefficients 1/k! of exp up to degree max_degree + EXP_TERMS."""
    return 1.0 / special.factorial(np.arange(max_degree + EXP_TERMS + 1))


def bessel_mass(d: int, degrees) -> np.ndarray:
    """mass_l of h = exp from the Bessel closed form (exponentially scaled I; refuses underflow)."""
    a = (d - 2) / 2
    l = np.atleast_1d(np.asarray(degrees, dtype=float))
    bessel = special.ive(l + a, 1.0)
    if np.any(bessel < 1e-290):
        raise ValueError(f"I_(l+a)(1) underflows at d={d}, l={int(l.max())}: use taylor_mass")
    log_mass = (special.gammaln(a) + a * np.log(2) + np.log(l + a) + np.log(bessel) + 1.0
                + _log_gegenbauer_at_one(d, l))
    return np.exp(log_mass)


def quadrature_xi(d: int, h, degrees, nodes: int = 200) -> np.ndarray:
    """xi_{d,l} = E_u[h(u) P_l(u)] by Gauss-Jacobi quadrature with weight (1 - u^2)^((d-3)/2)."""
    u, w = special.roots_jacobi(nodes, (d - 3) / 2, (d - 3) / 2)
    w = w / w.sum()
    return np.array([np.sum(w * h(u) * gegenbauer(d, int(l), u)) for l in np.atleast_1d(degrees)])


@dataclass(frozen=True)
class Kernel:
    """h(u) = sum_k h_k u^k + sum_{(l, c) in boosts} c P_l(u).

    ``name`` is ``exp`` (h_k = 1/k!) or ``poly`` (h_k = ``coefficients``, all >= 0)."""

    name: str = "exp"
    coefficients: tuple[float, ...] | None = None
    boosts: tuple[tuple[int, float], ...] = ()

    def h(self, u, d: int) -> np.ndarray:
        """h(u) (the Gegenbauer boosts depend on d)."""
        u = np.asarray(u, dtype=float)
        out = np.exp(u) if self.name == "exp" else np.polynomial.polynomial.polyval(u, self.coefficients)
        for l, c in self.boosts:
            out = out + c * gegenbauer(d, l, u)
        return out

    def taylor(self, max_degree: int) -> np.ndarray:
        """Taylor coefficients h_k (exp: enough of them for degrees <= max_degree)."""
        if self.name == "exp":
            return exp_coefficients(max_degree)
        return np.asarray(self.coefficients, dtype=float)

    def polynomial_degree(self) -> int | None:
        """Degree of h if it is a polynomial (poly), None for exp."""
        if self.name == "exp":
            return None
        nonzero = np.flatnonzero(np.asarray(self.coefficients) != 0)
        return int(max([nonzero[-1] if len(nonzero) else 0] + [l for l, _ in self.boosts]))

    def mass(self, d: int, degrees) -> np.ndarray:
        """xi_{d,l} B(d,l) for each l in degrees."""
        degrees = np.atleast_1d(degrees)
        out = taylor_mass(d, self.taylor(int(degrees.max())), degrees)
        for l, c in self.boosts:
            out[degrees == l] += c
        return out


@dataclass(frozen=True)
class Spectrum:
    """Degrees l = 0..l_max of ``kernel`` at dimension d: xi, B, mass = xi B and h(1).

    l_max: the polynomial degree of h, or (exp) the first l with a tail sum_{l' > l} mass_l' below
    TAIL_TOL h(1)."""

    d: int
    kernel: Kernel

    @property
    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        top = self.kernel.polynomial_degree()
        degrees = np.arange((MAX_DEGREE if top is None else top) + 1)
        return degrees, self.kernel.mass(self.d, degrees)

    @property
    def h1(self) -> float:
        """h(1) = K(x, x)."""
        return float(self.kernel.h(1.0, self.d))

    @property
    def degrees(self) -> np.ndarray:
        degrees, mass = self._all
        if self.kernel.polynomial_degree() is not None:
            return degrees
        tail = np.cumsum(mass[::-1])[::-1]          # tail[l] = sum_{l' >= l} mass
        small = np.flatnonzero(tail[1:] <= TAIL_TOL * tail[0])
        return degrees[: (small[0] if len(small) else len(degrees) - 1) + 1]

    @property
    def mass(self) -> np.ndarray:
        return self.kernel.mass(self.d, self.degrees)

    @property
    def multiplicity(self) -> np.ndarray:
        return multiplicity(self.d, self.degrees)

    @property
    def xi(self) -> np.ndarray:
        return self.mass / self.multiplicity

    def mass_above(self, L: int) -> float:
        """h_{>L} = sum_{l > L} xi_{d,l} B(d,l), the effective ridge n times (section 5.1)."""
        degrees, mass = self._all
        return float(mass[degrees > L].sum())
