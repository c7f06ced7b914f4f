#!/bin/sh
# Outbound delivery throughput: tern's queue -> smtp-sink against a private
# Postfix instance's, in the same run (bench/outbound/bench.py says exactly
# what).
#
#   bench/outbound.sh BUILD_DIR
#
# Needs root (Postfix's master starts as root), Debian's postfix package
# (smtp-sink, postfix, postsuper, postqueue; scripts/deps.sh bench installs
# it) and BUILD_DIR/tern. Takes about 2-4 minutes. Environment: see
# bench/outbound/bench.py.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# hundreds of connections at once: descriptors on all three sides
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 "$HERE/outbound/bench.py" "$1"
