-- The analysts' views that exist now (my_marts, my_analysis): those whose table is gone are dropped.
SELECT schemaname || '.' || viewname FROM pg_views WHERE schemaname IN ('my_marts', 'my_analysis')
