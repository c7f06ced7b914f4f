#!/bin/sh
# Benchmarks of tern against peer systems; `make bench` runs them all.
#
#   bench/run.sh BUILD_DIR [NAME...]     NAME: parse, smtp, outbound, pop3, msgauth, imap (default: all of them)
#
# BUILD_DIR is a build configured with -DTERN_BENCH=ON (make bench does it).
# Generated data goes to bench/data/ (git-ignored) and is made again when it is
# missing or when its generator changed. Raw results (key=value lines) are
# kept in BUILD_DIR/bench-NAME.txt. Environment: BENCH_RUNS (default 3) and
# BENCH_ROUNDS (default 2), see below.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR [parse|smtp|outbound|pop3|msgauth|imap]..." >&2
	exit 2
}
[ $# -ge 1 ] || usage
BUILD=$1
shift
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=$HERE/data
RUNS=${BENCH_RUNS:-3}      # timed passes per program call (x4 for the large set)
ROUNDS=${BENCH_ROUNDS:-2}  # calls per program, taking turns
PY=/usr/bin/python3
ALL="parse smtp outbound pop3 msgauth imap"

# key=value field of a result line: kv KEY LINE
kv() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# of two throughput lines (the first may be empty), the faster
best() {
	if [ -z "$1" ] || awk -v a="$(kv mb_s "$1")" -v b="$(kv mb_s "$2")" 'BEGIN { exit !(b > a) }'; then
		printf '%s\n' "$2"
	else
		printf '%s\n' "$1"
	fi
}

need() {
	for f in "$@"; do
		[ -x "$BUILD/bench/$f" ] || { echo "$0: $BUILD/bench/$f missing: build with -DTERN_BENCH=ON (make bench)" >&2; exit 1; }
	done
}

# ---------------------------------------------------------------- parse ----
# tern's MIME parser vs GMime 3 on the same files in the same run: the full
# part tree with every header decoded (bench/bench.h says exactly what).

parse_corpus() {
	sum=$(sha256sum "$HERE/gen-corpus.py" | cut -d' ' -f1)
	if [ -f "$DATA/STAMP" ] && [ "$(cat "$DATA/GENERATOR" 2>/dev/null)" = "$sum" ]; then
		return
	fi
	echo "generating the corpus in $DATA (once; about 10 s)..." >&2
	rm -f "$DATA/GENERATOR"
	$PY "$HERE/gen-corpus.py" "$DATA"
	echo "$sum" >"$DATA/GENERATOR"
}

bench_parse() {
	need parse-tern parse-gmime
	parse_corpus
	out=$BUILD/bench-parse.txt
	: >"$out"
	gmime_version=$(pkg-config --modversion gmime-3.0 2>/dev/null || echo "?")

	echo "== parse: tern vs GMime $gmime_version - messages in memory, full tree, all headers decoded, best of $((RUNS * ROUNDS)) runs (large: $((RUNS * ROUNDS * 4)))"
	printf '%-8s %6s %8s | %9s %9s | %9s %9s | %6s %-5s | %9s\n' \
		set files MB "tern MB/s" "msgs/s" "GMime MB/s" "msgs/s" ratio "(>=2)" "CPU ratio"
	for set in typical large; do
		# The two take turns, ROUNDS times, so that a burst of load from
		# elsewhere on the machine hits both; the best run of each counts.
		n=$RUNS
		[ $set = large ] && n=$((RUNS * 4))  # a pass over it is short
		t="" g=""
		r=0
		while [ $r -lt "$ROUNDS" ]; do
			t1=$("$BUILD/bench/parse-tern" -n $n -l $set "$DATA/$set")
			g1=$("$BUILD/bench/parse-gmime" -n $n -l $set "$DATA/$set")
			printf '%s\n%s\n' "$t1" "$g1" >>"$out"
			t=$(best "$t" "$t1")
			g=$(best "$g" "$g1")
			r=$((r + 1))
		done
		ratio=$(awk -v a="$(kv mb_s "$t")" -v b="$(kv mb_s "$g")" 'BEGIN { printf "%.2f", a / b }')
		cpu_ratio=$(awk -v a="$(kv cpu_mb_s "$t")" -v b="$(kv cpu_mb_s "$g")" 'BEGIN { printf "%.2f", a / b }')
		verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 2.0) ? "met" : "below" }')
		printf '%-8s %6s %8.1f | %9s %9s | %10s %9s | %6s %-5s | %9s\n' $set "$(kv files "$t")" \
			"$(awk -v b="$(kv bytes "$t")" 'BEGIN { print b / 1e6 }')" \
			"$(kv mb_s "$t")" "$(kv msgs_s "$t")" "$(kv mb_s "$g")" "$(kv msgs_s "$g")" \
			"$ratio" "$verdict" "$cpu_ratio"
		# both must have seen the same message structure
		for k in parts fields addrs params; do
			if [ "$(kv $k "$t")" != "$(kv $k "$g")" ]; then
				echo "   note: $k differ on $set: tern $(kv $k "$t"), GMime $(kv $k "$g")"
			fi
		done
	done

	echo "   ratio: tern MB/s over GMime MB/s, wall clock (CLOCK_MONOTONIC), goal 2.00;"
	echo "   CPU ratio: the same from process CPU time, less disturbed by other load on the machine"
	echo
	echo "== parse: peak memory of one ~20 MB message (RSS growth over the process before it read the file; KiB)"
	printf '%-7s %10s | %12s %12s %9s | %13s %13s\n' file "size KiB" "tern mem" "GMime mem" "tern-size" \
		"tern stream" "GMime stream"
	for f in "$DATA"/large/*.eml; do
		tm=$("$BUILD/bench/parse-tern" -m "$f")
		gm=$("$BUILD/bench/parse-gmime" -m "$f")
		ts=$("$BUILD/bench/parse-tern" -m -s "$f")
		gs=$("$BUILD/bench/parse-gmime" -m -s "$f")
		printf '%s\n%s\n%s\n%s\n' "$tm" "$gm" "$ts" "$gs" >>"$out"
		size_kb=$(( $(kv size "$tm") / 1024 ))
		printf '%-7s %10s | %12s %12s %+9d | %13s %13s\n' "$(basename "$f")" $size_kb \
			"$(kv delta_kb "$tm")" "$(kv delta_kb "$gm")" $(( $(kv delta_kb "$tm") - size_kb )) \
			"$(kv delta_kb "$ts")" "$(kv delta_kb "$gs")"
	done
	echo "   mem: the message read whole into memory, then parsed; stream: parsed from the file descriptor"
	echo "   (tern: 64 KiB reads fed to mime_parser_feed; GMime: GMimeStreamFs). Goal: tern mem <= size + a small constant."
	echo "   raw results: $out"
}

# ------------------------------------------------------------------ main ----
[ $# -gt 0 ] || set -- $ALL
for name in "$@"; do
	case "$name" in
	parse) bench_parse ;;
	smtp) "$HERE/smtp.sh" "$BUILD" ;;  # tern vs Postfix: bench/smtp/bench.py
	outbound) "$HERE/outbound.sh" "$BUILD" ;;  # tern vs Postfix: bench/outbound/bench.py
	pop3) "$HERE/pop3.sh" "$BUILD" ;;  # tern vs Dovecot: bench/pop3/bench.py
	msgauth) "$HERE/msgauth.sh" "$BUILD" ;;  # checks and signing on vs off: bench/msgauth/bench.py
	imap) "$HERE/imap.sh" "$BUILD" ;;  # tern vs Dovecot: bench/imap/bench.py
	*) echo "$0: unknown benchmark '$name' (known: $ALL)" >&2; exit 2 ;;
	esac
	echo
done
