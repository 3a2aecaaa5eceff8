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

Interpretation (Bowers and Johnson 2003: displacement can only be attributed to a response that
worked, so the success measure is read first):

* success measure >= 0: ``no effect`` (no reduction in A relative to C; WDQ not interpretable);
* WDQ < 0: ``displacement`` (WDQ <= -1: the displacement outweighed the direct benefit);
* WDQ > 0: ``diffusion of benefits`` (WDQ >= 1: the diffusion exceeded the direct benefit);
* WDQ == 0: ``no displacement or diffusion``.

A zero count in the control area makes the ratios undefined: those rows get NaN and the label
``undefined: zero control count``. Inputs may be scalars or equal-length arrays (one row each).
"""
from __future__ import annotations

import numpy as np
import pandas as pd


def weighted_displacement(
    a_before, a_after, b_before, b_after, c_before, c_after
) -> pd.DataFrame:
    """One row per input: the measures above, wdq, total_net_effect, label, detail."""
    arrs = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in
                                 (a_before, a_after, b_before, b_after, c_before, c_after)))
    ab, aa, bb, ba, cb, ca = arrs
    if any(np.any(v < 0) for v in arrs):
        raise ValueError("counts must be non-negative")
    undefined = (cb == 0) | (ca == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        success = np.where(undefined, np.nan, aa / ca - ab / cb)
        buffer = np.where(undefined, np.nan, ba / ca - bb / cb)
        wdq = np.where(undefined | (success == 0), np.nan, buffer / success)
        ratio = np.where(undefined, np.nan, ca / cb)
        net = np.where(undefined, np.nan, ab / cb - aa / ca)
    tne = (ab * ratio - aa) + (bb * ratio - ba)
    label = np.select(
        [undefined, success >= 0, wdq < 0, wdq > 0],
        ["undefined: zero control count", "no effect", "displacement", "diffusion of benefits"],
        "no displacement or diffusion",
    )
    detail = np.select(
        [undefined, success >= 0, wdq <= -1, wdq < 0, wdq >= 1, wdq > 0],
        ["", "no reduction in the treatment area relative to the control",
         "displacement outweighed the direct benefit",
         "displacement smaller than the direct benefit",
         "diffusion of benefits larger than the direct benefit",
         "diffusion of benefits smaller than the direct benefit"],
        "",
    )
    return pd.DataFrame({
        "success_measure": success, "buffer_measure": buffer, "wdq": wdq,
        "gross_effect": ab - aa, "net_effect": net, "total_net_effect": tne,
        "label": label, "detail": detail,
    })
