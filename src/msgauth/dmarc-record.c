/*
 * The DMARC policy record parser (RFC 7489 6.3, 6.4; np= of RFC 9091 4.1),
 * on the tag-list parser. It reads what strangers publish (fuzz target:
 * tests/fuzz/fuzz-dmarc-record.c).
 */
#include "dmarc.h"
#include "arena.h"
#include "tag-list.h"

const char *dmarc_policy_name(enum dmarc_policy policy)
{
	switch (policy) {
	case DMARC_POLICY_NONE:
		return "none";
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	}
	return "?";
}

bool dmarc_record_is_dmarc(const char *txt, size_t len)
{
	size_t i = 0;

	/* 6.4: "v" "=" "DMARC1" first, then ";" or the end, FWS allowed */
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (i >= len || txt[i] != 'v')
		return false;
	i++;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (i >= len || txt[i] != '=')
		return false;
	i++;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < len && (txt[i] == ' ' || txt[i] == '\t'))
		i++;
	return i == len || txt[i] == ';';
}

static int parse_policy(const struct msgauth_tag *t, enum dmarc_policy *p_r)
{
	if (i_memcaseeq(t->value, t->value_len, "none"))
		*p_r = DMARC_POLICY_NONE;
	else if (i_memcaseeq(t->value, t->value_len, "quarantine"))
		*p_r = DMARC_POLICY_QUARANTINE;
	else if (i_memcaseeq(t->value, t->value_len, "reject"))
		*p_r = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

/* rua=: comma-separated URIs (6.2), each "mailto:..." with an optional
   "!size"; others are kept but unused. */
static void parse_uris(struct arena *arena, const struct msgauth_tag *t, struct dmarc_record *r)
{
	char *list = msgauth_tag_value_compact(arena, t);
	unsigned int n = 1;

	for (const char *p = list; *p != '\0'; p++) {
		if (*p == ',')
			n++;
	}
	r->rua = arena_new_array(arena, const char *, n + 1);
	for (char *tok = list, *end; tok != NULL; tok = end) {
		end = strchr(tok, ',');
		if (end != NULL)
			*end++ = '\0';
		if (*tok != '\0')
			r->rua[r->rua_count++] = tok;
	}
}

int dmarc_record_parse(struct arena *arena, const char *txt, size_t len,
		       struct dmarc_record *record_r, const char **error_r)
{
	struct msgauth_tag_list list;
	const struct msgauth_tag *t;
	bool have_p = false;

	memset(record_r, 0, sizeof(*record_r));
	record_r->pct = 100;
	record_r->ri = 86400;
	if (!dmarc_record_is_dmarc(txt, len)) {
		*error_r = "not a DMARC1 record";
		return -1;
	}
	if (msgauth_tag_list_parse(arena, txt, len, &list, error_r) < 0)
		return -1;
	t = msgauth_tag_get(&list, "rua");
	if (t != NULL)
		parse_uris(arena, t, record_r);
	t = msgauth_tag_get(&list, "p");
	if (t != NULL && parse_policy(t, &record_r->p) == 0)
		have_p = true;
	if (!have_p) {
		/* 6.6.3: without a valid p=, a record with a valid rua= is
		   p=none; any other is no record */
		if (record_r->rua_count == 0) {
			*error_r = "missing or bad p= policy";
			return -1;
		}
		record_r->p = DMARC_POLICY_NONE;
	}
	record_r->sp = record_r->p;
	t = msgauth_tag_get(&list, "sp");
	if (t != NULL && parse_policy(t, &record_r->sp) == 0)
		record_r->has_sp = true;
	record_r->np = record_r->sp;
	t = msgauth_tag_get(&list, "np");
	if (t != NULL && parse_policy(t, &record_r->np) == 0)
		record_r->has_np = true;
	t = msgauth_tag_get(&list, "adkim");
	if (t != NULL && i_memcaseeq(t->value, t->value_len, "s"))
		record_r->adkim_strict = true;
	t = msgauth_tag_get(&list, "aspf");
	if (t != NULL && i_memcaseeq(t->value, t->value_len, "s"))
		record_r->aspf_strict = true;
	t = msgauth_tag_get(&list, "pct");
	if (t != NULL && t->value_len > 0 && t->value_len <= 3) {
		unsigned int n = 0;
		size_t i;

		for (i = 0; i < t->value_len && t->value[i] >= '0' && t->value[i] <= '9'; i++)
			n = n * 10 + (unsigned int)(t->value[i] - '0');
		if (i == t->value_len && n <= 100)
			record_r->pct = n;
	}
	t = msgauth_tag_get(&list, "ri");
	if (t != NULL && t->value_len > 0 && t->value_len <= 9) {
		unsigned int n = 0;
		size_t i;

		for (i = 0; i < t->value_len && t->value[i] >= '0' && t->value[i] <= '9'; i++)
			n = n * 10 + (unsigned int)(t->value[i] - '0');
		if (i == t->value_len && n > 0)
			record_r->ri = n;
	}
	t = msgauth_tag_get(&list, "fo");
	if (t != NULL)
		record_r->fo = t->value;
	return 0;
}
