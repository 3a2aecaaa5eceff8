-- Analysts read only the view (their own areas); the warehouse DAG refreshes the county
-- membership on each build; nobody but the administrator edits the scope itself.
REVOKE ALL ON SCHEMA security FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA security FROM PUBLIC;
GRANT USAGE ON SCHEMA security TO csp_analyst, csp_warehouse;
GRANT SELECT ON security.my_areas TO csp_analyst, csp_warehouse;
GRANT SELECT, INSERT, DELETE ON security.csp_county TO csp_warehouse;
REVOKE ALL ON FUNCTION security.areas_of(name) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION security.areas_of(name) TO csp_warehouse;
-- The warehouse DAG creates its schemas on a fresh database (csp.warehouse.load), and schemas
-- can be handed to csp_warehouse only if it may create in the database.
-- No login may create temporary tables but the warehouse's (PUBLIC has TEMPORARY by default):
-- an analyst has nothing to stage there.
DO $database$
BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO csp_warehouse', current_database());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO csp_warehouse', current_database());
END
$database$;
