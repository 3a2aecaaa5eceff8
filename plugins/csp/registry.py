"""The data contract: responsible authorities and the twelve mandated datasets.

Source: the Crime and Disorder (Prescribed Information) Regulations 2007 (SI 2007/1831), as
tabulated in DESIGN.md. One ``Dataset`` per mandated dataset, readable in one screen each:
who owns it, which fields the regulations mandate (and which canonical columns carry them),
the canonical schema, the source formats it arrives in, and the themes it feeds.

This module is imported at DAG parse time, so it stays free of heavy imports.
"""
from __future__ import annotations

from dataclasses import dataclass

# Canonical column types; each maps to one pyarrow / SQL type (see csp.schema).
STRING, INT, FLOAT, DATE, TIME = "string", "int", "float", "date", "time"


@dataclass(frozen=True)
class Authority:
    id: str
    name: str
    description: str


AUTHORITIES: dict[str, Authority] = {
    a.id: a
    for a in [
        Authority("police", "Police", "The chief officer of police for the force area."),
        Authority("fire", "Fire and rescue", "The fire and rescue authority."),
        Authority("local_authority", "Local authority", "District, unitary and county councils."),
        Authority("health", "Health", "Integrated care board (formerly PCT) and ambulance trust."),
    ]
}


@dataclass(frozen=True)
class SourceFormat:
    """A file format a dataset can arrive in.

    ``real`` formats are published ones (police.uk, STATS19, HES...); the others are contracts
    this project defines in docs/data-contracts/<id>.md with a fillable template.
    ``required_columns`` are the source columns the adapter needs (others are dropped and
    reported at depersonalisation).
    """

    id: str
    title: str
    real: bool
    file_globs: tuple[str, ...]
    required_columns: tuple[str, ...]
    reference: str = ""
    # columns read when present; a format may require one of a set (the adapter says which)
    optional_columns: tuple[str, ...] = ()


# Lineage columns carried by every canonical frame, whatever the dataset.
LINEAGE_COLUMNS: dict[str, str] = {
    "return_id": STRING,  # "<dataset>/<quarter>/v<k>"
    "source_file": STRING,  # file name within the landing folder
    "source_line": INT,  # 1-based line number in that file (header = line 1)
    "file_sha256": STRING,
}

# Columns shared by all record-level datasets (what fact_event is built from).
EVENT_COLUMNS: dict[str, str] = {
    "record_key": STRING,  # keyed pseudonym of the source record id (never the id itself)
    "event_date": DATE,  # first day of the month when only the month is known
    "event_time": TIME,  # null unless time_precision == "minute"
    "time_precision": STRING,  # minute | day | month
    "category": STRING,  # the mandated category / sub-category, as a readable label
    "category_code": STRING,  # the code behind it where the source has one (HO code, ICD-10...)
    "lsoa_code": STRING,  # LSOA 2011 or 2021 code, null when not resolvable
    "outward_postcode": STRING,  # outward code only, never a full postcode
    "latitude": FLOAT,  # only when location_precision == "point"
    "longitude": FLOAT,
    "location_precision": STRING,  # point | lsoa | outward_postcode | ward | district | none
}

TIME_PRECISIONS = ("minute", "day", "month")
LOCATION_PRECISIONS = ("point", "lsoa", "outward_postcode", "ward", "district", "none")

# Aggregate datasets (11) carry counts, not records.
COUNT_COLUMNS: dict[str, str] = {
    "measure": STRING,
    "period_start": DATE,
    "period_end": DATE,
    "area_code": STRING,
    "area_type": STRING,  # outward_postcode | lsoa | district | icb
    "value": INT,
}

THEMES: dict[str, str] = {
    "violence": "Violence",
    "domestic_abuse": "Domestic abuse",
    "asb": "Anti-social behaviour",
    "acquisitive": "Acquisitive crime",
    "criminal_damage_arson": "Criminal damage and arson",
    "drugs_alcohol": "Drugs and alcohol-related harm",
    "hate": "Hate and racial incidents",
    "road_danger": "Road danger",
    "public_safety": "Public safety and welfare",
    "young_people": "Young people at risk",
    "mental_health": "Mental health",
}


@dataclass(frozen=True)
class Dataset:
    id: str
    number: int | None  # the regulations' dataset number; None for an extra, non-mandated source
    authority: str
    title: str
    kind: str  # "record" or "count"
    # mandated field (as DESIGN.md words it) -> canonical columns that carry it
    mandated_fields: dict[str, tuple[str, ...]]
    extra_columns: dict[str, str]
    source_formats: tuple[str, ...]
    themes: tuple[str, ...]
    # columns identifying one record within a return, where the source has such a key
    unique_key: tuple[str, ...] = ()
    # free-text columns: the only ones scanned for personal data (csp.pii), which is redacted
    free_text: tuple[str, ...] = ()
    # True where the source formats complement each other (LFB stop codes + the fire contract);
    # otherwise they are alternatives and a return must use one (both would double count)
    formats_combine: bool = False
    notes: str = ""

    @property
    def mandated(self) -> bool:
        """Mandated by SI 2007/1831 (waited for until the deadline), or an extra source
        (ingested when supplied, never waited for)."""
        return self.number is not None

    @property
    def columns(self) -> dict[str, str]:
        """The full canonical schema: lineage + shared + dataset-specific columns."""
        base = EVENT_COLUMNS if self.kind == "record" else COUNT_COLUMNS
        return {**LINEAGE_COLUMNS, **base, **self.extra_columns}

    @property
    def asset_uri(self) -> str:
        return f"csp://staging/{self.id}"


SOURCE_FORMATS: dict[str, SourceFormat] = {
    f.id: f
    for f in [
        SourceFormat(
            "police_uk_street", "police.uk street-level crime and ASB file", True,
            ("*-street.csv",),
            ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
             "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"),
            "https://data.police.uk/about/#columns",
        ),
        SourceFormat(
            "force_crimes", "Force crime extract (date, time, Home Office offence code)", False,
            ("force_crimes*.csv", "force_crimes*.xlsx"),
            ("crime_ref", "offence_date", "offence_time", "ho_offence_code", "crime_type",
             "lsoa_code", "latitude", "longitude"),
        ),
        SourceFormat(
            "force_incidents", "Force incident extract (NSIR incident category)", False,
            ("force_incidents*.csv", "force_incidents*.xlsx"),
            ("incident_ref", "incident_date", "incident_time", "nsir_category",
             "nsir_qualifier", "lsoa_code", "latitude", "longitude"),
        ),
        SourceFormat(
            "lfb_incidents", "London Fire Brigade style incident records", True,
            ("*incident_records*.csv",),
            ("IncidentNumber", "DateOfCall", "TimeOfCall", "IncidentGroup", "StopCodeDescription",
             "PropertyCategory", "Postcode_district", "Latitude", "Longitude"),
            "https://data.london.gov.uk/dataset/london-fire-brigade-incident-records",
        ),
        SourceFormat(
            "fire_other_incidents",
            "Fire and rescue incidents outside the stop codes (violence to staff, no smoke alarm)",
            False, ("fire_other_incidents*.csv", "fire_other_incidents*.xlsx"),
            ("incident_ref", "incident_date", "incident_time", "incident_kind", "lsoa_code",
             "latitude", "longitude"),
        ),
        SourceFormat(
            "stats19", "DfT STATS19 collision + casualty files", True,
            ("*collision*.csv", "*accident*.csv", "*casualty*.csv"),
            ("collision_index", "date", "time", "collision_severity", "lsoa_of_accident_location",
             "longitude", "latitude"),
            "https://www.gov.uk/government/statistics/reported-road-casualties-great-britain-annual-report",
        ),
        SourceFormat(
            "council_rtc_casualties", "Council road traffic casualty share (one row per casualty)",
            True, ("*rtc-casualties*.csv",),
            ("Reference Number", "Grid Ref: Easting", "Grid Ref: Northing", "Accident Date",
             "Time (24hr)", "Casualty Severity", "Age of Casualty"),
            "Leeds City Council open data",
        ),
        SourceFormat(
            "school_exclusions", "Pupil-level school exclusions (school census reason codes)",
            False, ("school_exclusions*.csv", "school_exclusions*.xlsx"),
            ("exclusion_ref", "start_date", "exclusion_type", "reason_code",
             "pupil_gender", "school_name", "school_address", "school_lsoa"),
            # pupil_age, or the date of birth, which becomes the age at the exclusion's start
            # and is never stored
            optional_columns=("pupil_age", "pupil_date_of_birth"),
        ),
        SourceFormat(
            "racial_incidents", "Racial incidents recorded by the council", False,
            ("racial_incidents*.csv", "racial_incidents*.xlsx"),
            ("incident_ref", "incident_date", "incident_time", "incident_type", "lsoa_code",
             "location_description"),
        ),
        SourceFormat(
            "council_asb", "ASB incidents identified by or reported to the council", False,
            ("council_asb*.csv", "council_asb*.xlsx"),
            ("incident_ref", "incident_date", "incident_time", "nsir_qualifier", "asb_category",
             "lsoa_code"),
        ),
        SourceFormat(
            "hes_apc", "HES admitted patient care extract (episodes), with outward postcode",
            True, ("*hes_apc*.csv",),
            ("EPIKEY", "ADMIDATE", "EPIORDER", "DIAG_4_01", "CAUSE_4"),
            "https://digital.nhs.uk/data-and-information/data-tools-and-services/data-services/hospital-episode-statistics",
        ),
        SourceFormat(
            "hes_ae", "HES A&E attendances (assault attendances, ISB 1594), with outward postcode",
            True, ("*hes_ae*.csv",),
            ("AEKEY", "ARRIVALDATE", "ARRIVALTIME", "AEPATGROUP", "AEARRIVALMODE"),
            "https://digital.nhs.uk/data-and-information/data-tools-and-services/data-services/hospital-episode-statistics",
            optional_columns=("POSTCODE_OUTWARD",),
        ),
        SourceFormat(
            "hes_op", "HES outpatient attendances (aggregated to first-attendance counts)", True,
            ("*hes_op*.csv",), ("APPTDATE", "FIRSTATT", "TRETSPEF"),
        ),
        SourceFormat(
            "drug_treatment_counts", "Persons in drug treatment (aggregate counts)", False,
            ("drug_treatment*.csv", "drug_treatment*.xlsx"),
            ("period_start", "period_end", "area_code", "area_type", "persons_in_treatment"),
        ),
        SourceFormat(
            "ambulance_callouts", "Ambulance call-outs to crime and disorder (CAD dispatch fields)",
            False, ("ambulance_callouts*.csv", "ambulance_callouts*.xlsx"),
            ("incident_ref", "call_date", "call_time", "chief_complaint", "nature_of_call",
             "lsoa_code", "outward_postcode"),
        ),
    ]
}

_WHEN_WHERE = {"time": ("event_time",), "date": ("event_date",), "location": ("lsoa_code",)}

DATASETS: dict[str, Dataset] = {
    d.id: d
    for d in [
        Dataset(
            "police_incidents", 1, "police",
            "ASB, transport and public safety / welfare incidents (National Incident Category List)",
            "record", {**_WHEN_WHERE, "category": ("category", "category_code")},
            {"nsir_qualifier": STRING}, ("force_incidents", "police_uk_street"),
            ("asb", "public_safety"), unique_key=("record_key",),
            notes="police.uk rows: Crime type 'Anti-social behaviour', month precision, no id.",
        ),
        Dataset(
            "police_crimes", 2, "police", "Crimes (Notifiable Offences list)",
            "record", {**_WHEN_WHERE, "sub-category": ("category", "category_code")},
            {"offence_group": STRING}, ("force_crimes", "police_uk_street"),
            ("violence", "domestic_abuse", "acquisitive", "criminal_damage_arson",
             "drugs_alcohol", "hate", "public_safety"),
            notes="police.uk Crime IDs are not unique across rows or months: no unique key.",
        ),
        Dataset(
            "fire_incidents", 3, "fire",
            "Deliberate primary / secondary / vehicle fires; violence against employees; "
            "dwelling fires with no smoke alarm",
            "record", {**_WHEN_WHERE, "which kind": ("category",)},
            {}, ("lfb_incidents", "fire_other_incidents"),
            ("criminal_damage_arson", "violence", "public_safety"), unique_key=("record_key",),
            formats_combine=True,
        ),
        Dataset(
            "fire_false_alarms", 4, "fire", "Malicious false alarms",
            "record",
            {"time": ("event_time",), "date of call": ("event_date",),
             "purported location": ("lsoa_code",)},
            {}, ("lfb_incidents",), ("asb", "public_safety"), unique_key=("record_key",),
        ),
        Dataset(
            "road_collisions", 5, "local_authority", "Road traffic collisions",
            "record",
            {**_WHEN_WHERE,
             "adults killed": ("killed_adults",), "children killed": ("killed_children",),
             "adults seriously injured": ("serious_adults",),
             "children seriously injured": ("serious_children",),
             "adults slightly injured": ("slight_adults",),
             "children slightly injured": ("slight_children",)},
            {"killed_adults": INT, "killed_children": INT, "serious_adults": INT,
             "serious_children": INT, "slight_adults": INT, "slight_children": INT,
             "casualties_age_unknown": INT,
             "adjusted_serious": FLOAT, "adjusted_slight": FLOAT},
            ("stats19", "council_rtc_casualties"), ("road_danger",), unique_key=("record_key",),
            notes="Children are casualties aged 0-15. Adjusted severity kept where supplied.",
        ),
        Dataset(
            "school_exclusions", 6, "local_authority",
            "Fixed-term and permanent school exclusions",
            "record",
            {"pupil age": ("pupil_age",), "gender": ("pupil_gender",),
             "school name": ("school_name",), "school address": ("school_address",),
             "reason": ("category", "category_code")},
            {"pupil_age": INT, "pupil_gender": STRING, "school_name": STRING,
             "school_address": STRING, "exclusion_type": STRING},
            ("school_exclusions",), ("young_people",), unique_key=("record_key",),
        ),
        Dataset(
            "racial_incidents", 7, "local_authority", "Racial incidents",
            "record", dict(_WHEN_WHERE), {"location_description": STRING},
            ("racial_incidents",), ("hate",), unique_key=("record_key",),
            free_text=("location_description",),
        ),
        Dataset(
            "council_asb", 8, "local_authority",
            "ASB incidents identified by or reported to the authority",
            "record", {**_WHEN_WHERE, "category": ("category", "nsir_qualifier")},
            {"nsir_qualifier": STRING}, ("council_asb",), ("asb",), unique_key=("record_key",),
        ),
        Dataset(
            "hospital_admissions", 9, "health",
            "Hospital admissions: assault X85-Y09, F10-F19, T51, Y90, Y91",
            "record",
            {"admission date": ("event_date",), "sub-category": ("category", "category_code"),
             "OUTWARD postcode only": ("outward_postcode",)},
            {}, ("hes_apc",), ("violence", "drugs_alcohol"), unique_key=("record_key",),
            notes="One admission per spell (first episode), not per episode.",
        ),
        Dataset(
            "domestic_abuse_admissions", 10, "health", "Admissions for domestic abuse",
            "record",
            {"admission date": ("event_date",), "outward postcode": ("outward_postcode",)},
            {}, ("hes_apc",), ("domestic_abuse",), unique_key=("record_key",),
            notes="Proxy rule: cause Y07.0-Y07.2 (spouse/partner, parent). These admissions are "
            "also inside X85-Y09 (dataset 9): cross-agency totals must not add the two.",
        ),
        Dataset(
            "health_counts", 11, "health",
            "Mental-illness outpatient first attendances; persons in drug treatment",
            "count", {"counts": ("measure", "value")}, {},
            ("hes_op", "drug_treatment_counts"), ("mental_health", "drugs_alcohol"),
            unique_key=("measure", "period_start", "area_code"), formats_combine=True,
        ),
        Dataset(
            "ambulance_callouts", 12, "health",
            "Ambulance call-outs to crime and disorder incidents",
            "record", {**_WHEN_WHERE, "category": ("category",)}, {},
            ("ambulance_callouts",), ("violence", "drugs_alcohol", "public_safety"),
            unique_key=("record_key",),
        ),
        # Not mandated: the Cardiff model's emergency-department data, an extra health source.
        Dataset(
            "ed_assault_attendances", None, "health",
            "Emergency department assault attendances (Cardiff model, ISB 1594)",
            "record",
            {"arrival date": ("event_date",), "arrival time": ("event_time",),
             "outward postcode": ("outward_postcode",)},
            {"arrival_mode": STRING}, ("hes_ae",), ("violence",), unique_key=("record_key",),
            notes="Ingested when supplied, never waited for; overlaps assault admissions (9) "
            "for patients then admitted, so cross-agency totals must not add the two.",
        ),
    ]
}


def datasets_of(authority: str) -> list[Dataset]:
    return [d for d in DATASETS.values() if d.authority == authority]
