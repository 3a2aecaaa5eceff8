import math

import pytest

from csp.templating import environment, percent_change


@pytest.mark.parametrize("value, shown", [
    (None, "n/a"), (math.nan, "n/a"), (-0.06, "0%"), (0.4, "0%"), (12.5, "+12%"), (-3.6, "-4%"),
])
def test_percent_change(value, shown):
    assert percent_change(value) == shown


def test_templates_escape_what_they_render():
    html = environment().from_string("{{ v }}").render(v="<script>x</script>")
    assert html == "&lt;script&gt;x&lt;/script&gt;"
