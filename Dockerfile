# coopflow: one image for `coopflow web` (the default command), `coopflow worker` and the one-shot
# commands (`coopflow db upgrade`, `coopflow temporal setup`). See docs/production.md.

# --- builder: installs coopflow and its dependencies into a virtual environment -------------------
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/coopflow
WORKDIR /src

# The dependencies first, in a layer of their own: a change to the code does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/coopflow/bin/pip install -r /tmp/requirements.txt

# Then coopflow itself, as a regular (not editable) install: templates, pages, translations, mail
# texts and migrations come along as package data.
COPY . .
RUN /opt/coopflow/bin/pip install --no-deps . \
    && /opt/coopflow/bin/coopflow --help > /dev/null

# --- final: the virtual environment on a clean slim image, run by an unprivileged user ------------
FROM python:3.11-slim

RUN groupadd --system --gid 10001 coopflow \
    && useradd --system --uid 10001 --gid coopflow --home-dir /var/lib/coopflow --create-home \
        --shell /usr/sbin/nologin coopflow

COPY --from=builder /opt/coopflow /opt/coopflow

ENV PATH=/opt/coopflow/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COOPFLOW_DATA_DIR=/var/lib/coopflow \
    COOPFLOW_LOG_FORMAT=json

USER coopflow
WORKDIR /var/lib/coopflow
EXPOSE 8000

# The web app's health (Temporal and the store answer); the worker's service turns it off.
# Slim images have no curl: Python asks. An HTTP error (503) or no answer is a non-zero exit.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]

ENTRYPOINT ["coopflow"]
CMD ["web", "--host", "0.0.0.0"]
