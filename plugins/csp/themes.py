"""Harmonised themes: which theme each dataset's categories feed.

Rules are (dataset, SQL LIKE pattern on the category label, theme), first match wins in the
order written. They become `reference.theme_rules` and drive `core.dim_category`; a category
no rule matches is "unclassified", which the tests forbid for every known source.
"""
from __future__ import annotations

THEME_RULES: list[tuple[str, str, str]] = [
    # police.uk crime types and force extracts (dataset 2)
    ("police_crimes", "Violence and sexual offences", "violence"),
    ("police_crimes", "Possession of weapons", "violence"),
    ("police_crimes", "Robbery", "acquisitive"),
    ("police_crimes", "Burglary", "acquisitive"),
    ("police_crimes", "Vehicle crime", "acquisitive"),
    ("police_crimes", "Shoplifting", "acquisitive"),
    ("police_crimes", "Bicycle theft", "acquisitive"),
    ("police_crimes", "Theft from the person", "acquisitive"),
    ("police_crimes", "Other theft", "acquisitive"),
    ("police_crimes", "Criminal damage and arson", "criminal_damage_arson"),
    ("police_crimes", "Drugs", "drugs_alcohol"),
    ("police_crimes", "Public order", "public_safety"),
    ("police_crimes", "Other crime", "public_safety"),
    # police incidents: police.uk ASB rows and NSIR categories (dataset 1)
    ("police_incidents", "Anti-social behaviour", "asb"),
    ("police_incidents", "Domestic Incident", "domestic_abuse"),
    # An injury (or fatal) collision is STATS19's record (road_collisions): the police incident
    # of the same collision is counted under public safety, so road danger counts it once.
    ("police_incidents", "RTC / Incident - Injury", "public_safety"),
    ("police_incidents", "RTC / Incident - Death", "public_safety"),
    ("police_incidents", "RTC%", "road_danger"),  # damage only: no injury, so not in STATS19
    ("police_incidents", "Highway Disruption", "road_danger"),
    ("police_incidents", "Road Related Offence", "road_danger"),
    ("police_incidents", "Rail / Air / Marine Incident", "public_safety"),
    ("police_incidents", "Street Drinking", "drugs_alcohol"),
    ("police_incidents", "Littering / Drugs Paraphernalia", "drugs_alcohol"),
    ("police_incidents", "Animal Problems", "asb"),
    ("police_incidents", "Begging / Vagrancy", "asb"),
    ("police_incidents", "Environmental - Opening Code", "asb"),
    ("police_incidents", "Fireworks", "asb"),
    ("police_incidents", "Noise", "asb"),
    ("police_incidents", "Nuisance%", "asb"),
    ("police_incidents", "Personal - Opening Code", "asb"),
    ("police_incidents", "Prostitution Related Activity", "asb"),
    ("police_incidents", "Rowdy%", "asb"),
    ("police_incidents", "Trespass", "asb"),
    ("police_incidents", "Vehicle Abandoned%", "asb"),
    ("police_incidents", "Vehicle Nuisance%", "asb"),
    ("police_incidents", "%", "public_safety"),  # the rest of NSIR Public Safety and Welfare
    # fire and rescue (datasets 3, 4)
    ("fire_incidents", "Violence against employees", "violence"),
    ("fire_incidents", "Dwelling fire - no smoke alarm", "public_safety"),
    ("fire_incidents", "%", "criminal_damage_arson"),  # deliberate (or motive-unknown) fires
    ("fire_false_alarms", "%", "asb"),
    # local authority (datasets 5-8)
    ("road_collisions", "%", "road_danger"),
    ("school_exclusions", "%", "young_people"),
    ("racial_incidents", "%", "hate"),
    ("council_asb", "%", "asb"),
    # health (datasets 9, 10, 12); counts (11) are themed by measure in core.fact_count
    ("hospital_admissions", "assault%", "violence"),
    ("hospital_admissions", "%", "drugs_alcohol"),  # F10-F19, T51, Y90, Y91
    ("domestic_abuse_admissions", "%", "domestic_abuse"),
    ("ambulance_callouts", "Assault%", "violence"),
    ("ambulance_callouts", "Stab%", "violence"),
    ("ambulance_callouts", "Traffic%", "road_danger"),
    ("ambulance_callouts", "%", "drugs_alcohol"),
    ("ed_assault_attendances", "%", "violence"),
]

# Events that also bear on a second theme: (dataset, LIKE pattern, theme). They feed
# core.category_themes (and the cross-theme marts); the primary theme above stays the one
# each event is counted under once.
SECONDARY_THEME_RULES: list[tuple[str, str, str]] = [
    ("domestic_abuse_admissions", "%", "violence"),
    ("police_incidents", "Domestic Incident", "public_safety"),
    ("police_incidents", "RTC / Incident - Injury", "road_danger"),
    ("police_incidents", "RTC / Incident - Death", "road_danger"),
    ("racial_incidents", "Physical assault", "violence"),
    ("racial_incidents", "Damage to property", "criminal_damage_arson"),
    ("racial_incidents", "Graffiti", "criminal_damage_arson"),
    ("school_exclusions", "Physical assault%", "violence"),
    ("school_exclusions", "Drug and alcohol related", "drugs_alcohol"),
    ("school_exclusions", "Racist abuse", "hate"),
    ("school_exclusions", "Damage", "criminal_damage_arson"),
    ("ambulance_callouts", "Assault%", "drugs_alcohol"),  # call-outs coded alcohol-related too
    ("fire_incidents", "Violence against employees", "public_safety"),
]

# The classification each dataset's categories come from, named in core.dim_category so an
# analyst can trace a theme back to the source's own scheme.
CLASSIFICATIONS = {
    "police_incidents": "NSIR 2011 incident category (ASB, public safety and welfare, transport)",
    "police_crimes": "police.uk crime type; Home Office offence code where the force extract has it",
    "fire_incidents": "fire incident stop code with motive (deliberate / not recorded)",
    "fire_false_alarms": "fire incident stop code (false alarm, malicious)",
    "road_collisions": "STATS19 collision severity (fatal, serious, slight)",
    "school_exclusions": "DfE exclusion reason code",
    "racial_incidents": "local authority racial incident type",
    "council_asb": "NSIR 2011 ASB category",
    "hospital_admissions": "ICD-10 block of the first diagnosis or external cause (F10-F19, T51, X85-Y09, Y90, Y91)",
    "domestic_abuse_admissions": "ICD-10 Y07 maltreatment syndromes",
    "ambulance_callouts": "ambulance call category",
    "ed_assault_attendances": "HES A&E patient group 20 (assault)",
}

# Datasets located at an institution's address, not where the event or the people it concerns
# are: an exclusion is recorded at the school, whose pupils live across many neighbourhoods. A
# rate per resident of the school's LSOA would show where schools are, so these events are in no
# per-resident rate, hotspot test or map (marts.area_rates); the reports say so. dataset -> where.
LOCATED_AT_INSTITUTION = {"school_exclusions": "the school"}

MEASURE_THEMES = {
    "mental_illness_op_first_attendances": "mental_health",
    "persons_in_drug_treatment": "drugs_alcohol",
}
