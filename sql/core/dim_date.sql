-- One row per day, with the calendar the reports group by. A night-time-economy night is one
-- that starts on a Friday or Saturday (its NTE hours are in core.dim_hour).
SELECT
    CAST(d AS DATE) AS date,
    CAST(EXTRACT(YEAR FROM d) AS INTEGER) AS year,
    CAST(EXTRACT(MONTH FROM d) AS INTEGER) AS month,
    CAST(DATE_TRUNC('month', d) AS DATE) AS month_start,
    CAST(EXTRACT(YEAR FROM d) AS VARCHAR) || 'Q' || CAST(EXTRACT(QUARTER FROM d) AS VARCHAR) AS quarter,
    CASE WHEN EXTRACT(MONTH FROM d) >= 4
         THEN CAST(EXTRACT(YEAR FROM d) AS INTEGER)
         ELSE CAST(EXTRACT(YEAR FROM d) AS INTEGER) - 1 END AS financial_year_start,
    CASE WHEN EXTRACT(MONTH FROM d) IN (12, 1, 2) THEN 'winter'
         WHEN EXTRACT(MONTH FROM d) IN (3, 4, 5) THEN 'spring'
         WHEN EXTRACT(MONTH FROM d) IN (6, 7, 8) THEN 'summer'
         ELSE 'autumn' END AS season,
    CAST(EXTRACT(DOW FROM d) AS INTEGER) AS weekday,  -- 0 = Sunday
    CASE WHEN EXTRACT(DOW FROM d) IN (0, 6) THEN TRUE ELSE FALSE END AS weekend,
    CASE WHEN EXTRACT(DOW FROM d) IN (5, 6) THEN TRUE ELSE FALSE END AS nte_night_starts
FROM generate_series(CAST('2000-01-01' AS TIMESTAMP), CAST('2040-12-31' AS TIMESTAMP), INTERVAL '1 day') AS g(d)
