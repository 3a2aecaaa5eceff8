-- Each (dataset, category) seen in the returns, with its harmonised theme (first matching
-- rule of reference.theme_rules, from csp.themes).
WITH categories AS (
    SELECT DISTINCT dataset, category FROM staging.events
),
ranked AS (
    SELECT c.dataset, c.category, r.theme,
           ROW_NUMBER() OVER (PARTITION BY c.dataset, c.category ORDER BY r.priority) AS rank
    FROM categories c
    JOIN reference.theme_rules r ON r.dataset = c.dataset AND c.category LIKE r.pattern
)
SELECT c.dataset, c.category, COALESCE(r.theme, 'unclassified') AS theme
FROM categories c
LEFT JOIN ranked r ON r.dataset = c.dataset AND r.category = c.category AND r.rank = 1
