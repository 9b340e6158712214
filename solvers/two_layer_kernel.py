"""Numba kernels of the two-layer Gaussian DMFT (two_layer.md §3) for ``dmft.history``.

Neurons come in K *classes* of exchangeable neurons with multiplicities n_c (sum m): K = 1
is SymmDMFT (§3.8), K = m with n_c = 1 the general-m DMFT (§3.4).  Two-time fields, for t >= t':

  Cs_c(t,t') = C_ii,  Rs_c = R_ii        (i in class c; "same neuron")
  Cx_cd(t,t') = C_ij, Rx_cd = R_ij       (i in c, j in d, i != j)
  rho(t,t')  = R_A(t,t') - delta(t-t')   (regular part of the sample-side resolvent; algebraic)
  C_A(t,t')                              (algebraic)

with one-time state Y = (a_c, v_c) (k = 1 latent direction).  Every sum over neurons l of §3.4
becomes a list of *terms* (l = i, l = j, l another neuron of class e with multiplicity
n_e - [e = c] - [e = d]); ``terms`` below builds these lists once.  The delta parts of R_A (and
so of M^R) are applied as local terms; the remaining integrals use the cell quadrature of
dmft.history (a slow factor linear on each cell times the cell integrals of a stored field).
The sample side solves, row by row, the Volterra equations (C.19) with R_A = delta + rho:

  rho(t,t') = -Sigma_R(t,t') - int_t'^t Sigma_R(t,s) rho(s,t') ds
  C_A(t,t') = -Sigma_C(t,t') - int_0^t' Sigma_C(t,s) rho(t',s) ds - int_0^t Sigma_R(t,s) C_A(s,t') ds

(the newest cell, which holds the unknown itself, is solved for implicitly).

Parameter vector P = [alpha_bar, m, tau^2, ||phi||^2, train_a, K, n_1..n_K, NH, h_1..h_NH,
NF, phihat_1..phihat_NF]; h(q) = sum_j h_j q^j, phihat(v) = sum_j phihat_j v^j.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from dmft.history import linear_cells

FAST = {"reassoc", "contract"}


def field_index(K: int) -> dict:
    """Offsets of the field groups: Cs, Cx, Rs, Rx (Cx/Rx as c*K + d), rho, C_A; and the count."""
    return {"Cs": 0, "Cx": K, "Rs": K + K * K, "Rx": 2 * K + K * K,
            "rho": 2 * K + 2 * K * K, "CA": 2 * K + 2 * K * K + 1, "count": 2 * K + 2 * K * K + 2}


def pack(alpha_bar, m, tau, phi_norm2, train_a, counts, h, phihat) -> np.ndarray:
    K = len(counts)
    return np.concatenate([[alpha_bar, m, tau ** 2, phi_norm2, 1.0 if train_a else 0.0, K],
                           counts, [len(h)], h, [len(phihat)], phihat]).astype(float)


def terms(counts) -> tuple[np.ndarray, ...]:
    """Targets (pairs of neurons i in class c, j in class d) and, per target, the terms of
    sum_l X_il(t,s) Y_lj(s,t').

    targets[q] = (c, d, same, C field, R field, first term, end term); a term is
    (g, C_lj, C_jl, R_lj, R_jl, weight) where g indexes the kernel pair (i,l) laid out like the
    C fields (same neuron: c; else K + c*K + e) and the others are field indices."""
    K = len(counts)
    fi = field_index(K)

    def pair(c, e, same, group):      # field of the pair (neuron in c, neuron in e)
        return fi[group + "s"] + c if same else fi[group + "x"] + c * K + e

    targets, rows = [], []
    for c in range(K):
        for d in range(K):
            for same in ((True, False) if c == d else (False,)):
                if not same and c == d and counts[c] < 2:
                    continue
                first = len(rows)
                # l = i
                rows.append((pair(c, c, True, "C"), pair(c, d, same, "C"), pair(d, c, same, "C"),
                             pair(c, d, same, "R"), pair(d, c, same, "R"), 1.0))
                if not same:   # l = j
                    rows.append((pair(c, d, False, "C"), pair(d, d, True, "C"), pair(d, d, True, "C"),
                                 pair(d, d, True, "R"), pair(d, d, True, "R"), 1.0))
                for e in range(K):   # l any other neuron, of class e
                    w = counts[e] - (e == c) - ((e == d) and not same)
                    if w > 0:
                        rows.append((pair(c, e, False, "C"), pair(e, d, False, "C"), pair(d, e, False, "C"),
                                     pair(e, d, False, "R"), pair(d, e, False, "R"), float(w)))
                targets.append((c, d, int(same), pair(c, d, same, "C"), pair(c, d, same, "R"), first, len(rows)))
    table = np.array(rows)
    return (np.array(targets, dtype=np.int64), table[:, :5].astype(np.int64), table[:, 5].copy())


@njit(cache=True, inline="always")
def _poly(coef, q):
    """p(q), p'(q), p''(q) for p(q) = sum_{j>=1} coef[j-1] q^j."""
    p0 = 0.0
    p1 = 0.0
    p2 = 0.0
    q_j1 = 1.0   # q^(j-1)
    q_j2 = 0.0   # q^(j-2) (unused at j = 1)
    for j in range(1, len(coef) + 1):
        c = coef[j - 1]
        p0 += c * q_j1 * q
        p1 += j * c * q_j1
        p2 += j * (j - 1) * c * q_j2
        q_j2 = q_j1
        q_j1 *= q
    return p0, p1, p2


@njit(cache=True)
def _unpack(P):
    K = int(P[5])
    counts = P[6:6 + K]
    nh = int(P[6 + K])
    h = P[7 + K:7 + K + nh]
    nf = int(P[7 + K + nh])
    ph = P[8 + K + nh:8 + K + nh + nf]
    return P[0], P[1], P[2], P[3], P[4] > 0.5, K, counts, h, ph


@njit(cache=True, inline="always")
def _lin(ga, gb, xa, xb, w):
    """int over a cell of width w of g(s) x(s), both linear: w/6 (2 ga xa + ga xb + gb xa + 2 gb xb)."""
    return w / 6.0 * (2.0 * ga * xa + ga * xb + gb * xa + 2.0 * gb * xb)


@njit(cache=True)
def sigma_rows(r, X, Y, P, sig_c, sig_r, start=0):
    """Sigma_C(t, s) and Sigma_R(t, s) (C.20) for t = tau_r and s = tau_start..tau_r (s = t: the
    limit s -> t-, R_ii(t, t-) = 1)."""
    ab, m, tau2, phi2, train_a, K, counts, h, ph = _unpack(P)
    pt = 0.0
    for c in range(K):
        pt += counts[c] * Y[r, c] * _poly(ph, Y[r, K + c])[0] / m
    for s in range(start, r + 1):
        ps = 0.0
        for c in range(K):
            ps += counts[c] * Y[s, c] * _poly(ph, Y[s, K + c])[0] / m
        acc_c = 0.0
        acc_r = 0.0
        for c in range(K):
            aa = counts[c] * Y[r, c] * Y[s, c]
            h0, h1, _ = _poly(h, X[c, r, s])
            acc_c += aa * h0
            acc_r += aa * h1 * X[K + K * K + c, r, s]
            for e in range(K):
                w = counts[c] * (counts[e] - (1.0 if e == c else 0.0))
                if w > 0:
                    aa = w * Y[r, c] * Y[s, e]
                    h0, h1, _ = _poly(h, X[K + c * K + e, r, s])
                    acc_c += aa * h0
                    acc_r += aa * h1 * X[2 * K + K * K + c * K + e, r, s]
        sig_c[s] = tau2 + phi2 - pt - ps + acc_c / (m * m)
        sig_r[s] = acc_r / (m * m)


@njit(cache=True, fastmath=FAST)
def complete(r, tau, X, H, VT, Y, P):
    """Row r of rho and C_A (the algebraic fields) from the other fields' row r and earlier rows."""
    K = int(P[5])
    RHO = 2 * K + 2 * K * K
    CA = RHO + 1
    sc = np.empty(r + 1)
    sr = np.empty(r + 1)
    sigma_rows(r, X, Y, P, sc, sr)
    rbar, rsl = linear_cells(sr, tau, r)
    cbar, csl = linear_cells(sc, tau, r)
    X[RHO, r, r] = -sr[r]
    if r == 0:
        X[CA, 0, 0] = -sc[0]
        return
    w = tau[r] - tau[r - 1]
    ga = sr[r - 1]
    gb = sr[r]
    implicit = 1.0 + w / 6.0 * (ga + 2.0 * gb)     # coefficient of the unknown in the newest cell
    for b in range(r):
        acc = 0.0
        for k in range(b, r - 1):
            acc += rbar[k] * VT[0, RHO, b, k] + rsl[k] * VT[1, RHO, b, k]
        xa = X[RHO, r - 1, b]
        X[RHO, r, b] = (-sr[b] - acc - w / 6.0 * (2.0 * ga + gb) * xa) / implicit
    for b in range(r):
        acc = sc[b]
        for k in range(b):
            acc += cbar[k] * H[0, RHO, b, k] + csl[k] * H[1, RHO, b, k]
            acc += rbar[k] * H[0, CA, b, k] + rsl[k] * H[1, CA, b, k]
        for k in range(b, r - 1):
            acc += rbar[k] * VT[0, CA, b, k] + rsl[k] * VT[1, CA, b, k]
        xa = X[CA, r - 1, b]
        X[CA, r, b] = (-acc - w / 6.0 * (2.0 * ga + gb) * xa) / implicit
    acc = sc[r]
    for k in range(r):
        wk = tau[k + 1] - tau[k]
        acc += _lin(sc[k], sc[k + 1], X[RHO, r, k], X[RHO, r, k + 1], wk)
        if k < r - 1:
            acc += _lin(sr[k], sr[k + 1], X[CA, r, k], X[CA, r, k + 1], wk)
    xa = X[CA, r, r - 1]
    X[CA, r, r] = (-acc - w / 6.0 * (2.0 * ga + gb) * xa) / implicit


@njit(cache=True, fastmath=FAST)
def rates(r, tau, X, H, VT, Y, P, out, out_diag, out_state, scalars, targets, tl, tw):
    """Right-hand sides of (C.7)-(C.10) at t = tau_r for every kept t' = tau_b, b <= r, the
    diagonal rates of Cx (C.6), da/dt and dv/dt; scalars = (e_tr, e_ts, Rbar_A, fast rate,
    nu_1..nu_K)."""
    ab, m, tau2, phi2, train_a, K, counts, h, ph = _unpack(P)
    RHO = 2 * K + 2 * K * K
    CA = RHO + 1
    ng = K + K * K
    # kernels M^R, M^C (regular parts) of every pair (i in c, l) on the row, and delta parts D
    MR = np.zeros((ng, r + 1))
    MC = np.zeros((ng, r + 1))
    D = np.zeros(ng)
    for c in range(K):
        for g_off in range(K + 1):
            if g_off == 0:
                g, e, cf, rf = c, c, c, K + K * K + c
            else:
                e = g_off - 1
                g = K + c * K + e
                cf, rf = g, 2 * K + K * K + c * K + e
            pre_t = ab / m * Y[r, c]
            for s in range(r + 1):
                _, h1, h2 = _poly(h, X[cf, r, s])
                pre = pre_t * Y[s, e]
                MR[g, s] = pre * (X[RHO, r, s] * h1 + X[CA, r, s] * h2 * X[rf, r, s])
                MC[g, s] = pre * X[CA, r, s] * h1
            D[g] = pre_t * Y[r, e] * _poly(h, X[cf, r, r])[1]
    n = max(r, 1)
    mr_bar = np.zeros((ng, n))
    mr_sl = np.zeros((ng, n))
    mc_bar = np.zeros((ng, n))
    mc_sl = np.zeros((ng, n))
    for g in range(ng):
        mr_bar[g], mr_sl[g] = linear_cells(MR[g], tau, r)
        mc_bar[g], mc_sl[g] = linear_cells(MC[g], tau, r)
    rbar_a = 1.0
    for k in range(r):
        rbar_a += H[0, RHO, r, k]
    # C and R equations without the -nu X terms
    nt = targets.shape[0]
    fc = np.zeros((nt, r + 1))
    fr = np.zeros((nt, r + 1))
    for q in range(nt):
        c = targets[q, 0]
        d = targets[q, 1]
        source = ab / m * Y[r, c] * _poly(ph, Y[r, K + c])[1] * rbar_a
        for b in range(r + 1):
            acc_c = source * Y[b, K + d]
            acc_r = 0.0
            for u in range(targets[q, 5], targets[q, 6]):
                g = tl[u, 0]
                c_lj = tl[u, 1]
                c_jl = tl[u, 2]
                r_lj = tl[u, 3]
                r_jl = tl[u, 4]
                mem_c = D[g] * X[c_lj, r, b]
                mem_r = D[g] * X[r_lj, r, b]
                for k in range(b):
                    mem_c += mr_bar[g, k] * H[0, c_jl, b, k] + mr_sl[g, k] * H[1, c_jl, b, k]
                    mem_c += mc_bar[g, k] * H[0, r_jl, b, k] + mc_sl[g, k] * H[1, r_jl, b, k]
                for k in range(b, r):
                    mem_c += mr_bar[g, k] * VT[0, c_lj, b, k] + mr_sl[g, k] * VT[1, c_lj, b, k]
                    mem_r += mr_bar[g, k] * VT[0, r_lj, b, k] + mr_sl[g, k] * VT[1, r_lj, b, k]
                acc_c -= tw[u] * mem_c / m
                acc_r -= tw[u] * mem_r / m
            fc[q, b] = acc_c
            fr[q, b] = acc_r
    nu = np.zeros(K)
    for q in range(nt):
        if targets[q, 2] == 1:
            nu[targets[q, 0]] = fc[q, r]       # C_ii(t, t) = 1 stays 1
    for q in range(nt):
        c = targets[q, 0]
        for b in range(r + 1):
            out[targets[q, 3], b] = fc[q, b] - nu[c] * X[targets[q, 3], r, b]
            out[targets[q, 4], b] = fr[q, b] - nu[c] * X[targets[q, 4], r, b]
    out_diag[:] = 0.0
    for q in range(nt):
        if targets[q, 2] == 0:
            c = targets[q, 0]
            d = targets[q, 1]
            out_diag[targets[q, 3]] = out[targets[q, 3], r] + out[K + d * K + c, r]
    # second layer and latent overlap (C.7), (C.8)
    for c in range(K):
        phv, dphv, _ = _poly(ph, Y[r, K + c])
        da = ab / m * phv * rbar_a
        dv = -nu[c] * Y[r, K + c] + ab / m * Y[r, c] * dphv * rbar_a
        for g_off in range(K + 1):
            if g_off == 0:
                e, cf, rf, wgt, g = c, c, K + K * K + c, 1.0, c
            else:
                e = g_off - 1
                cf = K + c * K + e
                rf = 2 * K + K * K + c * K + e
                wgt = counts[e] - (1.0 if e == c else 0.0)
                g = cf
            if wgt <= 0:
                continue
            h0, _, _ = _poly(h, X[cf, r, r])
            mem_a = Y[r, e] * h0
            mem_v = D[g] * Y[r, K + e]
            for k in range(r):
                wk = tau[k + 1] - tau[k]
                g0a = Y[k, e] * _poly(h, X[cf, r, k])[0]
                g0b = Y[k + 1, e] * _poly(h, X[cf, r, k + 1])[0]
                g1a = Y[k, e] * _poly(h, X[cf, r, k])[1] * X[rf, r, k]
                g1b = Y[k + 1, e] * _poly(h, X[cf, r, k + 1])[1] * X[rf, r, k + 1]
                mem_a += 0.5 * (g0a + g0b) * H[0, RHO, r, k] + (g0b - g0a) / wk * H[1, RHO, r, k]
                mem_a += 0.5 * (g1a + g1b) * H[0, CA, r, k] + (g1b - g1a) / wk * H[1, CA, r, k]
                mem_v += _lin(MR[g, k], MR[g, k + 1], Y[k, K + e], Y[k + 1, K + e], wk)
            da -= wgt * ab / (m * m) * mem_a
            dv -= wgt * mem_v / m
        out_state[c] = da if train_a else 0.0
        out_state[K + c] = dv
    sc = np.empty(r + 1)
    sr = np.empty(r + 1)
    sigma_rows(r, X, Y, P, sc, sr, r)     # only Sigma_C(t, t) (the test error) is needed here
    fast = 0.0
    for c in range(K):
        fast = max(fast, ab / m * Y[r, c] ** 2 * (h[0] if len(h) > 0 else 0.0))
    scalars[0] = -0.5 * X[CA, r, r]
    scalars[1] = 0.5 * sc[r]
    scalars[2] = rbar_a
    scalars[3] = fast
    for c in range(K):
        scalars[4 + c] = nu[c]
