-- The four group roles. NOLOGIN: a deployment grants them to its login users
-- (GRANT csp_analyst TO alice). Roles are cluster-wide, so creation tolerates a concurrent
-- creator (two databases of one cluster applying security at the same moment).
DO $roles$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['csp_ingest', 'csp_warehouse', 'csp_analyst', 'csp_operator'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                RAISE NOTICE 'role % was created concurrently', wanted;
            END;
        END IF;
    END LOOP;
END
$roles$;
