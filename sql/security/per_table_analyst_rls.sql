-- A per-CSP table: analysts read only the rows of the areas in security.my_areas ({area} is
-- the row's CSP code, or for a county row of a rates mart its county code). Rows with no CSP
-- (unlocated, outside the area) match no area. No policy allows INSERT, UPDATE or DELETE,
-- and analysts hold no such privilege either. The owner (csp_warehouse) is not subject to it.
GRANT SELECT ON {table} TO csp_analyst;
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS analyst_area ON {table};
CREATE POLICY analyst_area ON {table} FOR SELECT TO csp_analyst
    USING ({area} IN (SELECT area_code FROM security.my_areas));
