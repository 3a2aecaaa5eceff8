"""csp.analysis.wdq: WDQ and TNE against a hand-worked example of the published formulas."""
from __future__ import annotations

import math

import numpy as np
import pytest

from csp.analysis.wdq import weighted_displacement


def test_worked_example():
    """Formulas of Guerette (2009), Analyzing Crime Displacement and Diffusion, POP Center
    Tool Guide 10, Appendix B (after Bowers and Johnson 2003, J. Quant. Criminol. 19(3)):
      success = Ra/Ca - Rb/Cb; buffer = Da/Ca - Db/Cb; WDQ = buffer / success;
      TNE = [Rb(Ca/Cb) - Ra] + [Db(Ca/Cb) - Da];
    reading of Appendix C: WDQ > 0 diffusion, WDQ < 0 displacement.
    No published numeric example was reachable, so the numbers are worked by hand here:
    treatment 100 -> 60, buffer 80 -> 70, control 200 -> 190.
      success = 60/190 - 100/200 = 0.315789... - 0.5 = -0.184210526...
      buffer  = 70/190 -  80/200 = 0.368421... - 0.4 = -0.031578947...
      WDQ     = 0.031578947 / 0.184210526 = 0.171428571... (= 6/35)
      TNE     = (100*0.95 - 60) + (80*0.95 - 70) = 35 + 6 = 41 crimes prevented
    """
    r = weighted_displacement(100, 60, 80, 70, 200, 190).iloc[0]
    assert r.success_measure == pytest.approx(60 / 190 - 0.5, abs=1e-12)
    assert r.buffer_measure == pytest.approx(70 / 190 - 0.4, abs=1e-12)
    assert r.wdq == pytest.approx(6 / 35, abs=1e-12)
    assert r.total_net_effect == pytest.approx(41.0, abs=1e-9)
    assert r.gross_effect == 40 and r.net_effect == pytest.approx(0.5 - 60 / 190)
    # the treatment fell clearly relative to the control, the buffer's 80 -> 70 is within chance
    assert r.success_high < 0 and r.buffer_low < 0 < r.buffer_high
    assert r.label == "no clear evidence either way"
    assert r.wdq_low < r.wdq < r.wdq_high and r.total_net_effect_low < 41 < r.total_net_effect_high


def test_labels_only_where_the_interval_excludes_neutral():
    # counts 10 x the hand example's: the intervals are narrow enough to label
    out = weighted_displacement(
        a_before=[1000, 1000, 1000, 1000, 1000, 100], a_after=[600, 600, 1200, 600, 600, 60],
        b_before=[800, 800, 800, 800, 800, 80], b_after=[900, 1500, 800, 500, 800, 90],
        c_before=[2000, 2000, 2000, 2000, 0, 200], c_after=[2000, 2000, 2000, 2000, 10, 200])
    assert out.label.tolist() == ["displacement", "displacement", "no clear effect", "diffusion of benefits",
                                  "undefined: zero control count", "no clear evidence either way"]
    # 100 displaced of 400 prevented: WDQ -0.25, TNE 300, a net benefit the interval shows
    assert out.wdq[0] == pytest.approx(-0.25) and out.total_net_effect[0] == pytest.approx(300)
    assert out.detail[0].startswith("net benefit") and out.total_net_effect_low[0] > 0
    assert out.detail[1] == "displacement outweighed the direct benefit"  # 700 > 400
    assert out.total_net_effect_high[1] < 0
    assert math.isnan(out.wdq[4]) and np.isnan(out.total_net_effect[4])


def test_extra_variation_widens_the_intervals():
    poisson = weighted_displacement(1000, 600, 800, 900, 2000, 2000).iloc[0]
    lumpy = weighted_displacement(1000, 600, 800, 900, 2000, 2000, kappa=0.01).iloc[0]
    assert lumpy.buffer_high - lumpy.buffer_low > 1.5 * (poisson.buffer_high - poisson.buffer_low)
    assert poisson.label == "displacement" and lumpy.label == "no clear evidence either way"


def test_negative_counts_refused():
    with pytest.raises(ValueError):
        weighted_displacement(-1, 1, 1, 1, 1, 1)
