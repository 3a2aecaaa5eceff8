-- Any LSOA code a source may use (2011, or 2021 as recent police.uk files mix in) -> LSOA 2011.
-- A 2021 LSOA formed by merging 2011 LSOAs maps to the lowest 2011 code (same district).
SELECT lsoa11_code AS lsoa_code, lsoa11_code FROM reference.lsoa_lookup
UNION ALL
SELECT m.lsoa21_code, MIN(m.lsoa11_code)
FROM reference.lsoa21_to_lsoa11 m
WHERE m.lsoa21_code NOT IN (SELECT lsoa11_code FROM reference.lsoa_lookup)
GROUP BY m.lsoa21_code
