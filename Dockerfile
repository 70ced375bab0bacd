# syntax=docker/dockerfile:1
# sseguard's container image: `sseguard serve` as a fixed non-root user, configured by a file
# mounted at /etc/sseguard/config.yaml. docs/deploy.md says how to run it and what was verified.
#
#   docker build -t sseguard .                                     # the gateway alone
#   docker build -t sseguard --build-arg SSEGUARD_EXTRAS=postgres .   # with the PostgreSQL log
#
# Two stages: the first builds sseguard's wheel and a wheel of every dependency; the second
# installs them from that folder alone (--no-index), so the runtime image holds no compiler, no
# source tree and no pip cache, only what `sseguard serve` imports.

ARG PYTHON_IMAGE=python:3.12-slim

FROM ${PYTHON_IMAGE} AS build
# Optional dependency groups of pyproject.toml, comma-separated (postgres: a postgresql:// DSN in
# observe.request_log). pip only warns about an extra the package does not declare.
ARG SSEGUARD_EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
# Only what the wheel is built from (.dockerignore keeps the rest of the checkout out).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --wheel-dir /wheels ".${SSEGUARD_EXTRAS:+[$SSEGUARD_EXTRAS]}"

FROM ${PYTHON_IMAGE} AS runtime
ARG SSEGUARD_EXTRAS=""
# The uid the process runs as, fixed so that volumes and Kubernetes' runAsUser can name it.
ARG SSEGUARD_UID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    SSEGUARD_CONFIG=/etc/sseguard/config.yaml \
    SSEGUARD_STATE_DIR=/var/lib/sseguard
# The state directory (the SQLite request log by default) belongs to that user, 0700 as sseguard
# makes it itself; mount a volume there to keep the log across containers.
RUN groupadd --system --gid "${SSEGUARD_UID}" sseguard \
    && useradd --system --uid "${SSEGUARD_UID}" --gid "${SSEGUARD_UID}" --no-create-home \
       --home-dir /var/lib/sseguard --shell /usr/sbin/nologin sseguard \
    && install -d -o "${SSEGUARD_UID}" -g "${SSEGUARD_UID}" -m 0700 /var/lib/sseguard \
    && install -d -m 0755 /etc/sseguard
# The wheels are bind-mounted from the build stage (BuildKit), never copied into a layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "sseguard${SSEGUARD_EXTRAS:+[$SSEGUARD_EXTRAS]}"
USER 10001:10001
WORKDIR /var/lib/sseguard
EXPOSE 8080
# No curl in a slim image: the interpreter that is there asks /healthz. 127.0.0.1 is the container
# itself; a config with server.allowed_hosts must list 127.0.0.1 for this request to be answered.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]
# SIGTERM starts the drain: server.drain_delay, then server.shutdown_grace for open streams
# (docs/deploy.md). `docker stop` waits 10 s by default: give it --stop-timeout longer than both.
STOPSIGNAL SIGTERM
# The config comes from $SSEGUARD_CONFIG. 0.0.0.0 because a container's loopback is its own, and
# sseguard refuses to listen there while a deployment sends a key of the operator's and nothing
# authenticates clients: give clients gateway keys (`keys:` in the config), or append
# `--allow-open` (`docker run ... sseguard --allow-open`) only when nothing but trusted clients
# reach this port (docs/deploy.md).
ENTRYPOINT ["sseguard", "serve", "--host", "0.0.0.0", "--port", "8080"]
CMD []
