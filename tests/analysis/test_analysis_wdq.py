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
    assert r.label == "diffusion of benefits"


def test_labels_displacement_no_effect_and_undefined():
    out = weighted_displacement(
        a_before=[100, 100, 100, 100, 100], a_after=[60, 60, 120, 60, 60],
        b_before=[80, 80, 80, 80, 80], b_after=[90, 150, 80, 80, 80],
        c_before=[200, 200, 200, 200, 0], c_after=[200, 200, 200, 200, 10])
    assert out.label.tolist() == ["displacement", "displacement", "no effect",
                                  "no displacement or diffusion", "undefined: zero control count"]
    # 10 displaced of 40 prevented: WDQ -0.25, TNE 30
    assert out.wdq[0] == pytest.approx(-0.25) and out.total_net_effect[0] == pytest.approx(30)
    assert out.detail[1] == "displacement outweighed the direct benefit"  # 70 > 40
    assert out.total_net_effect[1] < 0
    assert math.isnan(out.wdq[4]) and np.isnan(out.total_net_effect[4])


def test_negative_counts_refused():
    with pytest.raises(ValueError):
        weighted_displacement(-1, 1, 1, 1, 1, 1)
