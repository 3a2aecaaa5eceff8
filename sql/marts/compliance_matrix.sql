-- Authority x dataset x quarter: was the statutory return shared, on time or not? Starts from
-- every return the partnership is owed (reference.expected_returns), so a return nobody sent
-- shows as not_received once its deadline has passed (awaited before), whether or not a
-- task has recorded it. The accepted version in use decides; a rejected resubmission does not
-- hide it (its rows are still the ones in the warehouse). With no accepted version, the
-- newest record does.
WITH ranked AS (
    SELECT r.*,
           ROW_NUMBER() OVER (PARTITION BY dataset, quarter
                              ORDER BY CASE WHEN status = 'accepted' THEN 1 ELSE 0 END DESC,
                                       COALESCE(version, 0) DESC, recorded_at DESC) AS newest
    FROM staging.returns r
    WHERE status <> 'superseded'
)
SELECT
    x.authority, x.dataset, x.quarter, x.held, x.due_date,
    r.version, r.received_at,
    CASE
        WHEN NOT x.held OR r.status = 'not_held' THEN 'not_held'
        WHEN r.status = 'accepted' AND CAST(r.received_at AS DATE) <= x.due_date THEN 'on_time'
        WHEN r.status = 'accepted' THEN 'late'
        WHEN r.status IS NOT NULL THEN r.status
        WHEN a.today > x.due_date THEN 'not_received'
        ELSE 'awaited'
    END AS state,
    CASE WHEN r.status = 'accepted' AND CAST(r.received_at AS DATE) > x.due_date
         THEN CAST(r.received_at AS DATE) - x.due_date END AS days_late,
    r.rows_in, r.rows_loaded, r.rows_quarantined
FROM reference.expected_returns x
CROSS JOIN reference.as_of a
LEFT JOIN ranked r ON r.dataset = x.dataset AND r.quarter = x.quarter AND r.newest = 1
