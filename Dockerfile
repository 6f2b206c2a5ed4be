# syntax=docker/dockerfile:1
# Build: docker build -t alawael .      Run: docker compose up (see docker-compose.yml)

# --- builder: the app and its runtime dependencies, exactly as uv.lock pins them ---------
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv UV_COMPILE_BYTECODE=1
COPY tools/uv.txt /tmp/uv.txt
RUN pip install --require-hashes --no-deps -r /tmp/uv.txt
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY alawael ./alawael
# --locked: fail if the lock is stale; no dev extras; the app itself as a normal install.
RUN uv sync --locked --no-dev --no-editable

# --- runtime: slim, non-root, only the installed wheels --------------------------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENV=production \
    LOG_FORMAT=json \
    HOST=0.0.0.0 \
    PORT=8000 \
    WORKERS=1 \
    EMBEDDED_DB_PATH=/data/db
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app /data \
    && chown app:app /app /data
COPY --from=builder /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /app
USER app
EXPOSE 8000
# Only used when MONGODB_URI is unset (the embedded database keeps its files here).
VOLUME ["/data"]
# curl is not in the slim image: the interpreter does the probe. Liveness, so /healthz (no
# dependency is called): restarting the container cannot fix a MongoDB outage, and an
# orchestrator that replaces unhealthy containers would restart every instance at once.
# Load balancers use /api/health (503 while MongoDB is down); Kubernetes readiness /readyz.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# uvicorn drains in-flight requests for up to 30 s on SIGTERM: give it that long
# (`docker stop -t 35`, or stop_grace_period in compose).
STOPSIGNAL SIGTERM
CMD ["alawael", "serve", "--host", "0.0.0.0"]
