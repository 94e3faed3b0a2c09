#!/bin/sh
# The image's HEALTHCHECK: this container's server or worker answers /health,
# asked with the container's own certificate (the entrypoint wrote where).
set -eu
[ -f /run/kairos/health-url ] || exit 0  # not a server or worker (a CLI run)
exec /usr/local/bin/kairos health --of "$(cat /run/kairos/health-of)" "$(cat /run/kairos/health-url)"
