/*
 * The tag=value list parser (RFC 6376 3.2) under DKIM, DMARC and ARC
 * parsing. See tag-list.h.
 */
#include "tag-list.h"
#include "arena.h"
#include "tern-limits.h"

static bool is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 6376 3.2 VALCHAR: %x21-3A / %x3C-7E */
static bool is_valchar(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x21 && u <= 0x7e && u != ';';
}

int msgauth_tag_list_parse(struct arena *arena, const char *data, size_t len,
			   struct msgauth_tag_list *list_r, const char **error_r)
{
	struct msgauth_tag *tags;
	unsigned int count = 0, i;
	size_t pos = 0;

	tags = arena_new_array(arena, struct msgauth_tag, TERN_TAG_LIST_MAX_TAGS);
	while (pos < len) {
		size_t name_start, name_end, vstart, vend, last;

		while (pos < len && is_fws(data[pos]))
			pos++;
		if (pos == len)
			break;
		if (data[pos] == ';') {
			/* an empty tag-spec */
			pos++;
			continue;
		}
		name_start = pos;
		if (!is_alpha(data[pos])) {
			*error_r = "tag name must start with a letter";
			return -1;
		}
		while (pos < len && (is_alpha(data[pos]) || is_digit(data[pos]) || data[pos] == '_'))
			pos++;
		name_end = pos;
		while (pos < len && is_fws(data[pos]))
			pos++;
		if (pos == len || data[pos] != '=') {
			*error_r = "tag without '='";
			return -1;
		}
		pos++;
		while (pos < len && is_fws(data[pos]))
			pos++;
		vstart = pos;
		last = pos;
		while (pos < len && data[pos] != ';') {
			if (is_valchar(data[pos]))
				last = pos + 1;
			else if (!is_fws(data[pos])) {
				*error_r = "bad character in a tag value";
				return -1;
			}
			pos++;
		}
		vend = last;
		if (pos < len)
			pos++;   /* the ';' */
		if (count == TERN_TAG_LIST_MAX_TAGS) {
			*error_r = "too many tags";
			return -1;
		}
		for (i = 0; i < count; i++) {
			if (strlen(tags[i].name) == name_end - name_start &&
			    memcmp(tags[i].name, data + name_start, name_end - name_start) == 0) {
				/* RFC 6376 3.2: the entire tag-list is invalid */
				*error_r = "a tag given twice";
				return -1;
			}
		}
		tags[count].name = arena_strndup(arena, data + name_start, name_end - name_start);
		tags[count].value = arena_strndup(arena, data + vstart, vend - vstart);
		tags[count].value_len = vend - vstart;
		tags[count].value_start = vstart;
		tags[count].value_end = vend;
		count++;
	}
	list_r->tags = tags;
	list_r->count = count;
	return 0;
}

const struct msgauth_tag *msgauth_tag_get(const struct msgauth_tag_list *list, const char *name)
{
	unsigned int i;

	for (i = 0; i < list->count; i++) {
		if (strcmp(list->tags[i].name, name) == 0)
			return &list->tags[i];
	}
	return NULL;
}

char *msgauth_tag_value_compact(struct arena *arena, const struct msgauth_tag *tag)
{
	char *out = arena_alloc(arena, tag->value_len + 1);
	size_t i, n = 0;

	for (i = 0; i < tag->value_len; i++) {
		if (!is_fws(tag->value[i]))
			out[n++] = tag->value[i];
	}
	out[n] = '\0';
	return out;
}
