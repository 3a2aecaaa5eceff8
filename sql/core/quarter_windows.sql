-- The 12-month windows the rate marts report: one ending with every quarter the events touch
-- (the last may still be filling up). complete_window is false while the data do not reach
-- back a full 12 months before the window's end.
WITH bounds AS (
    SELECT CAST(DATE_TRUNC('month', MIN(event_date)) AS DATE) AS first_month,
           CAST(DATE_TRUNC('month', MAX(event_date)) AS DATE) AS last_month
    FROM core.fact_event
)
SELECT DISTINCT d.month_start AS period_end,
       CASE WHEN b.first_month <= d.month_start - INTERVAL '11 months' THEN TRUE ELSE FALSE END AS complete_window
FROM core.dim_date d
CROSS JOIN bounds b
WHERE d.month IN (3, 6, 9, 12) AND d.month_start >= b.first_month
  AND d.month_start < b.last_month + INTERVAL '3 months'
