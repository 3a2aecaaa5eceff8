-- Authority x dataset x quarter: was the statutory return shared, on time or not?
-- The newest version of each quarter decides (a resubmission replaces a rejection).
WITH ranked AS (
    SELECT r.*,
           ROW_NUMBER() OVER (PARTITION BY dataset, quarter
                              ORDER BY COALESCE(version, 0) DESC) AS newest
    FROM staging.returns r
    WHERE status <> 'superseded'
)
SELECT
    authority, dataset, quarter, version, due_date, received_at,
    CASE
        WHEN status = 'accepted' AND CAST(received_at AS DATE) <= due_date THEN 'on_time'
        WHEN status = 'accepted' THEN 'late'
        ELSE status
    END AS state,
    rows_in, rows_loaded, rows_quarantined
FROM ranked
WHERE newest = 1
