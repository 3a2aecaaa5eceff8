-- Rolling 12 months per CSP and theme: for each month, the events of the 12 months ending
-- with it and of the 12 months before those. complete_window is false while the data do not
-- yet reach back 24 months, so a comparison is never made against a part-year.
WITH monthly AS (
    SELECT month, csp_code, theme, CAST(SUM(events) AS BIGINT) AS events
    FROM marts.monthly_counts
    WHERE area_status = 'in_area'
    GROUP BY month, csp_code, theme
),
months AS (SELECT DISTINCT month FROM monthly),
series AS (SELECT DISTINCT csp_code, theme FROM monthly),
first_month AS (SELECT MIN(month) AS month FROM monthly)
SELECT
    e.month AS period_end, s.csp_code, s.theme,
    CAST(COALESCE(SUM(CASE WHEN m.month > e.month - INTERVAL '12 months' THEN m.events END), 0) AS BIGINT) AS events_12m,
    CAST(COALESCE(SUM(CASE WHEN m.month <= e.month - INTERVAL '12 months' THEN m.events END), 0) AS BIGINT) AS events_previous_12m,
    CASE WHEN MIN(f.month) <= e.month - INTERVAL '23 months' THEN TRUE ELSE FALSE END AS complete_window
FROM months e
CROSS JOIN series s
CROSS JOIN first_month f
LEFT JOIN monthly m
       ON m.csp_code = s.csp_code AND m.theme = s.theme
      AND m.month > e.month - INTERVAL '24 months' AND m.month <= e.month
GROUP BY e.month, s.csp_code, s.theme
