-- Hours of the day: part of day, and the night-time-economy hours (20:00-05:59). An event is
-- in the night-time economy when it falls in these hours of a night that starts on a Friday or
-- Saturday (core.dim_date.nte_night_starts); see core.fact_event.
SELECT
    CAST(h AS INTEGER) AS hour,
    CASE WHEN h BETWEEN 6 AND 11 THEN 'morning'
         WHEN h BETWEEN 12 AND 17 THEN 'afternoon'
         WHEN h BETWEEN 18 AND 21 THEN 'evening'
         ELSE 'night' END AS part_of_day,
    CASE WHEN h >= 20 OR h < 6 THEN TRUE ELSE FALSE END AS nte_hours
FROM generate_series(0, 23) AS g(h)
