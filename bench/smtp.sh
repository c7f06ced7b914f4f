#!/bin/sh
# SMTP throughput and idle-connection memory: tern vs a private Postfix
# instance, in the same run (bench/smtp/bench.py says exactly what).
#
#   bench/smtp.sh BUILD_DIR
#
# Needs root (Postfix's master starts as root), Debian's postfix package
# (smtp-source, postfix; scripts/deps.sh bench installs it) and BUILD_DIR/tern.
# Takes about 3-5 minutes. Environment: see bench/smtp/bench.py.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# 2,000 idle connections, each a descriptor on both ends; the servers
# started from here inherit the limit.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 "$HERE/smtp/bench.py" "$1"
