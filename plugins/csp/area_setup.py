"""Setting a deployment up for any area from its ONS codes (`csp init`): the police force
area, optionally a choice of its Community Safety Partnerships and the county strategy group,
checked against the ONS lookups of the reference data and written as the area file that
every task reads (``CSP_AREA_FILE``, else ``config/area.toml``).

Every code is checked before anything is written, and a code that is unknown, or not in the
force area, is refused by name with what the lookups know of it.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from csp import geography
from csp.geography import Partnership
from csp.legislation import PRESCRIBED_INFORMATION
from csp.registry import DATASETS

_CODE = re.compile(r"^[EW]\d{8}$")


class AreaRefused(ValueError):
    """A code that does not describe an area the lookups know, or that does not fit the rest."""


@dataclass(frozen=True)
class AreaChoice:
    police_force_area: str
    force_name: str
    partnerships: tuple[Partnership, ...]
    county: tuple[str, str] | None  # (code, name) of the county strategy group, if any
    all_partnerships: bool  # True when the file leaves `partnerships` out (every one served)


def force_areas(reference_dir: Path) -> dict[str, str]:
    """Every police force area of the lookups: PFA19 code -> name."""
    lookup = geography.lsoa_lookup(reference_dir)
    pairs = lookup[["PFA19CD", "PFA19NM"]].drop_duplicates().sort_values("PFA19CD")
    return dict(pairs.itertuples(index=False))


def _partnership_homes(reference_dir: Path) -> dict[str, tuple[str, str]]:
    """Partnership code -> (name, force area code), over England and Wales."""
    lookup = geography.lsoa_lookup(reference_dir)
    pairs = lookup.loc[lookup["csp_code"].ne(""), ["csp_code", "csp_name", "PFA19CD"]].drop_duplicates("csp_code")
    return {code: (name, pfa) for code, name, pfa in pairs.itertuples(index=False)}


def choose(reference_dir: Path, police_force_area: str, partnerships: list[str] | None = None,
           county: str | None = None) -> AreaChoice:
    """The area the codes describe, or ``AreaRefused`` naming the first code that is wrong."""
    forces = force_areas(reference_dir)
    for code in [police_force_area, *(partnerships or []), *([county] if county else [])]:
        if not _CODE.match(code):
            raise AreaRefused(f"{code!r} is not an ONS code (a letter E or W and eight digits, e.g. E23000003)")
    if police_force_area not in forces:
        hint = (" (that is a partnership code: pass it with --partnerships)"
                if police_force_area.startswith(("E22", "W14")) else "")
        raise AreaRefused(f"{police_force_area} is not a police force area of the ONS lookup (PFA19 codes "
                          f"E23000001-E23000039, W15000001-W15000004; `csp init --list` lists them){hint}")
    available = {p.code: p for p in geography.partnerships(reference_dir, police_force_area)}
    force_name = forces[police_force_area]
    if partnerships:
        homes = _partnership_homes(reference_dir)
        for code in partnerships:
            if code in available:
                continue
            if code in homes:
                name, home = homes[code]
                raise AreaRefused(f"partnership {code} ({name}) is in police force area {home} "
                                  f"({forces.get(home, home)}), not {police_force_area} ({force_name})")
            raise AreaRefused(f"{code} is not a partnership of police force area {police_force_area} "
                              f"({force_name}); its partnerships: {', '.join(sorted(available))}")
        duplicated = sorted({c for c in partnerships if partnerships.count(c) > 1})
        if duplicated:
            raise AreaRefused(f"partnership {', '.join(duplicated)} is named more than once")
    chosen = tuple(available[c] for c in partnerships) if partnerships else tuple(available.values())
    counties = sorted({(p.county_code, p.county_name) for p in chosen if p.county_code})
    if county is not None:
        match = [c for c in counties if c[0] == county]
        if not match:
            known = ", ".join(f"{code} ({name})" for code, name in counties) or "none: every one is a unitary authority"
            raise AreaRefused(f"county {county} is not the county of any partnership served; "
                              f"their two-tier counties: {known}")
        chosen_county = match[0]
    else:
        chosen_county = counties[0] if len(counties) == 1 else None
    return AreaChoice(police_force_area, force_name, chosen, chosen_county, all_partnerships=not partnerships)


def area_file_text(choice: AreaChoice) -> str:
    """The area file: the codes, each with its name as a comment, and an empty ``[not_held]``
    table listing the mandated datasets an authority may declare it does not hold."""
    lines = [
        "# The area this deployment serves (written by `csp init`; ONS codes, checked against the",
        "# ONS lookups of the reference data). Names, districts, wards and LSOAs come from the lookups.",
        "",
        "[area]",
        f'police_force_area = "{choice.police_force_area}"   # {choice.force_name}',
    ]
    if not choice.all_partnerships:
        lines.append("partnerships = [")
        lines += [f'    "{p.code}",  # {p.name}' for p in choice.partnerships]
        lines.append("]")
    else:
        lines.append("# partnerships: left out, so every partnership of the force area is served")
    if choice.county:
        lines.append(f'county = "{choice.county[0]}"              # {choice.county[1]}: the county strategy group')
    lines += [
        'timezone = "Europe/London"',
        "",
        f"# Datasets an authority does not hold ({PRESCRIBED_INFORMATION.short} applies only where the data is held):",
        "# each is recorded as \"not held\" every quarter, never waited for. One line per dataset,",
        "# with the reason, e.g.",
        '#   ambulance_callouts = "The ambulance service does not record call-outs by crime category."',
        "# Mandated datasets: " + ", ".join(d.id for d in DATASETS.values() if d.mandated) + ".",
        "[not_held]",
        "",
    ]
    return "\n".join(lines)


def write_area_file(path: Path, text: str, *, force: bool) -> bool:
    """Write the area file (whole, then renamed into place). An existing file with other
    content is replaced only with ``force``; returns whether one was replaced."""
    replaced = path.exists()
    if replaced and path.read_text() != text and not force:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return replaced
