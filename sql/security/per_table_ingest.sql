-- A return table of staging (one per dataset): ingest may append to it and read it, never
-- change or remove a row (no UPDATE, DELETE or TRUNCATE; no CREATE, no core, marts or
-- analysis). The warehouse DAG (the owner) replaces partitions.
REVOKE ALL ON {table} FROM csp_ingest;
GRANT SELECT, INSERT ON {table} TO csp_ingest;
