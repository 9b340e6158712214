"""The d -> infinity three-stage description of kernel gradient flow (kernel.md section 5):
time scales, plateau levels and a text summary.  Asymptotic and qualitative: the finite-n
curves are those of the Laplace DMFT (section 5.7).

  kappa = log n / log d,  L = floor(kappa),  h_{>L} = sum_{l > L} xi_{d,l} B(d,l),
  tau_l = 1/xi_{d,l} (degree l learned),  tau_int = n / h_{>L} (empirical train error -> 0),
  plateau_l = sigma2 + sum_{l' > l} |P_(l') f*|^2 (test error once degrees <= l are learned),
  stage 1: t << tau_int (train ~ test ~ oracle),  stage 2: tau_int << t << tau_{L+1}
  (train -> 0, test ~ oracle ~ plateau_L: the deep bootstrap),  stage 3: t >> tau_{L+1}
  (empirical test frozen near plateau_L, oracle -> sigma2 + the part of f* the kernel cannot learn).
"""
from __future__ import annotations

import numpy as np


def diagnostics(spectrum, n: int, target, sigma2: float) -> dict:
    """Scalars: kappa, L, h_gt_L, tau_int, tau_<l> (l = 1..max(L+1, target degrees)),
    plateau_<l> (l = 0..len(target)) and the ordering flag tau_L < tau_int < tau_{L+1}."""
    d = spectrum.d
    kappa = np.log(n) / np.log(d)
    L = int(np.floor(kappa))
    xi = spectrum.xi
    out = {"kappa": float(kappa), "L": L, "h_gt_L": spectrum.mass_above(L)}
    out["tau_int"] = n / out["h_gt_L"] if out["h_gt_L"] > 0 else np.inf
    for l in range(1, max(L + 1, len(target)) + 1):
        out[f"tau_{l}"] = float(1 / xi[l]) if l < len(xi) and xi[l] > 0 else np.inf
    powers = np.asarray(target, dtype=float)
    for l in range(len(powers) + 1):
        out[f"plateau_{l}"] = float(sigma2 + powers[l:].sum())
    low = out[f"tau_{L}"] if L >= 1 else 0.0
    out["separated"] = bool(low < out["tau_int"] < out[f"tau_{L + 1}"])
    return out


def describe(diag: dict, target) -> str:
    """The three stages in words, with the numbers of ``diag`` (printed by ``dmft show``)."""
    L = diag["L"]
    frozen = diag[f"plateau_{min(L, len(target))}"]
    learn = ", ".join(f"l={l}: t~{diag[f'tau_{l}']:.3g}" for l in range(1, len(target) + 1))
    lines = [
        f"kappa = log n/log d = {diag['kappa']:.3f}, L = {L}; h_>L = {diag['h_gt_L']:.4g}",
        f"degree learned (tau_l = 1/xi_l): {learn}",
        f"stage 1  t << tau_int = n/h_>L = {diag['tau_int']:.3g}: train ~ test ~ oracle, "
        "staircase through " + ", ".join(f"{diag[f'plateau_{l}']:.4g}" for l in range(len(target) + 1)),
        f"stage 2  {diag['tau_int']:.3g} << t << tau_{L + 1} = {diag[f'tau_{L + 1}']:.3g}: train -> 0, "
        f"test ~ oracle ~ {frozen:.4g} (deep bootstrap)",
        f"stage 3  t >> {diag[f'tau_{L + 1}']:.3g}: empirical test frozen near {frozen:.4g} "
        f"(+ variance O(sum_(l<=L) B(d,l)/n)), oracle -> {diag[f'plateau_{len(target)}']:.4g}",
    ]
    if not diag["separated"]:
        lines.append("note: tau_L < tau_int < tau_(L+1) does not hold at this (d, n): stages overlap")
    return "\n  " + "\n  ".join(lines)
