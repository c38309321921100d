#!/usr/bin/env bash
# Builds, without any container registry, a local STAND-IN for AWS's Lambda base image
# public.ecr.aws/lambda/python:3.13-x86_64, so `sam local` works on a machine that cannot pull it.
# It is NOT AWS's image: Debian trixie's Python 3.13, awslambdaric from PyPI, and the two files of the
# real image that matter to SAM (the entrypoint and the bootstrap), with Lambda's paths and sys.path.
# SAM builds its emulator image FROM it; run sam with --skip-pull-image (samconfig's `local` does).
#
#   tools/lambda-base-image.sh            # builds the tag unless Docker already has it
#   REBUILD=1 tools/lambda-base-image.sh  # builds it again
# Needs root, Docker, debootstrap (apt-get install debootstrap) and a Debian mirror (DEBIAN_MIRROR).
set -euo pipefail
TAG=${LAMBDA_BASE_IMAGE:-public.ecr.aws/lambda/python:3.13-x86_64}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if [ -z "${REBUILD:-}" ] && docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "lambda-base-image: $TAG is already in Docker (REBUILD=1 to build it again)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "lambda-base-image: needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }

ROOT=$(mktemp -d /tmp/lambda-root.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
echo "lambda-base-image: debootstrap trixie into $ROOT (about a minute)"
debootstrap --variant=minbase --include=python3,ca-certificates trixie "$ROOT" "$MIRROR" >/dev/null

PYTHON_VERSION=$(chroot "$ROOT" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[ "$PYTHON_VERSION" = "3.13" ] || { echo "lambda-base-image: trixie has Python $PYTHON_VERSION, not 3.13" >&2; exit 1; }

# The runtime interface client and the SDK the real image ships, as manylinux cp313 wheels.
python3 -m pip install -q --ignore-installed --no-warn-conflicts --no-compile --only-binary=:all: --python-version 3.13 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 --target "$ROOT/var/runtime" awslambdaric boto3

mkdir -p "$ROOT/var/lang/bin" "$ROOT/var/task" "$ROOT/opt"
ln -sf /usr/bin/python3 "$ROOT/var/lang/bin/python3.13"
ln -sf /usr/bin/python3 "$ROOT/var/lang/bin/python3"
ln -sf /usr/bin/python3 "$ROOT/var/lang/bin/python"

cat > "$ROOT/lambda-entrypoint.sh" <<'SH'
#!/bin/sh
# As in AWS's image: the handler comes as the first argument.
if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"
exec /var/runtime/bootstrap
SH

cat > "$ROOT/var/runtime/bootstrap" <<'SH'
#!/bin/sh
# Lambda's sys.path order: the function, the layers, then the runtime (last, as on Lambda).
export PYTHONPATH="/var/task:/opt/python/lib/python3.13/site-packages:/opt/python${PYTHONPATH:+:$PYTHONPATH}:/var/runtime"
if [ -n "${AWS_LAMBDA_EXEC_WRAPPER:-}" ]; then
  exec "$AWS_LAMBDA_EXEC_WRAPPER" /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
fi
exec /var/lang/bin/python3.13 -m awslambdaric "$_HANDLER"
SH
chmod 755 "$ROOT/lambda-entrypoint.sh" "$ROOT/var/runtime/bootstrap"
rm -rf "$ROOT/var/cache/apt/archives/"*.deb "$ROOT/usr/share/doc" "$ROOT/usr/share/man"

echo "lambda-base-image: importing $TAG"
tar -C "$ROOT" -c . | docker import \
  --change 'ENV LANG=C.UTF-8 TZ=:/etc/localtime PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin LAMBDA_TASK_ROOT=/var/task LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
  - "$TAG" >/dev/null
echo "lambda-base-image: built $TAG (a stand-in, not AWS's image)"
