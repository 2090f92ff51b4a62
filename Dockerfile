# First version: one image for `hotline serve` (issue #8 makes it multi-stage, non-root-hardened and proves the build).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.lock pyproject.toml README.md alembic.ini ./
RUN python -m pip install -r requirements.lock
COPY hotline ./hotline
COPY migrations ./migrations
COPY message_templates ./message_templates
RUN python -m pip install --no-deps -e . \
 && useradd --system --home /app hotline && mkdir -p /app/var && chown hotline /app/var
USER hotline

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["hotline", "serve", "--host", "0.0.0.0", "--port", "8000"]
