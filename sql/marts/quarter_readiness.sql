-- Is a quarter ready to report? complete: every held dataset is in (accepted); provisional:
-- the statutory deadline has passed without some of them (reports say which); pending:
-- still within the deadline and something is missing. The warehouse DAG renders a quarter's
-- reports when it is complete or provisional, and again when its inputs change.
SELECT
    c.quarter,
    MIN(c.due_date) AS due_date,
    CAST(SUM(CASE WHEN c.held THEN 1 ELSE 0 END) AS BIGINT) AS held_datasets,
    CAST(SUM(CASE WHEN c.state IN ('on_time', 'late') THEN 1 ELSE 0 END) AS BIGINT) AS datasets_in,
    STRING_AGG(CASE WHEN c.held AND c.state NOT IN ('on_time', 'late') THEN c.dataset END, ', '
               ORDER BY c.dataset) AS missing,
    CASE
        WHEN SUM(CASE WHEN c.held AND c.state NOT IN ('on_time', 'late') THEN 1 ELSE 0 END) = 0 THEN 'complete'
        WHEN MIN(a.today) > MIN(c.due_date) THEN 'provisional'
        ELSE 'pending'
    END AS state
FROM marts.compliance_matrix c
CROSS JOIN reference.as_of a
GROUP BY c.quarter
