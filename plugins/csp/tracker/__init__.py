"""The returns tracker in the Airflow UI (plugins/returns_tracker.py): a "Returns" page, the
compliance matrix (authority x dataset x quarter, each return's state, days late and
versions, linking to its validation report and quarantine summary), and a "Reports" page
(every rendered report by partnership and period).

- ``returns``: what the pages show, read through the platform's own code (the compliance
  matrix of ``csp status`` and the staging ledger);
- ``files``: the only files the pages serve, resolved from validated identifiers inside the
  data and output folders (no path from a request is ever opened as given);
- ``app``: the FastAPI app Airflow's API server mounts, behind Airflow's authentication.

An operations module: it sits on top of the flow and imports from every layer below it.
"""
