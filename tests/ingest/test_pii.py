"""Free-text scanning: every planted kind of personal data is found and redacted; ordinary
text (and numbers that merely look like identifiers) is left alone."""
import pandas as pd
import pytest

from csp.pii import is_nhs_number, redact

VALID_NHS = "943 476 5919"  # a checksum-valid number from NHS Digital's test range


def test_nhs_checksum():
    assert is_nhs_number(VALID_NHS) and is_nhs_number("9434765919")
    assert not is_nhs_number("9434765918") and not is_nhs_number("123")


@pytest.mark.parametrize("text, label, kind", [
    (f"patient {VALID_NHS} attended", "[nhs number]", "nhs_number"),
    ("call 07700 900123 after 5", "[phone]", "phone"),
    ("landline (0116) 496 0123", "[phone]", "phone"),
    ("email j.smith+x@example.co.uk now", "[email]", "email"),
    ("outside LE1 5AB by the shop", "[postcode]", "postcode"),
    ("abused by Mr John Smith again", "[name]", "name"),
    ("reported by Dr. Patel", "[name]", "name"),
])
def test_each_pattern_is_redacted(text, label, kind):
    result = redact(pd.Series([text, "nothing here"]))
    assert label in result.text[0] and result.text[1] == "nothing here"
    assert result.rows_redacted == 1 and result.found == {kind: 1}


def test_ordinary_text_and_non_checksum_numbers_survive():
    text = pd.Series(["Group of youths near the park, 3 cars damaged", "ref 1234567890 not NHS", None])
    result = redact(text)
    assert result.text[:2].tolist() == text[:2].tolist() and result.rows_redacted == 0
    assert pd.isna(result.text[2])


def test_counts_several_matches_in_one_row():
    result = redact(pd.Series([f"Mrs Ann Lee {VALID_NHS}, ann@x.org, LE2 1AA"]))
    assert result.found == {"email": 1, "nhs_number": 1, "postcode": 1, "name": 1}
    assert result.rows_redacted == 1
    assert result.text[0] == "[name] [nhs number], [email], [postcode]"
