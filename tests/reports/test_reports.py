import math
import re

import pandas as pd
import pytest

from csp.config import PROJECT_DIR
from csp.templating import environment, percent_change


@pytest.mark.parametrize("value, shown", [
    (None, "n/a"), (math.nan, "n/a"), (-0.06, "0%"), (0.4, "0%"), (12.5, "+12%"), (-3.6, "-4%"),
])
def test_percent_change(value, shown):
    assert percent_change(value) == shown


def test_templates_escape_what_they_render():
    html = environment().from_string("{{ v }}").render(v="<script>x</script>")
    assert html == "&lt;script&gt;x&lt;/script&gt;"


def test_q_values_read_as_sentences_never_q_equals_less_than():
    import numpy as np

    from csp.templating import q_statement, q_value

    assert [q_statement(v) for v in (0.0004, 0.034, None, float("nan"), pd.NA)] == [
        "q < 0.001", "q = 0.034", "q = n/a", "q = n/a", "q = n/a"]
    assert q_value(np.float64(2e-7)) == "< 0.001"
    # templates print q through the sentence filter, so "q = < 0.001" cannot be written
    templates = (PROJECT_DIR / "report_templates").glob("*.j2")
    assert not [t.name for t in templates if re.search(r"q = \{\{[^}]*qvalue", t.read_text())]
