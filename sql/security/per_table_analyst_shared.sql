-- An area-wide table with no CSP rows (return compliance and quality, quarter readiness, the
-- area's seasonal index, the initiative's displacement): every analyst reads all of it through
-- the view {view}, without the audit columns that name runs and hosts (operators read those in
-- the table itself). A function, like the per-CSP views', so a rebuilt table never depends
-- on (or is blocked by) the view.
REVOKE ALL ON {table} FROM csp_analyst;
DROP VIEW IF EXISTS {view};
DROP FUNCTION IF EXISTS {function};
CREATE FUNCTION {function}() RETURNS TABLE ({typed_columns})
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $rows$
    SELECT {columns} FROM {table} t
$rows$;
ALTER FUNCTION {function}() OWNER TO csp_warehouse;
REVOKE ALL ON FUNCTION {function}() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {function}() TO csp_analyst;
CREATE VIEW {view} AS SELECT * FROM {function}();
ALTER VIEW {view} OWNER TO csp_warehouse;
GRANT SELECT ON {view} TO csp_analyst;
