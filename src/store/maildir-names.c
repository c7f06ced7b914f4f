/*
 * Maildir file and folder names (maildir-names.h): the U= field, the ":2,"
 * flags, the GUID, and IMAP folder names <-> Maildir++ directory names.
 * Pure functions: no disk access.
 */
#include "maildir-names.h"
#include "mailbox.h"
#include "index-private.h"
#include "arena.h"
#include "mutf7.h"
#include "utf8.h"
#include "tern-limits.h"

#include <openssl/evp.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

/* The system flags in Maildir order (ASCII) with their letters. */
static const struct {
	char letter;
	unsigned int flag;       /* 0: P, a keyword */
} flag_letters[] = {
	{ 'D', MAIL_DRAFT },
	{ 'F', MAIL_FLAGGED },
	{ 'P', 0 },
	{ 'R', MAIL_ANSWERED },
	{ 'S', MAIL_SEEN },
	{ 'T', MAIL_DELETED },
};

bool maildir_name_is_message(const char *name)
{
	return name[0] != '.' && name[0] != '\0' && strchr(name, '/') == NULL;
}

void maildir_name_parse(const char *name, struct maildir_name *p)
{
	const char *colon = strchr(name, ':'), *u, *end;

	memset(p, 0, sizeof(*p));
	p->base_len = colon == NULL ? strlen(name) : (size_t)(colon - name);
	end = name + p->base_len;
	/* ",U=<digits>" followed by ',' or the end of the base; the last one
	   counts, since tern appends its own at the end of the base */
	for (u = name; (u = memmem(u, (size_t)(end - u), ",U=", 3)) != NULL; u += 3) {
		const char *d = u + 3;
		uint64_t v = 0;

		while (d < end && *d >= '0' && *d <= '9' && v <= UINT32_MAX) {
			v = v * 10 + (uint64_t)(*d - '0');
			d++;
		}
		if (d > u + 3 && (d == end || *d == ',') && v > 0 && v <= UINT32_MAX &&
		    u[3] != '0') {
			p->uid = (uint32_t)v;
			p->uid_pos = (size_t)(u - name);
			p->uid_len = (size_t)(d - u);
		}
	}
	if (colon != NULL && colon[1] == '2' && colon[2] == ',') {
		const char *f;

		p->has_info = true;
		for (f = colon + 3; *f != '\0'; f++) {
			unsigned int i;

			if (*f >= 'a' && *f <= 'z') {
				p->keywords |= 1U << (*f - 'a');
				continue;
			}
			for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
				if (*f != flag_letters[i].letter)
					continue;
				if (flag_letters[i].flag == 0)
					p->keywords |= INDEX_KEYWORD_PASSED;
				else
					p->flags |= flag_letters[i].flag;
			}
		}
	}
}

char *maildir_name_base(struct arena *arena, const char *name, const struct maildir_name *p)
{
	if (p->uid_len == 0)
		return arena_strndup(arena, name, p->base_len);
	return arena_printf(arena, "%.*s%.*s", (int)p->uid_pos, name,
			    (int)(p->base_len - p->uid_pos - p->uid_len),
			    name + p->uid_pos + p->uid_len);
}

char *maildir_name_make(struct arena *arena, const char *name, const struct maildir_name *p,
			uint32_t uid, unsigned int flags, uint32_t keywords)
{
	const char *base = maildir_name_base(arena, name, p);
	char info[N_ELEMENTS(flag_letters) + 27];
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if (flag_letters[i].flag == 0 ? (keywords & INDEX_KEYWORD_PASSED) != 0 :
		    (flags & flag_letters[i].flag) != 0)
			info[n++] = flag_letters[i].letter;
	}
	for (i = 0; i < 26; i++) {
		if ((keywords & (1U << i)) != 0)
			info[n++] = (char)('a' + i);
	}
	info[n] = '\0';
	if (uid == 0)
		return arena_printf(arena, "%s:2,%s", base, info);
	return arena_printf(arena, "%s,U=%u:2,%s", base, uid, info);
}

void maildir_name_guid(const char *name, const struct maildir_name *p, char *guid_r)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, name, p->uid_len == 0 ? p->base_len : p->uid_pos) != 1 ||
	    (p->uid_len > 0 &&
	     EVP_DigestUpdate(ctx, name + p->uid_pos + p->uid_len,
			      p->base_len - p->uid_pos - p->uid_len) != 1) ||
	    EVP_DigestFinal_ex(ctx, md, &md_len) != 1 || md_len * 2 < MAIL_GUID_LEN)
		i_fatal("SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < MAIL_GUID_LEN / 2; i++) {
		guid_r[i * 2] = hex[md[i] >> 4];
		guid_r[i * 2 + 1] = hex[md[i] & 15];
	}
	guid_r[MAIL_GUID_LEN] = '\0';
}

void maildir_name_time(const char *name, uint64_t *secs_r, uint32_t *usecs_r)
{
	const char *p = name;
	uint64_t secs = 0;
	uint32_t usecs = 0;

	while (*p >= '0' && *p <= '9' && secs < (1ULL << 40)) {
		secs = secs * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (p[0] == '.' && p[1] == 'M') {
		for (p += 2; *p >= '0' && *p <= '9' && usecs < 1000000; p++)
			usecs = usecs * 10 + (uint32_t)(*p - '0');
	}
	*secs_r = secs;
	*usecs_r = usecs;
}

char *maildir_name_new_base(struct arena *arena, const char *hostname, uint64_t size)
{
	static atomic_uint counter;
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return arena_printf(arena, "%lld.M%06ldP%ldN%u.%s,S=%llu", (long long)tv.tv_sec,
			    (long)tv.tv_usec, (long)getpid(), atomic_fetch_add(&counter, 1) + 1,
			    hostname, (unsigned long long)size);
}

/* ---- folder names ---- */

bool folder_name_is_inbox(const char *name)
{
	return strcmp(name, MAIL_INBOX) == 0;
}

int folder_name_normalize(struct arena *arena, const char *name, const char **name_r,
			  bool *limit_r, const char **error_r)
{
	size_t len = strlen(name), i, start;
	unsigned int depth = 1;
	char *copy;

	*limit_r = false;
	if (len > 0 && name[len - 1] == MAIL_FOLDER_DELIMITER)
		len--;	/* RFC 3501 6.3.3: "foo/" creates "foo" */
	if (len == 0) {
		*error_r = "empty folder name";
		return -1;
	}
	if (len > TERN_STORE_MAX_FOLDER_NAME) {
		*limit_r = true;
		*error_r = "folder name too long";
		return -1;
	}
	if (!utf8_is_valid(name, len)) {
		*error_r = "folder name is not UTF-8";
		return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f) {
			*error_r = "control character in folder name";
			return -1;
		}
		if (c == MAIL_FOLDER_DELIMITER) {
			if (i == 0 || name[i - 1] == MAIL_FOLDER_DELIMITER) {
				*error_r = "empty folder name component";
				return -1;
			}
			depth++;
		}
	}
	if (depth > TERN_STORE_MAX_FOLDER_DEPTH) {
		*limit_r = true;
		*error_r = "folder hierarchy too deep";
		return -1;
	}
	copy = arena_strndup(arena, name, len);
	/* RFC 3501 5.1: INBOX is case-insensitive, also as a parent */
	for (start = 0; start < len && copy[start] != MAIL_FOLDER_DELIMITER; start++)
		;
	if (start == 5 && i_strncasecmp(copy, MAIL_INBOX, 5) == 0)
		memcpy(copy, MAIL_INBOX, 5);
	*name_r = copy;
	return 0;
}

int folder_name_to_dir(const char *name, buf_t *dest)
{
	const char *p = name, *slash;
	buf_t comp;
	size_t i;
	int ret = 0;

	if (folder_name_is_inbox(name))
		return 0;
	buf_init(&comp, BUF_MAX_UNLIMITED);
	while (ret == 0) {
		slash = strchr(p, MAIL_FOLDER_DELIMITER);
		buf_reset(&comp);
		if (mutf7_encode(p, slash == NULL ? strlen(p) : (size_t)(slash - p), &comp) < 0 ||
		    buf_append_c(dest, '.') < 0) {
			ret = -1;
			break;
		}
		for (i = 0; i < buf_len(&comp) && ret == 0; i++) {
			unsigned char c = comp.data[i];

			if (c == '.' || c == '%')
				ret = buf_printf(dest, "%%%02X", c);
			else
				ret = buf_append_c(dest, c);
		}
		if (slash == NULL)
			break;
		p = slash + 1;
	}
	buf_free(&comp);
	if (ret == 0 && buf_len(dest) > NAME_MAX)
		ret = -1;
	return ret;
}

int folder_dir_to_name(const char *entry, buf_t *dest)
{
	const char *p, *dot;
	buf_t comp, check;
	int ret = 0;

	if (entry[0] != '.' || entry[1] == '\0' || strcmp(entry, "..") == 0)
		return -1;
	buf_init(&comp, NAME_MAX + 1);
	for (p = entry + 1; ret == 0; p = dot + 1) {
		size_t len, i;

		dot = strchr(p, '.');
		len = dot == NULL ? strlen(p) : (size_t)(dot - p);
		if (len == 0) {
			ret = -1;
			break;
		}
		buf_reset(&comp);
		for (i = 0; i < len && ret == 0; i++) {
			int hi, lo;

			if (p[i] == '%' && i + 2 < len &&
			    (hi = i_hex_value((unsigned char)p[i + 1])) >= 0 &&
			    (lo = i_hex_value((unsigned char)p[i + 2])) >= 0) {
				ret = buf_append_c(&comp, (unsigned char)(hi * 16 + lo));
				i += 2;
			} else {
				ret = buf_append_c(&comp, (unsigned char)p[i]);
			}
		}
		if (ret < 0)
			break;
		if (p != entry + 1 && buf_append_c(dest, MAIL_FOLDER_DELIMITER) < 0) {
			ret = -1;
			break;
		}
		if (mutf7_decode((const char *)comp.data, buf_len(&comp), dest) < 0) {
			ret = -1;
			break;
		}
		if (dot == NULL)
			break;
	}
	buf_free(&comp);
	if (ret < 0)
		return -1;
	/* INBOX is spelled so as a parent too (folder_name_normalize) */
	if (buf_len(dest) >= 5 && i_strncasecmp(buf_str(dest), MAIL_INBOX, 5) == 0 &&
	    (buf_len(dest) == 5 || dest->data[5] == MAIL_FOLDER_DELIMITER) &&
	    memcmp(dest->data, MAIL_INBOX, 5) != 0)
		return -1;
	/* only the canonical spelling of a name counts: one name, one directory */
	for (size_t i = 0; i < buf_len(dest); i++) {
		if (dest->data[i] < 0x20 || dest->data[i] == 0x7f)
			return -1;
	}
	buf_init(&check, NAME_MAX + 1);
	if (
	    folder_name_to_dir(buf_str(dest), &check) < 0 || strcmp(buf_str(&check), entry) != 0)
		ret = -1;
	buf_free(&check);
	return ret;
}
