"""The PDF form that the HTML tests do not see: charts and maps handed to WeasyPrint as SVG
images (same SVG, title as alternative text), and wide tables kept inside the page."""
from __future__ import annotations

import base64
import re

import pandas as pd

from csp.reports.charts import monthly_series
from csp.reports import pdf
from csp.reports.pdf import svgs_as_images

CHART = monthly_series(pd.DataFrame({"month": pd.period_range("2024-01", periods=12, freq="M"),
                                     "events": range(12)}),
                       title="Violence: events per month", y_label="Events", source="Police returns")


def page(body: str) -> str:
    return f'<!DOCTYPE html><html><head><title>t</title></head><body><h2>Figures</h2>{body}</body></html>'


def test_each_inline_svg_becomes_an_image_of_the_same_svg_with_its_title_as_alt():
    html = page(f"<figure>{CHART}</figure><p>after</p><figure>{CHART}</figure>")

    pdf_html = svgs_as_images(html)

    images = re.findall(r'<img alt="([^"]*)" src="data:image/svg\+xml;base64,([^"]+)">', pdf_html)
    # the alternative text is the title and the key figures of the <desc>
    assert all(alt.startswith("Violence: events per month. ") and "highest month" in alt and "Police returns" in alt
               for alt, _ in images) and len(images) == 2
    # the same SVG, less the inline page's responsive style (an image keeps its own aspect)
    assert all(base64.b64decode(data).decode() == str(CHART).replace(' style="max-width: 100%; height: auto"', "", 1)
               for _, data in images)
    assert "<svg" not in pdf_html and "<p>after</p>" in pdf_html


def test_an_svg_without_title_or_not_well_formed_stays_inline():
    untitled = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="5" height="5"/></svg>'
    broken = '<svg xmlns="http://www.w3.org/2000/svg"><title>x</title><br></svg>'
    html = page(untitled + broken)

    assert svgs_as_images(html) == html


def test_a_wide_table_fits_a_landscape_page_without_a_word_broken():
    """Twelve figure columns under long headers beside a column of names (the public summary's
    wards by theme), marked "wide": it gets a landscape page, every cell fits inside it and every
    header and name wraps between words only."""
    from weasyprint import CSS, HTML
    from weasyprint.formatting_structure import boxes

    themes = ["Drugs and alcohol-related harm", "Criminal damage and arson", "Public safety and welfare"] * 4
    head = "".join(f'<th scope="col" class="num">{t}</th>' for t in themes)
    rows = "".join(f"<tr><td>Loughborough Ashby {i}</td>" + '<td class="num">1,234</td>' * 12 + "</tr>"
                   for i in range(3))
    html = page(f'<div class="wide"><table class="compact"><thead><tr><th>Ward</th>{head}</tr></thead>'
                f'<tbody>{rows}</tbody></table></div>')

    document = HTML(string=html).render(stylesheets=[CSS(filename=str(pdf.PRINT_STYLESHEET))])

    wide = next(p for p in document.pages if any(isinstance(b, boxes.TableCellBox) for b in p._page_box.descendants()))
    page_box = wide._page_box
    assert wide.width > wide.height  # landscape
    right = page_box.content_box_x() + page_box.width
    cells = [b for b in page_box.descendants() if isinstance(b, boxes.TableCellBox)]
    assert cells and all(c.position_x + c.margin_width() <= right + 0.5 for c in cells)
    for cell in cells:
        lines = [" ".join(t.text for t in line.descendants() if isinstance(t, boxes.TextBox)).strip()
                 for line in cell.descendants() if isinstance(line, boxes.LineBox)]
        words = re.split(r"[\s-]+", "".join(cell.element.itertext()))
        fragments = [w for line in lines for w in re.split(r"[\s-]+", line) if w]
        assert all(w in words for w in fragments), lines  # a line breaks at a space or after a hyphen only
