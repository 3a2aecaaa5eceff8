-- Every record-level event with its conformed date, geography and theme.
-- Health events carry an outward code only: their CSP (and county, force area) comes from the
-- outward-code centroid rule (reference.outward_code_areas, docs/warehouse.md); LSOA, ward and
-- district stay null, since a postcode district spans several, so no outward-code figure is
-- ever presented at a finer level than it has.
-- area_status accounts for every row: in_area (a partnership this deployment serves),
-- outside_area (located, but elsewhere: police.uk snaps some points over the border) or
-- unlocated (no usable location). Nothing is dropped.
SELECT
    e.dataset, e.return_id, e.source_line, e.record_key,
    e.event_date, e.event_time, e.time_precision,
    CASE WHEN e.time_precision = 'minute' THEN CAST(EXTRACT(HOUR FROM e.event_time) AS INTEGER) END AS hour,
    CASE WHEN e.time_precision <> 'minute' THEN NULL
         WHEN EXTRACT(HOUR FROM e.event_time) >= 20 AND EXTRACT(DOW FROM e.event_date) IN (5, 6) THEN TRUE
         WHEN EXTRACT(HOUR FROM e.event_time) < 6 AND EXTRACT(DOW FROM e.event_date) IN (6, 0) THEN TRUE
         ELSE FALSE END AS night_time_economy,
    e.category, e.category_code, c.theme,
    -- Harm: the ONS Crime Severity Score weight of the offence code where a force extract
    -- gives one, else the mean weight of the police.uk crime type; null where no weight exists
    -- (ASB, non-crime datasets), never a silent zero.
    CASE WHEN e.dataset = 'police_crimes' THEN COALESCE(w.css_weight, t.css_weight) END AS harm_weight,
    e.location_precision,
    CASE WHEN e.location_precision = 'outward_postcode' THEN NULL ELSE m.lsoa11_code END AS lsoa11_code,
    e.outward_postcode,
    CASE WHEN e.location_precision = 'outward_postcode' THEN NULL ELSE g.ward_code END AS ward_code,
    CASE WHEN e.location_precision = 'outward_postcode' THEN NULL ELSE g.district_code END AS district_code,
    g.csp_code, g.county_code, g.pfa_code,
    CASE WHEN g.lsoa11_code IS NULL THEN 'unlocated'
         WHEN g.in_area THEN 'in_area'
         ELSE 'outside_area' END AS area_status,
    e.latitude, e.longitude,
    -- The opaque identifier of the event's point, for repeat locations (see staging.events).
    e.location_key
FROM staging.events e
LEFT JOIN core.lsoa_code_map m ON m.lsoa_code = e.lsoa_code
LEFT JOIN reference.outward_code_areas o ON o.outward_code = e.outward_postcode
LEFT JOIN core.dim_geography g
       ON g.lsoa11_code = CASE WHEN e.location_precision = 'outward_postcode' THEN o.lsoa11_code
                               ELSE m.lsoa11_code END
LEFT JOIN core.dim_category c ON c.dataset = e.dataset AND c.category = e.category
LEFT JOIN reference.css_offence_weights w ON w.offence_code = e.category_code
LEFT JOIN reference.css_crime_type_weights t ON t.category = e.category
