#ifndef TERN_DATE_H
#define TERN_DATE_H

#include "lib.h"

#include <time.h>

/*
 * Dates of RFC 5322 3.3 (and the obsolete forms of 4.3), parsed leniently
 * as they appear in real mail, and written exactly. No mktime() or TZ: the
 * calendar arithmetic is done here, so results never depend on the
 * machine's zone.
 */

/*
 * Parse a Date field value: optional day of week (any word, not checked);
 * 1-2 digit day; month names case-insensitive (only the first three
 * letters count: "Jul", "July"); years of 2, 3 or 4 digits (4.3: below 50
 * is 20xx, 50-999 adds 1900); hh:mm with optional :ss (':' or '.'); zones
 * +hhmm/-hhmm (also +hh:mm, +hh), UT/GMT/UTC/Z, EST/EDT/CST/CDT/MST/MDT/
 * PST/PDT, and military letters and other names as -0000 (4.3); a missing
 * zone is -0000 too. Also the asctime form "Tue Jul  1 10:52:37 2003".
 * Comments and folding whitespace are allowed anywhere; anything after a
 * valid date is ignored. Ranges are checked (day 1-31, hour 0-23, minute
 * 0-59, second 0-60, zone below 24 hours).
 * Returns 0 with *time_r (seconds since the epoch, UTC) and
 * *tz_offset_min_r (minutes east of UTC; may be NULL), or -1.
 */
int msg_date_parse(const char *value, size_t len, time_t *time_r, int *tz_offset_min_r);

#define MSG_DATE_MAX 128  /* room for any int the formats could print (-Wformat-truncation) */
/* "Mon, 23 Nov 2026 10:51:40 +0100" (RFC 5322 3.3): t shown in the zone
   tz_offset_min minutes east of UTC. Times outside years 0-9999 are
   clamped. Writes buf (NUL-terminated) and returns it. */
const char *msg_date_format(time_t t, int tz_offset_min, char buf[MSG_DATE_MAX]);
/* ISO 8601 / RFC 3339 "2026-11-23T10:51:40+01:00". */
const char *msg_date_format_iso8601(time_t t, int tz_offset_min, char buf[MSG_DATE_MAX]);
/* IMAP date-time (RFC 3501 9) "23-Nov-2026 10:51:40 +0100", day space-padded. */
const char *msg_date_format_imap(time_t t, int tz_offset_min, char buf[MSG_DATE_MAX]);

/* The machine's zone offset at t, in minutes east of UTC. */
int msg_date_local_offset(time_t t);

/* Calendar helpers (proleptic Gregorian): days since 1970-01-01 for a
   date (month 1-12), and back. */
int64_t msg_days_from_civil(int64_t year, int month, int day);
void msg_civil_from_days(int64_t days, int64_t *year_r, int *month_r, int *day_r);

#endif
