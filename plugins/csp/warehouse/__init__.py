"""The warehouse: one SQLAlchemy URL (DuckDB embedded, PostgreSQL in production), loaded only
by the warehouse DAG (single writer) and transformed by the plain-SQL models in sql/."""
