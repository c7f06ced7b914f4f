#!/bin/sh
# IMAP throughput and idle-connection memory: tern vs a private Dovecot, in
# the same run, on the same messages (bench/imap/bench.py says exactly what).
#
#   bench/imap.sh BUILD_DIR
#
# Needs Debian's dovecot-imapd (scripts/deps.sh bench installs it) and
# BUILD_DIR/tern; as root Dovecot's mail belongs to `nobody`. Takes several
# minutes (a 100,000-message folder per server, 5,000 IDLE connections).
set -eu
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
# 5,000 idle connections: a descriptor on each end, and Dovecot's processes
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 "$HERE/imap/bench.py" "$1"
