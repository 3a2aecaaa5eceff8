-- Every record-level return as loaded, in one shape: the columns all record datasets share,
-- and location_key, the opaque identifier of the point an event happened at (repeat locations).
-- location_key: md5 of the point's WGS84 coordinates at 6 decimal places (0.1 m), for rows
-- located by a point only. Namespaced by what the point is: 'snap' for police.uk rows (month
-- precision), whose coordinates are the published anonymisation map points; 'point' for the
-- precise coordinates of force extracts, fire incidents and road collisions. It is an
-- identifier, not a secret: its input is the latitude/longitude the same row already holds, so
-- it discloses nothing more (and is therefore unkeyed: see csp.key_rotation). Null for rows
-- located by LSOA or outward postcode only (council ASB, racial incidents, exclusions, health,
-- ambulance): an area is not a location. Reports name a key's LSOA and ward, never its point.
SELECT e.*,
       CASE WHEN e.location_precision = 'point' AND e.latitude IS NOT NULL AND e.longitude IS NOT NULL
            THEN md5(CASE WHEN e.time_precision = 'month' AND e.dataset IN ('police_crimes', 'police_incidents')
                          THEN 'snap:' ELSE 'point:' END
                     || CAST(CAST(e.latitude AS DECIMAL(9, 6)) AS VARCHAR) || ','
                     || CAST(CAST(e.longitude AS DECIMAL(9, 6)) AS VARCHAR))
       END AS location_key
FROM (
    SELECT 'police_incidents' AS dataset, return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.police_incidents
    UNION ALL SELECT 'police_crimes', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.police_crimes
    UNION ALL SELECT 'fire_incidents', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.fire_incidents
    UNION ALL SELECT 'fire_false_alarms', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.fire_false_alarms
    UNION ALL SELECT 'road_collisions', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.road_collisions
    UNION ALL SELECT 'school_exclusions', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.school_exclusions
    UNION ALL SELECT 'racial_incidents', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.racial_incidents
    UNION ALL SELECT 'council_asb', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.council_asb
    UNION ALL SELECT 'hospital_admissions', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.hospital_admissions
    UNION ALL SELECT 'domestic_abuse_admissions', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.domestic_abuse_admissions
    UNION ALL SELECT 'ambulance_callouts', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.ambulance_callouts
    UNION ALL SELECT 'ed_assault_attendances', return_id, source_line, record_key, event_date, event_time, time_precision, category, category_code, lsoa_code, outward_postcode, latitude, longitude, location_precision FROM staging.ed_assault_attendances
) e
