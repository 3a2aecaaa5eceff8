-- Every theme a category bears on: its primary theme, plus the secondary themes of
-- reference.secondary_theme_rules (an assault on a pupil is young people at risk and
-- violence). Counting through this bridge counts an event once per theme.
SELECT dataset, category, theme, TRUE AS is_primary
FROM core.dim_category
UNION
SELECT c.dataset, c.category, r.theme, FALSE
FROM core.dim_category c
JOIN reference.secondary_theme_rules r ON r.dataset = c.dataset AND c.category LIKE r.pattern
WHERE r.theme <> c.theme
