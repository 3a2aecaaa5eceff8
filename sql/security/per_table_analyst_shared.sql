-- An area-wide table with no CSP rows (return compliance and quality, quarter readiness, the
-- area's seasonal index, the initiative's displacement): every analyst reads all of it.
GRANT SELECT ON {table} TO csp_analyst;
