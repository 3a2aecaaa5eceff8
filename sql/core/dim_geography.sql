-- LSOA 2011 -> ward -> district -> CSP -> county (two-tier areas) -> police force area.
SELECT lsoa11_code, lsoa11_name, ward_code, ward_name, district_code, district_name,
       csp_code, csp_name, county_code, county_name, pfa_code, pfa_name,
       latitude, longitude, population
FROM reference.lsoa_lookup
