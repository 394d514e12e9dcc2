# syntax=docker/dockerfile:1
# Two images from one file:
#   docker build --target tfguard -t tfguard/tfguard:0.1.0 .   # webhook + operator, no TensorFlow
#   docker build --target probe   -t tfguard/probe:0.1.0 .     # copies probe.py into a shared volume
# Bases are pinned to exact releases; pin their digests too (FROM image:tag@sha256:...) when you
# publish images, with the digests your registry reports for these tags.

# ---- build: a self-contained virtual environment with tfguard and its runtime dependencies ----
FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY tfguard ./tfguard
RUN python -m venv /opt/tfguard \
    && /opt/tfguard/bin/pip install --no-cache-dir /src \
    && /opt/tfguard/bin/python -c "import sys, tfguard.cli; assert 'tensorflow' not in sys.modules"

# ---- tfguard: `tfguard webhook serve` and `tfguard operator run` ----
FROM python:3.11.11-slim-bookworm AS tfguard
LABEL org.opencontainers.image.title="tfguard" \
      org.opencontainers.image.description="tfguard admission webhook and operator" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/tfguard /opt/tfguard
# The uid needs a passwd entry: the operator (kopf) names itself after the user (getpass.getuser).
RUN groupadd --system --gid 65532 tfguard \
    && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin tfguard
ENV PATH=/opt/tfguard/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The chart runs it with a read-only root filesystem; /tmp is an emptyDir.
USER 65532:65532
EXPOSE 8443
ENTRYPOINT ["tfguard"]
CMD ["--help"]

# ---- probe: the init container that hands probe.py to the serving container's own image ----
# It needs nothing but `cp`; the probe itself runs with the serving image's Python and TensorFlow.
FROM busybox:1.36.1-musl AS probe
LABEL org.opencontainers.image.title="tfguard-probe" \
      org.opencontainers.image.description="Copies the tfguard probe into a volume shared with the serving container" \
      org.opencontainers.image.licenses="Apache-2.0"
# The webhook injects it with this very command (tfguard/webhook/settings.py: probe_install_command).
COPY --chmod=0444 tfguard/probes/probe.py /opt/tfguard/probe.py
USER 65532:65532
ENTRYPOINT ["cp", "/opt/tfguard/probe.py", "/tfguard/probe.py"]
