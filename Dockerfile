# The hotline image. One image for every process; the command chooses what it runs:
#   (default)                 hotline serve, HOTLINE_WEB_WORKERS worker processes on port 8000
#   hotline scheduler         the periodic jobs (outbox dispatch, reminders, escalation)
#   hotline migrate           the schema upgrade to run once before a new version starts
# Build: scripts/build-image.sh (buildah, no Docker engine), or
#   docker build --build-arg BASE_IMAGE=python:3.11-slim-bookworm -t hotline .
# BASE_IMAGE must be Debian bookworm with python3 (3.11+) and its venv module; both stages use it, so the virtualenv
# is made by the same interpreter that runs it. Guide: docs/DEPLOY.md.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS builder
# Behind a TLS-inspecting proxy: the path of its CA bundle, mounted into the build (scripts/build-image.sh does it);
# only this stage sees it.
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install --quiet --upgrade pip
# Runtime dependencies at their locked versions, in a layer that code changes do not invalidate: a placeholder
# package stands in for hotline/ here. The lock also pins the dev tools (pytest, mypy, playwright); they stay out.
COPY requirements.lock pyproject.toml README.md ./
RUN mkdir hotline && touch hotline/__init__.py \
 && /opt/venv/bin/pip install --quiet --constraint requirements.lock -e . \
 && rm -r hotline
# The package itself, installed in place: paths such as alembic.ini, migrations/ and message_templates/ are found
# next to hotline/, so the code lives in /app (same path in the final stage) rather than in site-packages.
COPY hotline ./hotline
RUN /opt/venv/bin/pip install --quiet --no-deps -e . && /opt/venv/bin/hotline --help >/dev/null \
 && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools wheel

FROM ${BASE_IMAGE}
ARG DEBIAN_FRONTEND=noninteractive
# espeak-ng renders the voice prompts (`hotline voice build`); tini forwards SIGTERM and reaps children; pango and a
# Cyrillic font let WeasyPrint lay out the report's and the leaflets' PDFs (docs/REPORTS.md).
RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng tini ca-certificates \
    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 hotline \
 && useradd --system --uid 10001 --gid hotline --home-dir /app --no-create-home --shell /usr/sbin/nologin hotline
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 LANG=C.UTF-8 \
    HOTLINE_WEB_WORKERS=1
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
COPY message_templates ./message_templates
COPY voice_prompts ./voice_prompts
COPY hotline ./hotline
# Bytecode compiled now (the app user cannot write here); var/ is the only writable place: the SQLite database if
# no HOTLINE_DATABASE_URL is given, the generated voice audio (HOTLINE_VOICE_AUDIO_DIR) and development secrets.
RUN python3 -m compileall -q hotline migrations \
 && mkdir -p var/voice && chown -R hotline:hotline var
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001

EXPOSE 8000
# Only `hotline serve` answers HTTP; in a scheduler or other container the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python3", "-c", "import sys, urllib.request; cmd = open('/proc/1/cmdline', 'rb').read().split(b'\\0'); sys.exit(0) if b'serve' not in cmd else urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["hotline", "serve", "--host", "0.0.0.0", "--port", "8000"]
