-- Who may see which area. security.analyst_scope is maintained by an administrator: one row
-- per (role, area), the role being a login user or a group role its members share, the area a
-- CSP code (E22...) or, for a county analyst, a county code (E10...), which stands for every
-- CSP of that county. security.my_areas is what the policies read: the areas the current
-- user may see, through any role it is a member of. It is a view owned by the administrator,
-- so analysts read it without being able to read the scope of anybody else.
DO $scope$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'security') THEN
        CREATE SCHEMA security;
    END IF;
    CREATE TABLE IF NOT EXISTS security.analyst_scope (
        role_name text NOT NULL,
        area_code text NOT NULL,
        PRIMARY KEY (role_name, area_code)
    );
    -- Refreshed from core.dim_geography by every build (refresh_csp_county.sql).
    CREATE TABLE IF NOT EXISTS security.csp_county (
        csp_code text NOT NULL,
        county_code text NOT NULL,
        PRIMARY KEY (csp_code, county_code)
    );
    CREATE OR REPLACE VIEW security.my_areas AS
        WITH mine AS (
            SELECT s.area_code
            FROM security.analyst_scope s
            JOIN pg_catalog.pg_roles r ON r.rolname = s.role_name
            WHERE pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER')
        )
        SELECT area_code FROM mine
        UNION
        SELECT c.csp_code FROM mine JOIN security.csp_county c ON c.county_code = mine.area_code;
    -- The same areas for a given role, for the analysts' views (my_marts, my_analysis), whose
    -- SECURITY DEFINER functions run as csp_warehouse and so cannot use current_user. Owned by
    -- the administrator, so it reads the scope; only csp_warehouse may call it (scope_grants).
    CREATE OR REPLACE FUNCTION security.areas_of(viewer name) RETURNS SETOF text
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $areas$
        WITH mine AS (
            SELECT s.area_code
            FROM security.analyst_scope s
            JOIN pg_catalog.pg_roles r ON r.rolname = s.role_name
            WHERE pg_catalog.pg_has_role(viewer, r.oid, 'MEMBER')
        )
        SELECT area_code FROM mine
        UNION
        SELECT c.csp_code FROM mine JOIN security.csp_county c ON c.county_code = mine.area_code
    $areas$;
END
$scope$;
