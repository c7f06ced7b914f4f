#!/bin/sh
# Install the Debian packages a make target needs, when they are missing.
# Usage: scripts/deps.sh build|test|fuzz|bench|run
# As root this runs apt-get; otherwise it prints the exact command and fails.
set -e

# zlib: DMARC reports are gzip'd; publicsuffix: the list DMARC reads at start
build="cmake make gcc pkg-config libevent-dev libssl-dev libc-ares-dev libsqlite3-dev libcrypt-dev zlib1g-dev publicsuffix"
# swaks needs Net::SSLeay for --tls (a Recommends, not installed by default);
# python3-dkim (with python3-nacl for Ed25519, python3-authres for ARC), python3-spf and
# opendkim-tools: the independent implementations the sender-authentication tests compare with;
# systemd for systemd-analyze verify of the unit (it works without systemd
# running as PID 1), groff-base to check the man pages, openssl to make
# test certificates (tests/integration/test_install.py, test_admin.py)
test="$build libcmocka-dev python3-pytest swaks libnet-ssleay-perl dovecot-imapd postfix fetchmail getmail6 python3-dkim python3-nacl python3-authres python3-dnspython python3-spf opendkim-tools systemd groff-base openssl isync neomutt"
fuzz="$build clang libclang-rt-14-dev"
# dnsmasq and python3-dkim: the sender-authentication benchmark (bench/msgauth)
bench="$build libgmime-3.0-dev postfix dovecot-imapd dovecot-pop3d dnsmasq python3-dkim"

case "$1" in
build|run) want="$build" ;;
test) want="$test" ;;
fuzz|asan) want="$test clang libclang-rt-14-dev" ;;
bench) want="$bench" ;;
*) echo "usage: $0 build|test|fuzz|asan|bench|run" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing" >&2
	echo "install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# postfix asks questions on install; answer them for a local-only setup
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
# Peer servers (postfix, dovecot) are installed for tests and benchmarks, which
# run private instances on loopback: keep Debian from starting the system ones.
policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
status=0
if ! apt-get install -y -q --no-install-recommends $missing; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing || status=$?
fi
[ -n "$made_policy" ] && rm -f "$policy"
exit $status
