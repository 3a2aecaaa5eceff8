"""`csp init`: the area file for any force area from its ONS codes, refusing wrong codes by name."""
from __future__ import annotations

import tomllib

import pytest

from csp import cli
from csp.config import settings
from csp.geography import served_area

LANCASHIRE, CUMBRIA = "E23000003", "E23000002"


@pytest.fixture
def area_file(tmp_path, monkeypatch):
    path = tmp_path / "config" / "area.toml"
    monkeypatch.setenv("CSP_AREA_FILE", str(path))
    return path


def test_init_writes_an_area_file_the_platform_reads(area_file, reference_dir, capsys):
    assert cli.main(["init", "--police-force-area", LANCASHIRE]) == 0
    out = capsys.readouterr().out
    assert "Police force area E23000003 (Lancashire): 14 partnerships" in out
    assert "E22000152  Burnley" in out and "districts E07000117" in out
    assert "County strategy group: E10000017 (Lancashire)" in out
    area = tomllib.loads(area_file.read_text())
    assert area["area"] == {"police_force_area": LANCASHIRE, "county": "E10000017", "timezone": "Europe/London"}
    assert area["not_held"] == {}
    served = served_area(reference_dir, settings().area)
    assert len(served.partnerships) == 14 and served.counties == (("E10000017", "Lancashire"),)


def test_init_with_chosen_partnerships_and_a_unitary_area(area_file, capsys):
    assert cli.main(["init", "--police-force-area", LANCASHIRE, "--partnerships", "E22000151", "E22000158"]) == 0
    area = tomllib.loads(area_file.read_text())["area"]
    assert area["partnerships"] == ["E22000151", "E22000158"] and area["county"] == "E10000017"
    # Cumbria's reorganised districts are unitary partnerships: no county strategy group.
    assert cli.main(["init", "--police-force-area", CUMBRIA, "--force"]) == 0
    out = capsys.readouterr().out
    assert "E06000063  Cumberland" in out and "County strategy group: none" in out
    assert "county" not in tomllib.loads(area_file.read_text())["area"]


@pytest.mark.parametrize("argv, message", [
    (["--police-force-area", "E23000099"], "E23000099 is not a police force area of the ONS lookup"),
    (["--police-force-area", "E22000152"], "that is a partnership code: pass it with --partnerships"),
    (["--police-force-area", "lancs"], "'lancs' is not an ONS code"),
    (["--police-force-area", LANCASHIRE, "--partnerships", "E22000164"],
     "partnership E22000164 (Blaby) is in police force area E23000021 (Leicestershire), not E23000003 (Lancashire)"),
    (["--police-force-area", LANCASHIRE, "--partnerships", "E22999999"],
     "E22999999 is not a partnership of police force area E23000003 (Lancashire)"),
    (["--police-force-area", LANCASHIRE, "--county", "E10000018"],
     "county E10000018 is not the county of any partnership served; their two-tier counties: E10000017 (Lancashire)"),
    (["--police-force-area", CUMBRIA, "--county", "E10000006"], "none: every one is a unitary authority"),
    ([], "--police-force-area is required"),
])
def test_init_refuses_wrong_codes_by_name_and_writes_nothing(area_file, capsys, argv, message):
    assert cli.main(["init", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not area_file.exists()


def test_init_keeps_an_area_file_for_another_area_unless_forced(area_file, capsys):
    assert cli.main(["init", "--police-force-area", LANCASHIRE]) == 0
    written = area_file.read_text()
    assert cli.main(["init", "--police-force-area", LANCASHIRE]) == 0  # the same area: unchanged
    assert cli.main(["init", "--police-force-area", CUMBRIA]) == 2
    assert "add --force to replace it" in capsys.readouterr().err
    assert area_file.read_text() == written
    assert cli.main(["init", "--police-force-area", CUMBRIA, "--force"]) == 0
    assert 'police_force_area = "E23000002"' in area_file.read_text()


def test_init_lists_the_force_areas(capsys):
    assert cli.main(["init", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 43 and "E23000003  Lancashire" in lines and "E23000034  London, City of" in lines
