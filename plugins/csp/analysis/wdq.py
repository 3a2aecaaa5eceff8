"""Weighted Displacement Quotient (WDQ) and Total Net Effect (TNE) of a place-based response.

Method
------
Bowers, K.J. and Johnson, S.D. (2003) 'Measuring the geographical displacement and diffusion of
benefit effects of crime prevention activity', J. Quantitative Criminology 19(3), 275-301; the
formulas as set out in Guerette, R.T. (2009) *Analyzing Crime Displacement and Diffusion*,
POP Center Problem-Solving Tool Guide 10, Appendices B and C. With A the treatment (response)
area, B the buffer (displacement) area and C the control (comparison) area, before/after::

    success measure   = A_after/C_after - A_before/C_before     (< 0: A fell relative to C)
    buffer measure    = B_after/C_after - B_before/C_before     (> 0: displacement, < 0: diffusion)
    WDQ               = buffer measure / success measure
    gross effect      = A_before - A_after
    net effect        = A_before/C_before - A_after/C_after
    total net effect  = [A_before (C_after/C_before) - A_after] + [B_before (C_after/C_before) - B_after]

TNE is the crimes prevented in A, plus those prevented (diffusion, positive) or added
(displacement, negative) in B, each against what the control's trend predicts; positive means
fewer crimes overall. Guerette writes the buffer term with a plus sign: a fall in B relative to
C is a benefit, so adding it is right (a minus would count diffusion as harm).

Intervals. Each of the six counts varies by chance (Poisson) and, for area totals a year
apart, beyond it (NB2 dispersion ``kappa``, the change tests' estimate for the force area):
a parametric bootstrap draws every count from the gamma-Poisson of its observed value
(``draws`` times, seeded), recomputes every measure, and reports the central 95 % interval
of the success measure, buffer measure, WDQ and total net effect (``*_low``, ``*_high``;
Efron and Tibshirani 1993, *An Introduction to the Bootstrap*, 13.3).

Labels (Bowers and Johnson 2003: displacement can only be attributed to a response that
worked, so the success measure is read first), each only when its interval excludes the
neutral value:

* success interval not wholly below 0: ``no clear effect`` (no clear reduction in A relative
  to C; WDQ not interpretable);
* buffer interval wholly above 0: ``displacement``; wholly below 0: ``diffusion of benefits``;
  otherwise ``no clear evidence either way``;
* ``detail``: with displacement, ``displacement outweighed the direct benefit`` only when the
  total net effect's interval is wholly below 0, ``net benefit: displacement smaller than the
  direct benefit`` when wholly above, else the net effect is unclear; with diffusion,
  ``diffusion of benefits larger than the direct benefit`` when the WDQ interval is wholly
  above 1.

A zero count in the control area makes the ratios undefined: those rows get NaN and the label
``undefined: zero control count``. Inputs may be scalars or equal-length arrays (one row each).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


DRAWS = 4999
SEED = 0
LEVEL = 0.95


def _measures(ab, aa, bb, ba, cb, ca):
    with np.errstate(divide="ignore", invalid="ignore"):
        success = aa / ca - ab / cb
        buffer = ba / ca - bb / cb
        wdq = np.where(success == 0, np.nan, buffer / success)
        ratio = ca / cb
        tne = (ab * ratio - aa) + (bb * ratio - ba)
    return success, buffer, wdq, tne


def _draw(rng, counts: np.ndarray, kappa: float, draws: int) -> np.ndarray:
    """(rows, draws) counts from the gamma-Poisson of mean ``counts`` and dispersion kappa."""
    mean = np.repeat(counts[:, None], draws, axis=1)
    if kappa > 0:
        mean = rng.gamma(1 / kappa, mean * kappa)
    return rng.poisson(mean).astype(float)


def weighted_displacement(
    a_before, a_after, b_before, b_after, c_before, c_after, *, kappa: float = 0.0,
    draws: int = DRAWS, seed: int = SEED, level: float = LEVEL,
) -> pd.DataFrame:
    """One row per input: the measures above, wdq, total_net_effect, their intervals, label,
    detail."""
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in
                                 (a_before, a_after, b_before, b_after, c_before, c_after)))
    ab, aa, bb, ba, cb, ca = arrs
    if any(np.any(v < 0) for v in arrs):
        raise ValueError("counts must be non-negative")
    undefined = (cb == 0) | (ca == 0)
    success, buffer, wdq, tne = _measures(ab, aa, bb, ba, cb, ca)
    with np.errstate(divide="ignore", invalid="ignore"):
        net = ab / cb - aa / ca
    rng = np.random.default_rng(seed)
    sims = [_draw(rng, v, kappa, draws) for v in arrs]
    sims[4] = np.maximum(sims[4], 1.0)  # a drawn zero control would make a ratio undefined
    sims[5] = np.maximum(sims[5], 1.0)
    s_success, s_buffer, s_wdq, s_tne = _measures(*sims)
    tail = 100 * (1 - level) / 2

    def interval(values):
        with np.errstate(invalid="ignore"):
            lo, hi = np.nanpercentile(values, [tail, 100 - tail], axis=1)
        return np.where(undefined, np.nan, lo), np.where(undefined, np.nan, hi)

    (sl, sh), (bl, bh), (wl, wh), (tl, th) = (interval(v) for v in (s_success, s_buffer, s_wdq, s_tne))
    worked = ~undefined & (sh < 0)
    label = np.select(
        [undefined, ~worked, bl > 0, bh < 0],
        ["undefined: zero control count", "no clear effect", "displacement", "diffusion of benefits"],
        "no clear evidence either way",
    )
    displacement, diffusion = label == "displacement", label == "diffusion of benefits"
    detail = np.select(
        [undefined, ~worked, displacement & (th < 0), displacement & (tl > 0), displacement,
         diffusion & (wl > 1), diffusion],
        ["", "no clear reduction in the treatment area relative to the control",
         "displacement outweighed the direct benefit",
         "net benefit: displacement smaller than the direct benefit",
         "displacement; whether it outweighed the direct benefit is unclear",
         "diffusion of benefits larger than the direct benefit", "diffusion of benefits"],
        "no clear displacement or diffusion",
    )
    nan_if = lambda v: np.where(undefined, np.nan, v)  # noqa: E731
    return pd.DataFrame({
        "success_measure": nan_if(success), "buffer_measure": nan_if(buffer), "wdq": nan_if(wdq),
        "gross_effect": ab - aa, "net_effect": nan_if(net), "total_net_effect": nan_if(tne),
        "label": label, "detail": detail,
        "success_low": sl, "success_high": sh, "buffer_low": bl, "buffer_high": bh,
        "wdq_low": wl, "wdq_high": wh, "total_net_effect_low": tl, "total_net_effect_high": th,
        "dispersion": kappa, "draws": draws,
    })
