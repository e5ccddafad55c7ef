# One image for web, worker, beat and the migration job (deploy/docker/entrypoint.sh
# picks the role). Build: docker build -t dim:latest .   Run: docker compose up
# (docs/deployment.md). CI validates this file with hadolint (make deploy-check).

# --- build: the virtualenv, with the wheels' build tools only here ----------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
COPY requirements.txt .
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt

# --- runtime -------------------------------------------------------------------------------
FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MANAGERS_CONFIG_LEVEL=production \
    DIM_VAR_DIR=/var/lib/dim \
    HOST=0.0.0.0 \
    PORT=8000
# A fixed, unprivileged uid/gid: Kubernetes' runAsNonRoot checks the number.
RUN groupadd --system --gid 10001 dim \
    && useradd --system --uid 10001 --gid dim --home-dir /app --shell /usr/sbin/nologin dim \
    && mkdir -p /var/lib/dim \
    && chown dim:dim /var/lib/dim
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# The code stays root's: the process cannot change what it runs.
COPY . .
# Static files are collected into the image (whitenoise serves them), under development
# settings: collectstatic reads no secret.
RUN MANAGERS_CONFIG_LEVEL=development python manage.py collectstatic --no-input -v 0 \
    && chown -R dim:dim /var/lib/dim
USER 10001:10001
EXPOSE 8000
# Liveness of the web role; worker and beat pods override it (deploy/k8s).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
ENTRYPOINT ["/app/deploy/docker/entrypoint.sh"]
CMD ["web"]
