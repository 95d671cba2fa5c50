# syntax=docker/dockerfile:1
# reconciler as a container: the CLI built from this checkout, every dependency and the
# build backend pinned by hash (.github/reconciler-action/requirements.lock, the same lock
# the GitHub Action installs), running as a non-root user.
#
# Build:
#   docker build -t saas-reconciler:0.2.0 .
# Run (manifests and reconciler.yaml in ./access, read-only; credentials from the env):
#   docker run --rm --read-only -v "$PWD/access:/work/access:ro" \
#     -e KLIPFOLIO_API_KEY -e GOLEM_TOKEN -e BITSIGHT_API_TOKEN -e SALESFORCE_ACCESS_TOKEN \
#     -e RECONCILER_ALLOW_HOSTS=acme.my.salesforce.com \
#     saas-reconciler:0.2.0 drift access/
# Try it without credentials, against the built-in sandbox:
#   docker run --rm -v "$PWD/examples:/work/examples:ro" saas-reconciler:0.2.0 plan examples/ --sandbox
# Exit codes are the CLI's: 0 ok, 1 error, 2 changes/drift, 3 bug, 130 interrupted.
# For reproducible builds, pin the base image by digest too (python:3.11.11-slim-bookworm@sha256:...).

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
# A wheel of every locked dependency and of setuptools, each matching a hash of the lock;
# then the project's wheel, built offline with exactly that setuptools.
RUN pip wheel --require-hashes --no-deps --only-binary=:all: --wheel-dir /wheels \
      -r .github/reconciler-action/requirements.lock \
 && pip install --no-index --no-deps --find-links /wheels --require-hashes \
      -r .github/reconciler-action/requirements.lock \
 && pip wheel --no-index --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PATH=/opt/reconciler/bin:$PATH
RUN groupadd --system --gid 10001 reconciler \
 && useradd --system --uid 10001 --gid 10001 --home-dir /work --no-create-home \
      --shell /usr/sbin/nologin reconciler
# Offline install from the build stage's wheels only.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/reconciler \
 && /opt/reconciler/bin/pip install --no-index --find-links /wheels saas-reconciler \
 && reconciler --version
WORKDIR /work
USER 10001:10001
ENTRYPOINT ["reconciler"]
CMD ["--help"]
