-- Events per month, CSP, ward, LSOA, theme and dataset: what trend and profile analysis reads.
-- Rows outside the area or without a location stay here with their area_status, so totals
-- reconcile with the returns; analysis selects area_status = 'in_area'.
SELECT
    CAST(DATE_TRUNC('month', event_date) AS DATE) AS month,
    pfa_code, csp_code, ward_code, lsoa11_code, location_precision, area_status,
    dataset, theme, category,
    COUNT(*) AS events,
    SUM(harm_weight) AS harm  -- Crime Severity Score-weighted total (police crimes only)
FROM core.fact_event
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
