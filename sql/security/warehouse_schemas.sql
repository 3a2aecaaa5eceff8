-- The warehouse schemas belong to csp_warehouse (a member of it can drop and recreate any
-- model); nobody else may create in them. Ingest sees staging only; operators the ledger in
-- staging and the compliance marts; analysts only their own schemas my_marts and my_analysis,
-- whose views show the rows of their areas (per_table_analyst_*.sql), never the tables behind.
CREATE SCHEMA IF NOT EXISTS reference;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS analysis;
CREATE SCHEMA IF NOT EXISTS my_marts;
CREATE SCHEMA IF NOT EXISTS my_analysis;
ALTER SCHEMA reference OWNER TO csp_warehouse;
ALTER SCHEMA staging OWNER TO csp_warehouse;
ALTER SCHEMA core OWNER TO csp_warehouse;
ALTER SCHEMA marts OWNER TO csp_warehouse;
ALTER SCHEMA analysis OWNER TO csp_warehouse;
ALTER SCHEMA my_marts OWNER TO csp_warehouse;
ALTER SCHEMA my_analysis OWNER TO csp_warehouse;
REVOKE ALL ON SCHEMA reference, staging, core, marts, analysis, my_marts, my_analysis FROM PUBLIC;
-- Analysts once read marts and analysis directly (row-level security alone leaks other
-- partnerships' row counts through EXPLAIN): no longer.
REVOKE ALL ON SCHEMA marts, analysis FROM csp_analyst;
GRANT USAGE ON SCHEMA staging TO csp_ingest;
GRANT USAGE ON SCHEMA staging, marts TO csp_operator;
GRANT USAGE ON SCHEMA my_marts, my_analysis TO csp_analyst;
