"""Statistical core of the analysis library: pure, vectorised functions over pandas frames.

One idea per module; every module's docstring names its method and source.

- ``change``       rolling 12 months and year to date versus the year before, exact Poisson test, BH FDR
- ``control``      c-chart / XmR control charts with run rules and a seasonal baseline
- ``seasonality``  seasonal index per theme, same month last year
- ``hotspots``     rates per 1,000 residents, Getis-Ord Gi* with contiguity or distance-band weights
- ``repeats``      repeat locations and the Knox near-repeat test
- ``harm``         Crime Severity Score weights per police.uk crime type
- ``wdq``          Weighted Displacement Quotient and Total Net Effect
- ``priority``     MoRiLE-style priority matrix with an audit trail
- ``fdr``          Benjamini-Hochberg adjustment shared by the above

Input frames follow ``marts.monthly_counts`` (month, pfa_code, csp_code, ward_code, lsoa11_code,
location_precision, dataset, theme, category, events): pass the column to analyse by name.
"""
