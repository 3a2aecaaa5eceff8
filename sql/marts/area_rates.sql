-- Events per 1,000 residents (ONS mid-2020 population) over the 12 months ending each
-- quarter, by LSOA, ward, CSP and county (two-tier areas) and theme, zeros included (rates and hotspot statistics need
-- the areas where nothing happened). Only events located at LSOA precision or finer count:
-- health events, located by outward code, are never turned into LSOA rates. Nor are events
-- located at an institution (reference.located_at_institution: an exclusion at the school), whose
-- rate per resident of the institution's LSOA would show where the institutions are.
WITH quarter_ends AS (SELECT * FROM core.quarter_windows),
lsoa_events AS (
    SELECT q.period_end, m.lsoa11_code, m.theme, CAST(SUM(m.events) AS BIGINT) AS events
    FROM quarter_ends q
    JOIN marts.monthly_counts m
      ON m.month > q.period_end - INTERVAL '12 months' AND m.month <= q.period_end
    WHERE m.area_status = 'in_area' AND m.lsoa11_code IS NOT NULL
      AND m.dataset NOT IN (SELECT dataset FROM reference.located_at_institution)
    GROUP BY q.period_end, m.lsoa11_code, m.theme
),
grid AS (
    SELECT q.period_end, q.complete_window, g.lsoa11_code, g.lsoa11_name, g.ward_code, g.ward_name,
           g.csp_code, g.csp_name, g.county_code, g.county_name, g.population, t.theme
    FROM quarter_ends q
    CROSS JOIN (SELECT * FROM core.dim_geography WHERE in_area) g
    CROSS JOIN (SELECT DISTINCT theme FROM lsoa_events) t
),
lsoa AS (
    SELECT g.*, COALESCE(e.events, 0) AS events
    FROM grid g
    LEFT JOIN lsoa_events e
           ON e.period_end = g.period_end AND e.lsoa11_code = g.lsoa11_code AND e.theme = g.theme
),
levels AS (
    SELECT 'lsoa' AS area_type, period_end, complete_window, lsoa11_code AS area_code, lsoa11_name AS area_name,
           csp_code, theme, events, population
    FROM lsoa
    UNION ALL
    SELECT 'ward', period_end, complete_window, ward_code, ward_name, csp_code, theme, CAST(SUM(events) AS BIGINT), CAST(SUM(population) AS BIGINT)
    FROM lsoa GROUP BY period_end, complete_window, ward_code, ward_name, csp_code, theme
    UNION ALL
    SELECT 'csp', period_end, complete_window, csp_code, csp_name, csp_code, theme, CAST(SUM(events) AS BIGINT), CAST(SUM(population) AS BIGINT)
    FROM lsoa GROUP BY period_end, complete_window, csp_code, csp_name, theme
    UNION ALL  -- the county of a two-tier area, across its district partnerships
    SELECT 'county', period_end, complete_window, county_code, county_name, NULL, theme, CAST(SUM(events) AS BIGINT), CAST(SUM(population) AS BIGINT)
    FROM lsoa WHERE county_code IS NOT NULL GROUP BY period_end, complete_window, county_code, county_name, theme
)
SELECT area_type, period_end, area_code, area_name, csp_code, theme, events, population,
       CASE WHEN population > 0 THEN 1000.0 * events / population END AS per_1000_residents,
       complete_window
FROM levels
