#!/bin/sh
# POP3 download speed and memory per logged-in session: tern vs a private
# Dovecot (dovecot-pop3d) instance, in the same run (bench/pop3/bench.py
# says exactly what).
#
#   bench/pop3.sh BUILD_DIR
#
# Needs root (Dovecot runs as nobody; its files are given to nobody),
# Debian's dovecot-pop3d (scripts/deps.sh bench installs it), BUILD_DIR/tern
# and BUILD_DIR/bench/pop3-fetch. Takes about 2-4 minutes. Environment: see
# bench/pop3/bench.py.
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 "$HERE/pop3/bench.py" "$1"
