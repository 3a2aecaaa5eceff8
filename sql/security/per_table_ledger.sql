-- The ledger mirror (staging.returns) and the load bookkeeping (staging.loaded_returns): written
-- by their one writer, the warehouse DAG (the owner), from the ledger files. Nobody else may
-- write them; ingest may not even read them; operators read them (who staged and loaded what).
REVOKE ALL ON {table} FROM csp_ingest, csp_analyst, csp_operator;
GRANT SELECT ON {table} TO csp_operator;
