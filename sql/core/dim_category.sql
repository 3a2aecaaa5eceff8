-- Each (dataset, category) seen in the returns, with its harmonised primary theme (first
-- matching rule of reference.theme_rules, from csp.themes) and the source classification it
-- comes from. Secondary themes are in core.category_themes.
WITH categories AS (
    SELECT dataset, category, MIN(category_code) AS example_code, COUNT(DISTINCT category_code) AS codes
    FROM staging.events
    GROUP BY dataset, category
),
ranked AS (
    SELECT c.dataset, c.category, r.theme,
           ROW_NUMBER() OVER (PARTITION BY c.dataset, c.category ORDER BY r.priority) AS rank
    FROM categories c
    JOIN reference.theme_rules r ON r.dataset = c.dataset AND c.category LIKE r.pattern
)
SELECT c.dataset, c.category, COALESCE(r.theme, 'unclassified') AS theme,
       k.classification, c.example_code, c.codes AS distinct_codes
FROM categories c
LEFT JOIN ranked r ON r.dataset = c.dataset AND r.category = c.category AND r.rank = 1
LEFT JOIN reference.classifications k ON k.dataset = c.dataset
