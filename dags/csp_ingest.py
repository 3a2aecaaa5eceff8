"""Airflow ingest DAGs, one per responsible authority (police, fire and rescue, local
authority, health), built from the dataset registry. All logic lives in plugins/csp."""
from csp.dag_factory import authority_dag
from csp.registry import AUTHORITIES

for _authority in AUTHORITIES:
    globals()[f"ingest_{_authority}"] = authority_dag(_authority)
