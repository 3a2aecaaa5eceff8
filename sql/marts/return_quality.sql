-- Data quality per return version: what came in, what was loaded, quarantined, redacted or out
-- of scope (from the ledger), and how the loaded rows landed in the warehouse (unlocated,
-- outside the area, unclassified). The figures behind the report's data-quality table.
-- Audit: who/what staged each version (the ledger's provenance: run, task, try, host, OS user,
-- code version, recorded_at) and, for the version in the warehouse, when, by which run, on
-- which host and with which code version it was loaded (staging.loaded_returns).
WITH landed AS (
    SELECT return_id, COUNT(*) AS events,
           CAST(SUM(CASE WHEN area_status = 'unlocated' THEN 1 ELSE 0 END) AS BIGINT) AS events_unlocated,
           CAST(SUM(CASE WHEN area_status = 'outside_area' THEN 1 ELSE 0 END) AS BIGINT) AS events_outside_area,
           CAST(SUM(CASE WHEN theme = 'unclassified' THEN 1 ELSE 0 END) AS BIGINT) AS events_unclassified
    FROM core.fact_event
    GROUP BY return_id
    UNION ALL
    SELECT return_id, COUNT(*),
           CAST(SUM(CASE WHEN area_status = 'unlocated' THEN 1 ELSE 0 END) AS BIGINT),
           CAST(SUM(CASE WHEN area_status = 'outside_area' THEN 1 ELSE 0 END) AS BIGINT),
           CAST(SUM(CASE WHEN theme IS NULL THEN 1 ELSE 0 END) AS BIGINT)
    FROM core.fact_count
    GROUP BY return_id
)
SELECT
    r.authority, r.dataset, r.quarter, r.version, r.status, r.received_at,
    r.rows_in, r.rows_loaded, r.rows_quarantined, r.rows_out_of_scope, r.rows_redacted,
    CASE WHEN r.rows_in > 0 THEN 100.0 * r.rows_quarantined / r.rows_in END AS pct_quarantined,
    l.events AS rows_in_warehouse, l.events_unlocated, l.events_outside_area, l.events_unclassified,
    r.failures, r.validation_report,
    r.recorded_at AS staged_at,
    CASE WHEN r.dag_id IS NOT NULL THEN r.dag_id || '/' || r.run_id END AS staged_by_run,
    r.task_id AS staged_by_task, r.try_number AS staged_try, r.hostname AS staged_on_host,
    -- The OS user stays in the ledger (staging.returns) for the auditors: every analyst can read
    -- this mart, and a login name is personal data.
    r.code_version AS staged_code_version,
    lr.loaded_at, lr.loaded_by_run, lr.loaded_on_host, lr.code_version AS loaded_code_version
FROM staging.returns r
LEFT JOIN landed l ON l.return_id = r.dataset || '/' || r.quarter || '/v' || CAST(r.version AS VARCHAR)
LEFT JOIN staging.loaded_returns lr
       ON lr.dataset = r.dataset AND lr.quarter = r.quarter AND lr.version = r.version
WHERE r.version IS NOT NULL
