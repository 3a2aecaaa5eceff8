"""Airflow warehouse DAG: load accepted returns, build the SQL models, render the reports.
All logic lives in plugins/csp."""
from csp.dag_factory import warehouse_dag

warehouse = warehouse_dag()
