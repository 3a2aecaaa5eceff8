-- Burglary per 1,000 households (Census 2021) over the 12 months ending each quarter, by LSOA,
-- ward, CSP and county (two-tier areas). Where a force extract gives Home Office codes, only residential burglary
-- (28x) counts; police.uk files do not separate residential from business burglary, so their
-- burglaries all count and burglary_scope says so.
WITH quarter_ends AS (SELECT * FROM core.quarter_windows),
burglaries AS (
    SELECT CAST(DATE_TRUNC('month', event_date) AS DATE) AS month, lsoa11_code,
           CASE WHEN category_code IS NULL THEN 1 ELSE 0 END AS uncoded
    FROM core.fact_event
    WHERE dataset = 'police_crimes' AND category = 'Burglary' AND area_status = 'in_area'
      AND lsoa11_code IS NOT NULL AND (category_code IS NULL OR category_code LIKE '28%')
),
lsoa_events AS (
    SELECT q.period_end, b.lsoa11_code, COUNT(*) AS burglaries, SUM(b.uncoded) AS uncoded
    FROM quarter_ends q
    JOIN burglaries b ON b.month > q.period_end - INTERVAL '12 months' AND b.month <= q.period_end
    GROUP BY q.period_end, b.lsoa11_code
),
lsoa AS (
    SELECT q.period_end, q.complete_window, g.lsoa11_code, g.lsoa11_name, g.ward_code, g.ward_name,
           g.csp_code, g.csp_name, g.county_code, g.county_name, g.households,
           COALESCE(e.burglaries, 0) AS burglaries, COALESCE(e.uncoded, 0) AS uncoded
    FROM quarter_ends q
    CROSS JOIN (SELECT * FROM core.dim_geography WHERE in_area) g
    LEFT JOIN lsoa_events e ON e.period_end = q.period_end AND e.lsoa11_code = g.lsoa11_code
),
levels AS (
    SELECT 'lsoa' AS area_type, period_end, complete_window, lsoa11_code AS area_code, lsoa11_name AS area_name,
           csp_code, burglaries, uncoded, households
    FROM lsoa
    UNION ALL
    SELECT 'ward', period_end, complete_window, ward_code, ward_name, csp_code, CAST(SUM(burglaries) AS BIGINT), CAST(SUM(uncoded) AS BIGINT), CAST(SUM(households) AS BIGINT)
    FROM lsoa GROUP BY period_end, complete_window, ward_code, ward_name, csp_code
    UNION ALL
    SELECT 'csp', period_end, complete_window, csp_code, csp_name, csp_code, CAST(SUM(burglaries) AS BIGINT), CAST(SUM(uncoded) AS BIGINT), CAST(SUM(households) AS BIGINT)
    FROM lsoa GROUP BY period_end, complete_window, csp_code, csp_name
    UNION ALL  -- the county of a two-tier area, across its district partnerships
    SELECT 'county', period_end, complete_window, county_code, county_name, NULL, CAST(SUM(burglaries) AS BIGINT), CAST(SUM(uncoded) AS BIGINT), CAST(SUM(households) AS BIGINT)
    FROM lsoa WHERE county_code IS NOT NULL GROUP BY period_end, complete_window, county_code, county_name
)
SELECT area_type, period_end, area_code, area_name, csp_code, burglaries, households,
       CASE WHEN households > 0 THEN 1000.0 * burglaries / households END AS per_1000_households,
       CASE WHEN uncoded = 0 THEN 'residential' ELSE 'all burglary (no offence codes)' END AS burglary_scope,
       complete_window
FROM levels
