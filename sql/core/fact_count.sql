-- Aggregate returns (dataset 11): counts per measure, period and area, with the CSP the area
-- belongs to: district codes directly (a reorganised district's old code reaches its
-- successor), outward codes by the centroid rule. Counts keep the area they were published for.
SELECT
    'health_counts' AS dataset, h.return_id, h.measure, t.theme,
    h.period_start, h.period_end, h.area_type, h.area_code, h.value,
    COALESCE(d.csp_code, g.csp_code) AS csp_code,
    COALESCE(d.pfa_code, g.pfa_code) AS pfa_code,
    CASE WHEN COALESCE(d.csp_code, g.csp_code) IS NULL THEN 'unlocated'
         WHEN COALESCE(d.in_area, g.in_area) THEN 'in_area'
         ELSE 'outside_area' END AS area_status
FROM staging.health_counts h
LEFT JOIN reference.measure_themes t ON t.measure = h.measure
LEFT JOIN (SELECT district_code AS code, csp_code, pfa_code, in_area FROM core.dim_geography
           UNION
           SELECT district_2019_code, csp_code, pfa_code, in_area FROM core.dim_geography) d
       ON h.area_type = 'district' AND d.code = h.area_code
LEFT JOIN reference.outward_code_areas o
       ON h.area_type = 'outward_postcode' AND o.outward_code = h.area_code
LEFT JOIN core.dim_geography g ON g.lsoa11_code = o.lsoa11_code
