-- Health events at the precision they have: per month, outward postcode, dataset and theme,
-- with the CSP the outward code is assigned to by the centroid rule (docs/warehouse.md).
-- Never split into LSOAs or wards.
SELECT
    CAST(DATE_TRUNC('month', event_date) AS DATE) AS month,
    outward_postcode, csp_code, area_status, dataset, theme, night_time_economy,
    COUNT(*) AS events
FROM core.fact_event
WHERE location_precision = 'outward_postcode'
GROUP BY 1, 2, 3, 4, 5, 6, 7
