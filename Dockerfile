# The project image: the official Airflow image (the same Airflow and Python as pyproject.toml)
# with the project installed against the committed constraints. docker-compose.yaml builds it
# and mounts the project folders over the copies made here, so a code change needs no rebuild;
# a dependency change does.
FROM apache/airflow:3.3.2-python3.11

# WeasyPrint (PDF reports) renders through Pango, which the base image lacks.
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
 && apt-get autoremove -yqq --purge \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/*

USER airflow
WORKDIR /opt/airflow

# The code version every ledger entry and load records (csp.provenance): build with
# --build-arg CSP_CODE_VERSION=$(git rev-parse --short HEAD).
ARG CSP_CODE_VERSION=unknown
ENV CSP_CODE_VERSION=${CSP_CODE_VERSION}

# /opt/airflow is the project directory: csp.config finds sql/, expectations/, config/ and
# report_templates/ beside plugins/, so the package is installed editable from here.
COPY --chown=airflow:root pyproject.toml constraints.txt /opt/airflow/
COPY --chown=airflow:root plugins/ /opt/airflow/plugins/
# Pinning apache-airflow to the image's own version keeps pip from moving it (official advice
# for extending the image); the constraints pin everything else, including the `deployment`
# extra (the Celery provider, Celery, the Redis client, psycopg2 and asyncpg for the metadata
# database), so the image runs exactly what tests/ops/test_real_services.py ran.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -c /opt/airflow/constraints.txt -e "/opt/airflow[deployment]"

COPY --chown=airflow:root dags/ /opt/airflow/dags/
COPY --chown=airflow:root sql/ /opt/airflow/sql/
COPY --chown=airflow:root expectations/ /opt/airflow/expectations/
COPY --chown=airflow:root report_templates/ /opt/airflow/report_templates/
COPY --chown=airflow:root config/ /opt/airflow/config/
