#ifndef TERN_LIMITS_H
#define TERN_LIMITS_H

/*
 * Every limit tern enforces, in one place (Postfix's mail_params.h idea):
 * its name, its default and, where an administrator may change it, the
 * config key. Hitting a limit gives a protocol error (and, where it makes
 * sense, a disconnect) - never a silent truncation.
 */

/* Message parsing (src/message). Not configurable: they bound work on hostile input. */
#define TERN_MIME_MAX_DEPTH          100       /* nesting of multiparts/messages; deeper is opaque */
#define TERN_MIME_MAX_PARTS          10000     /* parts per message; more are opaque */
#define TERN_MIME_MAX_HEADER_FIELDS  10000     /* fields per header block */
#define TERN_MIME_MAX_HEADER_SIZE    (1024 * 1024) /* bytes per header block */
#define TERN_MIME_MAX_LINE_LENGTH    (64 * 1024)   /* a longer header line is split */
#define TERN_ADDRESS_MAX_COUNT       10000     /* addresses in one header field */

/*
 * Network limits: the defaults of the [limits] config keys (the key is
 * named after each). src/base/settings.c reads them into struct
 * tern_limits; protocol code takes them from there, never from here.
 */
#define TERN_DEFAULT_MESSAGE_SIZE        52428800  /* message_size: bytes per message (SMTP SIZE, IMAP APPEND) */
#define TERN_DEFAULT_RECIPIENTS          100       /* recipients: RCPT TO per message; RFC 5321 4.5.3.1.8 minimum */
#define TERN_DEFAULT_LINE_LENGTH         8192      /* line_length: bytes per command line, CRLF excluded;
						      RFC 5321 4.5.3.1.4 (512) and RFC 7162 section 4 (8192) minima */
#define TERN_DEFAULT_BAD_COMMANDS        20        /* bad_commands: 5xx replies in a row before 421 and disconnect
						      (a 2xx/3xx reply starts the count again, a 4xx neither counts
						      nor resets it; server-session.c count_reply()) */
#define TERN_DEFAULT_AUTH_FAILURES       3         /* auth_failures: failed AUTH/LOGIN per connection before disconnect */
#define TERN_DEFAULT_CONNECTIONS         10000     /* connections: open client connections of every protocol
						      together (an idle one costs a few KiB; tern serve raises
						      RLIMIT_NOFILE to fit) */
#define TERN_DEFAULT_CONNECTIONS_PER_IP  50        /* connections_per_ip: open connections from one address
						      (IPv6: one /64), every protocol together; relay.networks
						      are exempt. An office behind NAT runs several IMAP
						      clients of several connections each. */
#define TERN_DEFAULT_SMTP_TIMEOUT        300       /* smtp_timeout (seconds): idle; RFC 5321 4.5.3.2.7 (5 minutes) */
#define TERN_DEFAULT_IMAP_TIMEOUT        1800      /* imap_timeout: idle; RFC 9051 5.4 (at least 30 minutes) */
#define TERN_DEFAULT_POP3_TIMEOUT        600       /* pop3_timeout: idle; RFC 1939 section 3 (at least 10 minutes) */
#define TERN_DEFAULT_SESSION_TIMEOUT     3600      /* session_timeout: total time of one SMTP/POP3 connection */
#define TERN_DEFAULT_LOGIN_TIMEOUT       180       /* login_timeout: idle before login (IMAP, POP3) */
#define TERN_DEFAULT_STRESS_TIMEOUT      10        /* stress_timeout: idle timeout of sessions not in a transaction
						      and not logged in, while connections pass 80% of the limit
						      (Postfix's stress mode) */

/* The failed-login throttle ([auth] throttle_* keys, src/net/auth-throttle.h) */
#define TERN_DEFAULT_AUTH_THROTTLE_WINDOW        900  /* throttle_window: seconds over which failures count */
#define TERN_DEFAULT_AUTH_THROTTLE_DELAY_AFTER   3    /* throttle_delay_after: failures from an address before its attempts wait */
#define TERN_DEFAULT_AUTH_THROTTLE_BLOCK_AFTER   10   /* throttle_block_after: failures from an address before it is refused */
#define TERN_DEFAULT_AUTH_THROTTLE_BLOCK_TIME    900  /* throttle_block_time: seconds refused after the last failure */
#define TERN_DEFAULT_AUTH_THROTTLE_ACCOUNT_LIMIT 30   /* throttle_account_limit: failures on one account before failing addresses are refused */
#define AUTH_THROTTLE_MAX_ENTRIES        65536     /* addresses (and accounts) remembered; oldest forgotten first */
#define AUTH_THROTTLE_MAX_DELAY_SECS     15        /* the longest wait before a throttled attempt is checked */
#define TERN_DEFAULT_HOPS                50        /* hops: Received fields before a loop is assumed; RFC 5321 6.3 */

/* IMAP commands (src/imap/imap-parser.h). Not configurable: they bound
   work on hostile input; APPEND's message literal is bounded by
   limits.message_size (APPENDLIMIT) instead. */
#define IMAP_MAX_LIST_DEPTH          64        /* nested parentheses in one command (SEARCH nesting too) */
#define IMAP_MAX_ARGS                100000    /* arguments in one command, lists included */
#define IMAP_MAX_LITERAL             (1024 * 1024)  /* a literal kept in memory (not APPEND's message) */
#define IMAP_MAX_COMMAND             (8 * 1024 * 1024) /* one command's lines and in-memory literals */
#define IMAP_MAX_DISCARD_LITERAL     (4 * 1024 * 1024) /* a refused non-synchronizing literal still read
							  (and dropped); a larger one closes the connection */
#define IMAP_MAX_SEQSET_RANGES       100000    /* ranges in one sequence set */
#define IMAP_MAX_SEARCH_KEYS         10000     /* keys in one SEARCH */
#define IMAP_MAX_FETCH_ITEMS         1000      /* data items in one FETCH */
#define IMAP_MAX_ID_PARAMS           30        /* RFC 2971 3.3: field-value pairs in ID */

/* The mailbox store (src/store/mailbox.h, docs/store.md). Not configurable. */
#define TERN_STORE_MAX_KEYWORDS      26        /* keywords per folder: the Maildir letters a-z */
#define TERN_STORE_MAX_FOLDERS       10000     /* folders per user */
#define TERN_STORE_MAX_FOLDER_NAME   200       /* bytes of a folder name (UTF-8); its Maildir++
						  directory name (modified UTF-7, escapes) must
						  also fit NAME_MAX */
#define TERN_STORE_MAX_FOLDER_DEPTH  32        /* "/"-separated components of a folder name */
#define TERN_STORE_IDLE_CLOSE        60        /* seconds before an unused index connection closes */
#define TERN_STORE_MTIME_SLACK       2         /* a directory mtime this recent (seconds) is
						  not trusted as "scanned": rescan later */
#define TERN_SEARCH_MAX_DEPTH        64        /* nesting of a search tree (IMAP_MAX_LIST_DEPTH) */
#define TERN_SEARCH_MAX_ARGS         10000     /* nodes of a search tree (IMAP_MAX_SEARCH_KEYS) */
#define TERN_SEARCH_MAX_TEXT         (16 * 1024 * 1024) /* decoded bytes searched per message */

/* Bounds of the config values themselves (settings.c checks them). */
#define TERN_LIMIT_MIN_LINE_LENGTH       512       /* RFC 5321 4.5.3.1.4 command line */
#define TERN_LIMIT_MAX_LINE_LENGTH       (1024 * 1024)
#define TERN_LIMIT_MAX_MESSAGE_SIZE      ((int64_t)1 << 40)
#define TERN_LIMIT_MAX_TIMEOUT           (7 * 24 * 3600)

/* Default [delivery] durations, seconds */
#define TERN_DEFAULT_BOUNCE_AFTER        (5 * 24 * 3600)

/*
 * Fixed bounds on input from others: the network, remote servers' replies
 * and DNS answers, other local users (the maildrop), messages being parsed
 * or returned. Not configurable; each exists so that hostile input costs
 * bounded memory and work. They keep the names of the modules that use
 * them (the prefix says which); the module headers include this one.
 */

/* Connections (src/net/connection.c): input buffered beyond one maximal
   line before reading stops (room for pipelined commands) */
#define NET_INPUT_SLACK              (64 * 1024)

/* SASL (src/net/sasl.c): the longest client response, base64 text
   (RFC 4954 4: AUTH lines up to 12288 octets must be accepted), and the
   decoded parts (RFC 4616 2: up to 255 octets each; passwords get more
   room). `tern user add` refuses a longer password than a login may carry. */
#define SASL_MAX_RESPONSE            12288
#define SASL_MAX_NAME                255
#define SASL_MAX_PASSWORD            1024

/* SMTP paths and parameters (src/smtp/command-parser.c): RFC 5321
   4.5.3.1.1/.2 local part and domain; RFC 3461 4.4 ENVID 100 characters,
   ORCPT 500 */
#define SMTP_MAX_LOCAL_PART          64
#define SMTP_MAX_DOMAIN              255
#define SMTP_MAX_ENVID               100
#define SMTP_MAX_ORCPT               500

/* SMTP server (src/smtp/server-session.c): reading a client stops while
   more than this much output waits for it (pipelined commands from a
   client that does not read its replies) */
#define SMTP_OUTPUT_MAX              (64 * 1024)

/* POP3 server (src/pop3): arguments of one command (RFC 1939 3 allows
   40 characters each; user names and passwords get more room, an AUTH
   initial response (RFC 5034 4) SASL_MAX_RESPONSE, the line as a whole is
   bounded by limits.line_length);
   output waiting for a client that does not read it before reading stops
   (pipelined commands, RFC 2449 6.6); message bytes read per store call
   while a RETR or TOP streams; the largest message read ahead of the
   client's RETR, the bytes and messages read ahead per session at most
   (POP3_PREFETCH_MAX must not pass POP3_RETR_CHUNK); messages in
   one maildrop (a larger INBOX is served as its first POP3_MAX_MESSAGES,
   by UID) */
#define POP3_MAX_ARG                 1024
#define POP3_OUTPUT_MAX              (64 * 1024)
#define POP3_RETR_CHUNK              (128 * 1024)
#define POP3_PREFETCH_MAX            (64 * 1024)
#define POP3_PREFETCH_BUDGET         (256 * 1024)
#define POP3_PREFETCH_COUNT          32
#define POP3_MAX_MESSAGES            1000000

/* DATA reader (src/smtp/data-reader.c): a header line longer than this
   ends the header scan (it goes out as body, unchanged) */
#define SMTP_DATA_MAX_HEADER_LINE    (64 * 1024)

/* SMTP client replies from remote servers (src/smtp/client-reply.c):
   RFC 5321 4.5.3.1.5 says 512 octets a line, real servers send longer ones
   (long EHLO keyword lists); lines in one multi-line reply */
#define SMTP_REPLY_MAX_LINE          4096
#define SMTP_REPLY_MAX_LINES         100

/* Outbound (src/outbound/outbound.c): MX hosts tried at most from one DNS
   answer */
#define OB_MAX_MX_HOSTS              10

/* Message library: Message-ID lists (src/message/header-value.c), bounded
   like address lists (ids past it are ignored); charset names (longer is
   not a charset, src/base/charset.c); trailing whitespace a quoted-printable
   decoder holds back waiting for a line break (RFC 2045 6.7 rule 3; a
   longer run passes through: no valid encoder writes one, src/base/qp.c) */
#define MSG_HV_MAX_MSGIDS            10000
#define CHARSET_NAME_MAX             64
#define QP_MAX_PENDING_WS            128

/* Maildrop files, written by any local user (src/deliver/maildrop.c):
   the header before the message, its recipients, its ENVID (RFC 3461 4.4) */
#define MAILDROP_HEADER_MAX          (1024 * 1024)
#define MAILDROP_RCPTS_MAX           10000
#define MAILDROP_ENVID_MAX           100

/* Queue envelopes read back (src/store/queue.c) */
#define QUEUE_ENV_MAX                (16 * 1024 * 1024)

/* Alias resolution (src/store/accounts.c): nesting of aliases, and final
   mailboxes one address may expand to */
#define ACCOUNTS_RESOLVE_MAX_DEPTH   20
#define ACCOUNTS_RESOLVE_MAX_TARGETS 10000

/* DSNs (src/deliver/dsn.c): how much of the original a bounce returns
   (RET=HDRS or unset: the header and up to DSN_RETURN_DEFAULT_MAX; RET=FULL
   up to DSN_RETURN_FULL_MAX), the header read for a header-only return
   (larger is malformed), a remote server's diagnostic text kept, and a
   whole DSN */
#define DSN_RETURN_DEFAULT_MAX       (256 * 1024)
#define DSN_RETURN_FULL_MAX          (10 * 1024 * 1024)
#define DSN_HEADER_READ_MAX          (1024 * 1024)
#define DSN_DIAGNOSTIC_MAX           900
#define DSN_MAX_SIZE                 (DSN_RETURN_FULL_MAX + 1024 * 1024)

#endif
