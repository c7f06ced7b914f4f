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

#endif
