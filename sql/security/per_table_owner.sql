-- A table made by a login member of csp_warehouse is owned by that login; hand it to the group
-- so the next run (perhaps another login) can rebuild it, and so owners bypass the policies.
ALTER TABLE {table} OWNER TO csp_warehouse;
