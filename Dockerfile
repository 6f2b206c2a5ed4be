# syntax=docker/dockerfile:1
# Build: docker build -t alawael .      Run: docker compose up (see docker-compose.yml)

# --- builder: wheels for the app and its runtime dependencies (no dev extras) -----------
FROM python:3.11-slim AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY alawael ./alawael
RUN pip wheel --wheel-dir /wheels .

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
COPY --from=builder /wheels /wheels
RUN pip install --no-index --find-links=/wheels alawael && rm -rf /wheels
WORKDIR /app
USER app
EXPOSE 8000
# Only used when MONGODB_URI is unset (the embedded database keeps its files here).
VOLUME ["/data"]
# curl is not in the slim image: the interpreter does the probe. /healthz calls no dependency.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
# uvicorn drains in-flight requests for up to 30 s on SIGTERM: give it that long
# (`docker stop -t 35`, or stop_grace_period in compose).
STOPSIGNAL SIGTERM
CMD ["alawael", "serve", "--host", "0.0.0.0"]
