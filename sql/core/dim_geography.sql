-- LSOA 2011 -> ward -> district -> CSP -> county (two-tier areas) -> police force area, in
-- today's districts (a reorganised district's LSOAs sit in its successor, see csp.geography),
-- with residents (ONS mid-2020), households (Census 2021) and whether the deployment serves it.
-- LSOA 2021 codes reach this table through core.lsoa_code_map.
SELECT g.lsoa11_code, g.lsoa11_name, g.ward_code, g.ward_name,
       g.district_code, g.district_name, g.district_2019_code,
       g.csp_code, g.csp_name, g.county_code, g.county_name, g.pfa_code, g.pfa_name,
       g.latitude, g.longitude, g.population, h.households,
       CASE WHEN s.csp_code IS NULL THEN FALSE ELSE TRUE END AS in_area
FROM reference.lsoa_lookup g
LEFT JOIN reference.lsoa_households h ON h.lsoa11_code = g.lsoa11_code
LEFT JOIN reference.served_partnerships s ON s.csp_code = g.csp_code
