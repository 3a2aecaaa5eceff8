-- Authority x dataset x quarter: was the statutory return shared, on time or not?
-- The accepted version in use decides; a rejected resubmission does not hide it (its rows
-- are still the ones in the warehouse). With no accepted version, the newest record does.
WITH ranked AS (
    SELECT r.*,
           ROW_NUMBER() OVER (PARTITION BY dataset, quarter
                              ORDER BY CASE WHEN status = 'accepted' THEN 1 ELSE 0 END DESC,
                                       COALESCE(version, 0) DESC) AS newest
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
