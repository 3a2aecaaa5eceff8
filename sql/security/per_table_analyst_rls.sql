-- A per-CSP table ({area} is the row's CSP code, or for a county row of a rates mart its county
-- code). Analysts read it only through the view {view}, which shows the rows of their areas:
-- the view calls a SECURITY DEFINER function (run as csp_warehouse, the owner), so EXPLAIN shows
-- an analyst a function scan of the rows returned, never the table's plan and how many rows
-- of other partnerships the filter removed (a security-barrier view would show both). The
-- function checks that the session's login may act as the role it is asked about. Rows with
-- no CSP (unlocated, outside the area) match no area. The row-level policy stays on the table
-- as a second line, should anyone grant analysts the table itself.
REVOKE ALL ON {table} FROM csp_analyst;
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS analyst_area ON {table};
CREATE POLICY analyst_area ON {table} FOR SELECT TO csp_analyst
    USING ({area} IN (SELECT area_code FROM security.my_areas));
DROP VIEW IF EXISTS {view};
DROP FUNCTION IF EXISTS {function};
CREATE FUNCTION {function}(viewer name) RETURNS TABLE ({typed_columns})
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $rows$
    SELECT {columns} FROM {table} t
    WHERE pg_catalog.pg_has_role(session_user, $1, 'MEMBER')
      AND {row_area} IN (SELECT * FROM security.areas_of($1))
$rows$;
ALTER FUNCTION {function}(name) OWNER TO csp_warehouse;
REVOKE ALL ON FUNCTION {function}(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {function}(name) TO csp_analyst;
CREATE VIEW {view} AS SELECT * FROM {function}(current_user);
ALTER VIEW {view} OWNER TO csp_warehouse;
GRANT SELECT ON {view} TO csp_analyst;
