"""The data contract: responsible authorities and the twelve mandated datasets.

Source: SI 2007/1831 (csp.legislation.PRESCRIBED_INFORMATION), as tabulated in DESIGN.md. One
``Dataset`` per mandated dataset, readable in one screen each:
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
        Authority(id="police", name="Police", description="The chief officer of police for the force area."),
        Authority(id="fire", name="Fire and rescue", description="The fire and rescue authority."),
        Authority(id="local_authority", name="Local authority", description="District, unitary and county councils."),
        Authority(id="health", name="Health", description="Integrated care board (formerly PCT) and ambulance trust."),
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
    adapter: str  # the module in csp.sources that parses it (``parse(dataset, format_id, paths, quarter)``)
    date_column: str  # the column that dates a row (the adapters parse it, csp history splits by it)
    date_format: str = "%Y-%m-%d"  # its strptime format
    reference: str = ""
    # columns read when present; a format may require one of a set (the adapter says which)
    optional_columns: tuple[str, ...] = ()

    @property
    def date_form(self) -> str:
        """The date format as a person writes it, for messages: '%d/%m/%Y' -> 'DD/MM/YYYY'."""
        form = self.date_format
        for code, shown in (("%Y", "YYYY"), ("%m", "MM"), ("%d", "DD"), ("%b", "Mon")):
            form = form.replace(code, shown)
        return form


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

# The values time_precision and location_precision may take: every expectation suite checks
# exactly these (tests/ingest/test_suites_follow_registry.py).
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
    # what one record is, in the plural ("crimes recorded by the police"): how the reports name
    # a source's figure, which is never added to another source's (csp.reports.counting)
    counted: str = ""

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
            id="police_uk_street", title="police.uk street-level crime and ASB file", real=True,
            file_globs=("*-street.csv",),
            required_columns=("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
                              "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"),
            adapter="police_uk", date_column="Month", date_format="%Y-%m",
            reference="https://data.police.uk/about/#columns",
        ),
        SourceFormat(
            id="force_crimes", title="Force crime extract (date, time, Home Office offence code)", real=False,
            file_globs=("force_crimes*.csv", "force_crimes*.xlsx"),
            required_columns=("crime_ref", "offence_date", "offence_time", "ho_offence_code", "crime_type",
                              "lsoa_code", "latitude", "longitude"),
            adapter="force_extracts", date_column="offence_date",
        ),
        SourceFormat(
            id="force_incidents", title="Force incident extract (NSIR incident category)", real=False,
            file_globs=("force_incidents*.csv", "force_incidents*.xlsx"),
            required_columns=("incident_ref", "incident_date", "incident_time", "nsir_category",
                              "nsir_qualifier", "lsoa_code", "latitude", "longitude"),
            adapter="force_extracts", date_column="incident_date",
        ),
        SourceFormat(
            id="lfb_incidents", title="London Fire Brigade style incident records", real=True,
            file_globs=("*incident_records*.csv",),
            required_columns=("IncidentNumber", "DateOfCall", "TimeOfCall", "IncidentGroup", "StopCodeDescription",
                              "PropertyCategory", "Postcode_district", "Latitude", "Longitude"),
            adapter="lfb", date_column="DateOfCall", date_format="%d %b %Y",
            reference="https://data.london.gov.uk/dataset/london-fire-brigade-incident-records",
        ),
        SourceFormat(
            id="fire_other_incidents",
            title="Fire and rescue incidents outside the stop codes (violence to staff, no smoke alarm)",
            real=False, file_globs=("fire_other_incidents*.csv", "fire_other_incidents*.xlsx"),
            required_columns=("incident_ref", "incident_date", "incident_time", "incident_kind", "lsoa_code",
                              "latitude", "longitude"),
            adapter="fire_other", date_column="incident_date",
        ),
        SourceFormat(
            id="stats19", title="DfT STATS19 collision + casualty files", real=True,
            file_globs=("*collision*.csv", "*accident*.csv", "*casualty*.csv"),
            required_columns=("collision_index", "date", "time", "collision_severity", "lsoa_of_accident_location",
                              "longitude", "latitude"),
            adapter="stats19", date_column="date", date_format="%d/%m/%Y",
            reference="https://www.gov.uk/government/statistics/reported-road-casualties-great-britain-annual-report",
        ),
        SourceFormat(
            id="council_rtc_casualties", title="Council road traffic casualty share (one row per casualty)",
            real=True, file_globs=("*rtc-casualties*.csv",),
            required_columns=("Reference Number", "Grid Ref: Easting", "Grid Ref: Northing", "Accident Date",
                              "Time (24hr)", "Casualty Severity", "Age of Casualty"),
            adapter="council_rtc", date_column="Accident Date", date_format="%d/%m/%Y",
            reference="Leeds City Council open data",
        ),
        SourceFormat(
            id="school_exclusions", title="Pupil-level school exclusions (school census reason codes)",
            real=False, file_globs=("school_exclusions*.csv", "school_exclusions*.xlsx"),
            required_columns=("exclusion_ref", "start_date", "exclusion_type", "reason_code",
                              "pupil_gender", "school_name", "school_address", "school_lsoa"),
            adapter="la_contracts", date_column="start_date",
            # pupil_age, or the date of birth, which becomes the age at the exclusion's start
            # and is never stored
            optional_columns=("pupil_age", "pupil_date_of_birth"),
        ),
        SourceFormat(
            id="racial_incidents", title="Racial incidents recorded by the council", real=False,
            file_globs=("racial_incidents*.csv", "racial_incidents*.xlsx"),
            required_columns=("incident_ref", "incident_date", "incident_time", "incident_type", "lsoa_code",
                              "location_description"),
            adapter="la_contracts", date_column="incident_date",
        ),
        SourceFormat(
            id="council_asb", title="ASB incidents identified by or reported to the council", real=False,
            file_globs=("council_asb*.csv", "council_asb*.xlsx"),
            required_columns=("incident_ref", "incident_date", "incident_time", "nsir_qualifier", "asb_category",
                              "lsoa_code"),
            adapter="la_contracts", date_column="incident_date",
        ),
        SourceFormat(
            id="hes_apc", title="HES admitted patient care extract (episodes), with outward postcode",
            real=True, file_globs=("*hes_apc*.csv",),
            required_columns=("EPIKEY", "ADMIDATE", "EPIORDER", "DIAG_4_01", "CAUSE_4"),
            adapter="hes_apc", date_column="ADMIDATE",
            reference="https://digital.nhs.uk/data-and-information/data-tools-and-services/data-services/hospital-episode-statistics",
        ),
        SourceFormat(
            id="hes_ae", title="HES A&E attendances (assault attendances, ISB 1594), with outward postcode",
            real=True, file_globs=("*hes_ae*.csv",),
            required_columns=("AEKEY", "ARRIVALDATE", "ARRIVALTIME", "AEPATGROUP", "AEARRIVALMODE"),
            adapter="hes_ae", date_column="ARRIVALDATE",
            reference="https://digital.nhs.uk/data-and-information/data-tools-and-services/data-services/hospital-episode-statistics",
            optional_columns=("POSTCODE_OUTWARD",),
        ),
        SourceFormat(
            id="hes_op", title="HES outpatient attendances (aggregated to first-attendance counts)", real=True,
            file_globs=("*hes_op*.csv",), required_columns=("APPTDATE", "FIRSTATT", "TRETSPEF"),
            adapter="hes_op", date_column="APPTDATE",
        ),
        SourceFormat(
            id="drug_treatment_counts", title="Persons in drug treatment (aggregate counts)", real=False,
            file_globs=("drug_treatment*.csv", "drug_treatment*.xlsx"),
            required_columns=("period_start", "period_end", "area_code", "area_type", "persons_in_treatment"),
            adapter="drug_treatment", date_column="period_start",
        ),
        SourceFormat(
            id="ambulance_callouts", title="Ambulance call-outs to crime and disorder (CAD dispatch fields)",
            real=False, file_globs=("ambulance_callouts*.csv", "ambulance_callouts*.xlsx"),
            required_columns=("incident_ref", "call_date", "call_time", "chief_complaint", "nature_of_call",
                              "lsoa_code", "outward_postcode"),
            adapter="ambulance", date_column="call_date",
        ),
    ]
}

_WHEN_WHERE = {"time": ("event_time",), "date": ("event_date",), "location": ("lsoa_code",)}

DATASETS: dict[str, Dataset] = {
    d.id: d
    for d in [
        Dataset(
            id="police_incidents", number=1, authority="police",
            title="ASB, transport and public safety / welfare incidents (National Incident Category List)",
            counted="incidents recorded by the police (ASB, public safety and welfare, transport)",
            kind="record", mandated_fields={**_WHEN_WHERE, "category": ("category", "category_code")},
            extra_columns={"nsir_qualifier": STRING}, source_formats=("force_incidents", "police_uk_street"),
            themes=("asb", "public_safety"), unique_key=("record_key",),
            notes="police.uk rows: Crime type 'Anti-social behaviour', month precision, no id.",
        ),
        Dataset(
            id="police_crimes", number=2, authority="police", title="Crimes (Notifiable Offences list)",
            counted="crimes recorded by the police",
            kind="record", mandated_fields={**_WHEN_WHERE, "sub-category": ("category", "category_code")},
            extra_columns={"offence_group": STRING}, source_formats=("force_crimes", "police_uk_street"),
            themes=("violence", "domestic_abuse", "acquisitive", "criminal_damage_arson",
                    "drugs_alcohol", "hate", "public_safety"),
            notes="police.uk Crime IDs are not unique across rows or months: no unique key.",
        ),
        Dataset(
            id="fire_incidents", number=3, authority="fire",
            title="Deliberate primary / secondary / vehicle fires; violence against employees; "
            "dwelling fires with no smoke alarm",
            counted="fire and rescue incidents (deliberate fires, violence against staff, dwelling fires "
            "with no smoke alarm)",
            kind="record", mandated_fields={**_WHEN_WHERE, "which kind": ("category",)},
            extra_columns={}, source_formats=("lfb_incidents", "fire_other_incidents"),
            themes=("criminal_damage_arson", "violence", "public_safety"), unique_key=("record_key",),
            formats_combine=True,
        ),
        Dataset(
            id="fire_false_alarms", number=4, authority="fire", title="Malicious false alarms",
            counted="malicious false alarms",
            kind="record",
            mandated_fields={"time": ("event_time",), "date of call": ("event_date",),
                             "purported location": ("lsoa_code",)},
            extra_columns={}, source_formats=("lfb_incidents",), themes=("asb", "public_safety"),
            unique_key=("record_key",),
        ),
        Dataset(
            id="road_collisions", number=5, authority="local_authority", title="Road traffic collisions",
            counted="road traffic collisions",
            kind="record",
            mandated_fields={**_WHEN_WHERE,
                             "adults killed": ("killed_adults",), "children killed": ("killed_children",),
             "adults seriously injured": ("serious_adults",),
             "children seriously injured": ("serious_children",),
             "adults slightly injured": ("slight_adults",),
             "children slightly injured": ("slight_children",)},
            extra_columns={"killed_adults": INT, "killed_children": INT, "serious_adults": INT,
                           "serious_children": INT, "slight_adults": INT, "slight_children": INT,
             "casualties_age_unknown": INT,
             "adjusted_serious": FLOAT, "adjusted_slight": FLOAT},
            source_formats=("stats19", "council_rtc_casualties"), themes=("road_danger",), unique_key=("record_key",),
            notes="Children are casualties aged 0-15. Adjusted severity kept where supplied.",
        ),
        Dataset(
            id="school_exclusions", number=6, authority="local_authority",
            title="Fixed-term and permanent school exclusions",
            counted="school exclusions (fixed-term and permanent)",
            kind="record",
            mandated_fields={"pupil age": ("pupil_age",), "gender": ("pupil_gender",),
                             "school name": ("school_name",), "school address": ("school_address",),
             "reason": ("category", "category_code")},
            extra_columns={"pupil_age": INT, "pupil_gender": STRING, "school_name": STRING,
                           "school_address": STRING, "exclusion_type": STRING},
            source_formats=("school_exclusions",), themes=("young_people",), unique_key=("record_key",),
        ),
        Dataset(
            id="racial_incidents", number=7, authority="local_authority", title="Racial incidents",
            counted="racial incidents reported to the council",
            kind="record", mandated_fields=dict(_WHEN_WHERE), extra_columns={"location_description": STRING},
            source_formats=("racial_incidents",), themes=("hate",), unique_key=("record_key",),
            free_text=("location_description",),
        ),
        Dataset(
            id="council_asb", number=8, authority="local_authority",
            title="ASB incidents identified by or reported to the authority",
            counted="ASB incidents reported to or identified by the council",
            kind="record", mandated_fields={**_WHEN_WHERE, "category": ("category", "nsir_qualifier")},
            extra_columns={"nsir_qualifier": STRING}, source_formats=("council_asb",), themes=("asb",),
            unique_key=("record_key",),
        ),
        Dataset(
            id="hospital_admissions", number=9, authority="health",
            title="Hospital admissions: assault X85-Y09, F10-F19, T51, Y90, Y91",
            counted="hospital admissions (assault, alcohol, drugs)",
            kind="record",
            mandated_fields={"admission date": ("event_date",), "sub-category": ("category", "category_code"),
                             "OUTWARD postcode only": ("outward_postcode",)},
            extra_columns={}, source_formats=("hes_apc",), themes=("violence", "drugs_alcohol"),
            unique_key=("record_key",),
            notes="One admission per spell (first episode), not per episode.",
        ),
        Dataset(
            id="domestic_abuse_admissions", number=10, authority="health", title="Admissions for domestic abuse",
            counted="hospital admissions for domestic abuse",
            kind="record",
            mandated_fields={"admission date": ("event_date",), "outward postcode": ("outward_postcode",)},
            extra_columns={}, source_formats=("hes_apc",), themes=("domestic_abuse",), unique_key=("record_key",),
            notes="Proxy rule: cause Y07.0-Y07.2 (spouse/partner, parent). These admissions are "
            "also inside X85-Y09 (dataset 9): cross-agency totals must not add the two.",
        ),
        Dataset(
            id="health_counts", number=11, authority="health",
            title="Mental-illness outpatient first attendances; persons in drug treatment",
            kind="count", mandated_fields={"counts": ("measure", "value")}, extra_columns={},
            source_formats=("hes_op", "drug_treatment_counts"), themes=("mental_health", "drugs_alcohol"),
            unique_key=("measure", "period_start", "area_code"), formats_combine=True,
        ),
        Dataset(
            id="ambulance_callouts", number=12, authority="health",
            title="Ambulance call-outs to crime and disorder incidents",
            counted="ambulance call-outs to crime and disorder incidents",
            kind="record", mandated_fields={**_WHEN_WHERE, "category": ("category",)}, extra_columns={},
            source_formats=("ambulance_callouts",), themes=("violence", "drugs_alcohol", "public_safety"),
            unique_key=("record_key",),
        ),
        # Not mandated: the Cardiff model's emergency-department data, an extra health source.
        Dataset(
            id="ed_assault_attendances", number=None, authority="health",
            title="Emergency department assault attendances (Cardiff model, ISB 1594)",
            counted="emergency department assault attendances",
            kind="record",
            mandated_fields={"arrival date": ("event_date",), "arrival time": ("event_time",),
                             "outward postcode": ("outward_postcode",)},
            extra_columns={"arrival_mode": STRING}, source_formats=("hes_ae",), themes=("violence",),
            unique_key=("record_key",),
            notes="Ingested when supplied, never waited for; overlaps assault admissions (9) "
            "for patients then admitted, so cross-agency totals must not add the two.",
        ),
    ]
}


def datasets_of(authority: str) -> list[Dataset]:
    return [d for d in DATASETS.values() if d.authority == authority]
