-- Aggregate returns (dataset 11): counts per measure, period and area, with the CSP the area
-- belongs to (district codes directly, outward codes by the centroid rule).
SELECT
    'health_counts' AS dataset, h.return_id, h.measure, t.theme,
    h.period_start, h.period_end, h.area_type, h.area_code, h.value,
    COALESCE(d.csp_code, g.csp_code) AS csp_code,
    COALESCE(d.pfa_code, g.pfa_code) AS pfa_code
FROM staging.health_counts h
LEFT JOIN reference.measure_themes t ON t.measure = h.measure
LEFT JOIN (SELECT DISTINCT district_code, csp_code, pfa_code FROM core.dim_geography) d
       ON h.area_type = 'district' AND d.district_code = h.area_code
LEFT JOIN reference.outward_code_areas o
       ON h.area_type = 'outward_postcode' AND o.outward_code = h.area_code
LEFT JOIN core.dim_geography g ON g.lsoa11_code = o.lsoa11_code
