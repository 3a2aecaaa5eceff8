-- The warehouse schemas belong to csp_warehouse (a member of it can drop and recreate any
-- model); nobody else may create in them. Ingest sees staging only, analysts marts and analysis.
CREATE SCHEMA IF NOT EXISTS reference;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS analysis;
ALTER SCHEMA reference OWNER TO csp_warehouse;
ALTER SCHEMA staging OWNER TO csp_warehouse;
ALTER SCHEMA core OWNER TO csp_warehouse;
ALTER SCHEMA marts OWNER TO csp_warehouse;
ALTER SCHEMA analysis OWNER TO csp_warehouse;
REVOKE ALL ON SCHEMA reference, staging, core, marts, analysis FROM PUBLIC;
GRANT USAGE ON SCHEMA staging TO csp_ingest;
GRANT USAGE ON SCHEMA marts, analysis TO csp_analyst;
