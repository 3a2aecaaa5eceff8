-- A compliance mart operators read whole, audit columns (runs, hosts) included.
GRANT SELECT ON {table} TO csp_operator;
