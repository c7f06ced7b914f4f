/*
 * Fuzz target for the Date parser: any input must parse or fail cleanly,
 * and whatever parses must survive a format/parse round trip.
 */
#include <stdint.h>
#include <stdlib.h>

#include "date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char buf[MSG_DATE_MAX], iso[MSG_DATE_MAX];
	time_t t, t2;
	int off, off2;

	if (msg_date_parse((const char *)data, size, &t, &off) < 0)
		return 0;
	if (off <= -24 * 60 || off >= 24 * 60)
		abort();
	msg_date_format(t, off, buf);
	msg_date_format_iso8601(t, off, iso);
	if (msg_date_parse(buf, strlen(buf), &t2, &off2) < 0 || off2 != off)
		abort();
	/* equal unless formatting clamped a year outside 0-9999 */
	if (t2 != t && t >= msg_days_from_civil(0, 1, 2) * 86400 &&
	    t <= msg_days_from_civil(9999, 12, 30) * 86400)
		abort();
	return 0;
}
