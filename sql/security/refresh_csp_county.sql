-- Which CSPs make up each county (two-tier areas), from the geography the build just made:
-- a county analyst's scope row stands for all of them.
DELETE FROM security.csp_county;
INSERT INTO security.csp_county (csp_code, county_code)
SELECT DISTINCT csp_code, county_code
FROM core.dim_geography
WHERE csp_code IS NOT NULL AND county_code IS NOT NULL;
