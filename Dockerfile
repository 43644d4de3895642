# One image for every Chikaya process; each Kubernetes Deployment (deploy/k8s) picks its command:
#   gateway          gunicorn --config python:gateway.gunicorn_config ... gateway.wsgi:app (the default)
#   a nameko service nameko run --config services/nameko.yaml services.<name>.service
#   a ministry       python -m services.routing.consumer --administration CODE
# It runs as an unprivileged user on a read-only root filesystem: only CHIKAYA_VAR_DIR and
# /tmp must be writable (emptyDir volumes in Kubernetes).
#
#   docker build -t chikaya:dev .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# Only the requirements files, at their paths, so the dependency layer below is rebuilt when
# they change and not at every change of the code.
FROM ${PYTHON_IMAGE} AS requirements
WORKDIR /src
COPY . .
RUN mkdir /requirements \
 && find gateway services -name requirements.txt -exec cp --parents {} /requirements \;

FROM ${PYTHON_IMAGE} AS dependencies
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=requirements /requirements /requirements
# every process's requirements in one resolution, so they cannot disagree
RUN python -m venv /opt/venv \
 && find /requirements -name requirements.txt -printf '-r\n%p\n' \
      | xargs --delimiter='\n' /opt/venv/bin/pip install

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CHIKAYA_VAR_DIR=/app/var
RUN groupadd --system --gid 10001 chikaya \
 && useradd --system --uid 10001 --gid chikaya --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin chikaya
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /app
# the code belongs to root: the process can read it, never change it
COPY gateway gateway
COPY services services
# compiled here, since the running container cannot write: the catalogs (gateway.i18n skips
# a .mo newer than its .po) and the bytecode
RUN python -c "from gateway.i18n import compile_catalogs; compile_catalogs()" \
 && python -m compileall -q gateway services \
 && mkdir -p /app/var \
 && chown chikaya:chikaya /app/var
USER 10001:10001
EXPOSE 8080
CMD ["gunicorn", "--bind", "0.0.0.0:8080", "--workers", "2", "--threads", "4", \
     "--graceful-timeout", "30", "--config", "python:gateway.gunicorn_config", "gateway.wsgi:app"]
