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
#define TERN_DEFAULT_BAD_COMMANDS        20        /* bad_commands: unknown/invalid commands before disconnect */
#define TERN_DEFAULT_AUTH_FAILURES       3         /* auth_failures: failed AUTH/LOGIN per connection before disconnect */
#define TERN_DEFAULT_CONNECTIONS         1000      /* connections: open client connections in all */
#define TERN_DEFAULT_CONNECTIONS_PER_IP  20        /* connections_per_ip: open connections from one address */
#define TERN_DEFAULT_SMTP_TIMEOUT        300       /* smtp_timeout (seconds): idle; RFC 5321 4.5.3.2.7 (5 minutes) */
#define TERN_DEFAULT_IMAP_TIMEOUT        1800      /* imap_timeout: idle; RFC 9051 5.4 (at least 30 minutes) */
#define TERN_DEFAULT_POP3_TIMEOUT        600       /* pop3_timeout: idle; RFC 1939 section 3 (at least 10 minutes) */
#define TERN_DEFAULT_SESSION_TIMEOUT     3600      /* session_timeout: total time of one SMTP/POP3 connection */
#define TERN_DEFAULT_HOPS                50        /* hops: Received fields before a loop is assumed; RFC 5321 6.3 */

/* Bounds of the config values themselves (settings.c checks them). */
#define TERN_LIMIT_MIN_LINE_LENGTH       512       /* RFC 5321 4.5.3.1.4 command line */
#define TERN_LIMIT_MAX_LINE_LENGTH       (1024 * 1024)
#define TERN_LIMIT_MAX_MESSAGE_SIZE      ((int64_t)1 << 40)
#define TERN_LIMIT_MAX_TIMEOUT           (7 * 24 * 3600)

/*
 * Sender authentication (src/msgauth). Not configurable: they bound the
 * work a stranger's message or DNS records can cause.
 */
#define TERN_TAG_LIST_MAX_TAGS       64        /* tags in one DKIM/DMARC/ARC tag-list (RFC 6376 3.2) */
#define TERN_DKIM_MAX_SIGNATURES     10        /* DKIM-Signature fields verified per message; more are ignored */
#define TERN_DKIM_MAX_SIGNED_FIELDS  256       /* names in one h= list */
#define TERN_DKIM_MIN_RSA_BITS       1024      /* smaller RSA keys never verify (RFC 8301 3.2) */
#define TERN_ARC_MAX_SETS            50        /* ARC instances (RFC 8617 4.2.1) */
#define TERN_MSGAUTH_MAX_HEADER_SIZE TERN_MIME_MAX_HEADER_SIZE /* header bytes kept for verification */
#define TERN_SPF_MAX_LOOKUPS         10        /* DNS-querying terms (RFC 7208 4.6.4) */
#define TERN_SPF_MAX_VOID_LOOKUPS    2         /* lookups answering nothing (RFC 7208 4.6.4) */
#define TERN_SPF_MAX_MX_NAMES        10        /* MX names of one mx mechanism (RFC 7208 4.6.4) */
#define TERN_SPF_MAX_PTR_NAMES       10        /* PTR names looked at (RFC 7208 4.6.4) */
#define TERN_SPF_MAX_RECORD_SIZE     4096      /* bytes of one SPF record (several joined strings) */
#define TERN_SPF_MAX_EXPANSION       1024      /* bytes of one macro expansion (RFC 7208 7.3) */
#define TERN_DEFAULT_AUTH_CHECK_TIMEOUT 20     /* limits.auth_check_timeout (seconds): all sender
						  authentication lookups of one message (RFC 7208 4.6.4
						  suggests 20 s for SPF) */

/* Default [srs] max_age: how long a rewritten sender takes bounces, seconds */
#define TERN_DEFAULT_SRS_MAX_AGE         (21 * 24 * 3600)

/* Default [delivery] durations, seconds */
#define TERN_DEFAULT_BOUNCE_AFTER        (5 * 24 * 3600)

#endif
