-- A return table of staging (one per dataset) or the ledger mirror: ingest may write it,
-- nothing else (no CREATE, no core, marts or analysis).
GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO csp_ingest;
