#!/bin/sh
# Sender authentication: port-25 acceptance with SPF + DKIM + DMARC + ARC
# checks on against off, and outbound delivery with DKIM signing on
# against off, in one run (bench/msgauth/bench.py says exactly what).
#
#   bench/msgauth.sh BUILD_DIR
#
# Needs Debian's dnsmasq and postfix (smtp-sink), python3-dkim
# (scripts/deps.sh bench installs them) and BUILD_DIR/tern and
# BUILD_DIR/bench/blast. Takes about 2-4 minutes.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 "$HERE/msgauth/bench.py" "$1"
