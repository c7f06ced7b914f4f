#include "builder.h"
#include "address.h"
#include "arena.h"
#include "base64.h"
#include "date.h"
#include "mime-types.h"
#include "qp.h"
#include "rfc2047.h"
#include "uid.h"
#include "utf8.h"

#include <stdio.h>
#include <stdlib.h>

/* A header word longer than this is B-encoded (unstructured fields) so that
   no line passes 998 octets; shorter ones are left for folding. */
#define LONG_WORD_MAX 900
/* Printable ASCII parameter values up to this length are written as they
   are (a token or quoted string); longer ones as RFC 2231 continuations. */
#define PARAM_PLAIN_MAX 60
/* RFC 2046 5.1.1: a boundary is 1-70 characters. */
#define BOUNDARY_MAX 70

enum field_kind {
	FIELD_TEXT,        /* unstructured: RFC 2047-encoded when needed */
	FIELD_STRUCTURED,  /* written as given */
	FIELD_ADDRESS,     /* address list */
};

struct baddr {
	struct baddr *next;
	const char *name;        /* UTF-8 display name or NULL; group start: the group name */
	const char *mailbox;     /* local part, unquoted */
	const char *domain;      /* NULL: no domain */
	bool group_start, group_end;
};

struct bfield {
	struct bfield *next;
	const char *name;
	enum field_kind kind;
	const char *value;       /* TEXT and STRUCTURED */
	struct baddr *addrs, *addrs_tail;
};

enum bpart_kind {
	BPART_ATTACHMENT,
	BPART_INLINE,
	BPART_MESSAGE,
	BPART_OTHER,
};

struct bpart {
	struct bpart *next;
	enum bpart_kind kind;
	const char *type;        /* "type/subtype", lowercase */
	const char *filename;    /* UTF-8 or NULL */
	const char *content_id;  /* without <>, or NULL */
	const unsigned char *data;
	size_t size;
};

struct msg_builder {
	struct arena *arena;
	const char *hostname;
	bool time_set;
	time_t time;
	int tz_offset_min;
	bool allow_8bit, keep_bcc;

	struct bfield *fields, *fields_tail;

	const char *text, *html;
	size_t text_len, html_len;
	struct bpart *parts, *parts_tail;     /* attachments, messages, other parts */
	struct bpart *inlines, *inlines_tail; /* related resources */
	const char *report_type;

	const char *message_id;  /* generated once, kept across builds */
	unsigned int boundary_count;
	bool out_8bit, out_utf8_header;
};

/* A MIME entity being built: its Content-* header fields, the empty line
   and the body, all with CRLF line ends. */
struct entity {
	buf_t data;
	bool eight_bit;
};

struct build_ctx {
	struct msg_builder *b;
	const char *error;
};

static bool is_wsp(unsigned char c);
static bool is_ftext(unsigned char c);
static bool is_token_char(unsigned char c);
static bool is_atext(unsigned char c);
static bool is_attr_char(unsigned char c);
static bool has_ctl(const char *s);
static void append(buf_t *buf, const void *data, size_t len);
static void append_str(buf_t *buf, const char *str);
static bool field_name_valid(const char *name);
static bool name_eq(const char *a, const char *b);
static bool is_address_field(const char *name);
static bool is_structured_field(const char *name);
static bool is_single_field(const char *name);
static bool is_trace_field(const char *name);
static struct bfield *field_find(struct msg_builder *b, const char *name);
static struct bfield *field_get(struct msg_builder *b, const char *name, enum field_kind kind);
static int validate_value(const char *value, const char **error_r);
static int split_address(struct arena *arena, const char *address, const char **mailbox_r,
			 const char **domain_r, const char **error_r);
static int parse_content_type(struct arena *arena, const char *content_type,
			      const char **type_r, const char **error_r);
static struct bpart *part_new(struct msg_builder *b, enum bpart_kind kind);
static const char *quote_string(struct arena *arena, const char *s);
static const char *format_phrase(struct build_ctx *ctx, const char *name, size_t column);
static const char *format_address(struct build_ctx *ctx, const struct baddr *addr, size_t column);
static const char *address_spec(struct arena *arena, const struct baddr *addr);
static const char *encode_long_b(struct arena *arena, const char *utf8);
static size_t longest_word(const char *s);
static int fold_field(struct build_ctx *ctx, buf_t *out, const char *name, const char *value,
		      bool quotes);
static int write_field(struct build_ctx *ctx, buf_t *out, const struct bfield *field);
static void append_param(struct build_ctx *ctx, buf_t *v, const char *attr, const char *value,
			 bool quote);
static void append_name_param(struct build_ctx *ctx, buf_t *v, const char *filename);
static void normalize_crlf(const void *data, size_t len, buf_t *out, bool final_newline);
static void scan_lines(const buf_t *buf, size_t *max_line_r, bool *eight_bit_r, bool *nul_r);
static int entity_header(struct build_ctx *ctx, struct entity *e, const char *name, const char *value);
static int entity_text(struct build_ctx *ctx, struct entity *e, const char *type,
		       const void *data, size_t len, bool sanitize);
static int entity_base64(struct build_ctx *ctx, struct entity *e, const struct bpart *part,
			 const char *type, const char *disposition);
static int entity_message(struct build_ctx *ctx, struct entity *e, const struct bpart *part);
static int entity_multipart(struct build_ctx *ctx, struct entity *e, const char *subtype,
			    const char *extra_param, const char *extra_value,
			    struct entity *children, unsigned int count);
static int entity_for_part(struct build_ctx *ctx, struct entity *e, const struct bpart *part);
static int build_body(struct build_ctx *ctx, struct entity *e);
static void entity_free(struct entity *e);
static void new_boundary(struct msg_builder *b, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* character classes */

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 5322 3.6.8: ftext = %d33-57 / %d59-126 */
static bool is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* RFC 2045 5.1: token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials> */
static bool is_token_char(unsigned char c)
{
	return c > ' ' && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* RFC 5322 3.2.3 */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 2231 7: attribute-char := <any (US-ASCII) CHAR except SPACE, CTLs,
   "*", "'", "%", or tspecials> */
static bool is_attr_char(unsigned char c)
{
	return is_token_char(c) && c != '*' && c != '\'' && c != '%';
}

/* control characters other than tab (DEL included) */
static bool has_ctl(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c < ' ' && c != '\t') || c == 0x7f)
			return true;
	}
	return false;
}

/* Internal buffers are unlimited: only the caller's output buffer has a
   maximum, checked when the message is copied into it. */
static void append(buf_t *buf, const void *data, size_t len)
{
	if (buf_append(buf, data, len) < 0)
		i_panic("builder: unlimited buffer refused %zu bytes", len);
}

static void append_str(buf_t *buf, const char *str)
{
	append(buf, str, strlen(str));
}

/* ------------------------------------------------------------------ */
/* header fields */

static bool field_name_valid(const char *name)
{
	const char *p;

	if (*name == '\0' || strlen(name) > 76)
		return false;
	for (p = name; *p != '\0'; p++) {
		if (!is_ftext((unsigned char)*p))
			return false;
	}
	return true;
}

static bool name_eq(const char *a, const char *b)
{
	return i_strcasecmp(a, b) == 0;
}

static bool is_address_field(const char *name)
{
	static const char *const names[] = {
		"From", "Sender", "Reply-To", "To", "Cc", "Bcc",
		"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc", "Resent-Bcc",
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		if (name_eq(name, names[i]))
			return true;
	}
	return false;
}

/* Fields whose syntax is not unstructured text (RFC 5322 3.6, RFC 2045):
   they are never RFC 2047-encoded. */
static bool is_structured_field(const char *name)
{
	static const char *const names[] = {
		"Date", "Message-ID", "In-Reply-To", "References", "Resent-Date",
		"Resent-Message-ID", "Return-Path", "Received", "MIME-Version",
		"Auto-Submitted", "DKIM-Signature", "Authentication-Results",
		"Received-SPF", "List-Post", "List-Unsubscribe", "List-Help",
		"List-Subscribe", "List-Archive", "List-Owner", "List-Unsubscribe-Post",
		"Precedence", "Content-Language",
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		if (name_eq(name, names[i]))
			return true;
	}
	return false;
}

/* RFC 5322 3.6: fields that occur at most once; setting them again replaces. */
static bool is_single_field(const char *name)
{
	static const char *const names[] = {
		"Date", "Message-ID", "MIME-Version", "Subject", "Sender",
		"In-Reply-To", "References",
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(names); i++) {
		if (name_eq(name, names[i]))
			return true;
	}
	return false;
}

static bool is_trace_field(const char *name)
{
	return name_eq(name, "Return-Path") || name_eq(name, "Received");
}

static struct bfield *field_find(struct msg_builder *b, const char *name)
{
	struct bfield *f;

	for (f = b->fields; f != NULL; f = f->next) {
		if (name_eq(f->name, name))
			return f;
	}
	return NULL;
}

/* The field to put a value in: the existing one for address and single
   fields (a single field's old value is replaced by the caller), else a new
   one at the end. */
static struct bfield *field_get(struct msg_builder *b, const char *name, enum field_kind kind)
{
	struct bfield *f;

	if (kind == FIELD_ADDRESS || is_single_field(name)) {
		f = field_find(b, name);
		if (f != NULL) {
			f->kind = kind;
			return f;
		}
	}
	f = arena_new_type(b->arena, struct bfield);
	f->name = arena_strdup(b->arena, name);
	f->kind = kind;
	if (b->fields_tail == NULL)
		b->fields = f;
	else
		b->fields_tail->next = f;
	b->fields_tail = f;
	return f;
}

static int validate_value(const char *value, const char **error_r)
{
	size_t len = strlen(value);

	if (strpbrk(value, "\r\n") != NULL) {
		*error_r = "header value contains a line break";
		return -1;
	}
	if (!utf8_is_valid(value, len)) {
		*error_r = "header value is not valid UTF-8";
		return -1;
	}
	return 0;
}

/* Split "local@domain" at the last '@'; a quoted local part is unquoted. */
static int split_address(struct arena *arena, const char *address, const char **mailbox_r,
			 const char **domain_r, const char **error_r)
{
	const char *at, *p;
	size_t local_len;
	char *local, *q;

	if (validate_value(address, error_r) < 0)
		return -1;
	at = strrchr(address, '@');
	if (at == NULL || at == address || at[1] == '\0') {
		*error_r = "address is not local@domain";
		return -1;
	}
	for (p = at + 1; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		/* RFC 5321 4.1.2 Domain / address-literal; 8-bit for IDN (RFC 6531) */
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr(".-[]:_", c) != NULL)) {
			*error_r = "address has an invalid domain";
			return -1;
		}
	}
	local_len = (size_t)(at - address);
	if (local_len >= 2 && address[0] == '"' && address[local_len - 1] == '"') {
		local = arena_strndup(arena, address + 1, local_len - 2);
		/* remove quoted-pair backslashes */
		for (p = q = local; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			*q++ = *p;
		}
		*q = '\0';
	} else {
		local = arena_strndup(arena, address, local_len);
	}
	for (p = local; *p != '\0'; p++) {
		if ((unsigned char)*p < ' ' || *p == 0x7f) {
			*error_r = "address has a control character";
			return -1;
		}
	}
	if (*local == '\0') {
		*error_r = "address has an empty local part";
		return -1;
	}
	*mailbox_r = local;
	*domain_r = arena_strdup(arena, at + 1);
	return 0;
}

/* "type/subtype" with token characters only; lowercased copy. */
static int parse_content_type(struct arena *arena, const char *content_type,
			      const char **type_r, const char **error_r)
{
	const char *p, *slash = NULL;
	char *lower;

	for (p = content_type; *p != '\0'; p++) {
		if (*p == '/' && slash == NULL && p != content_type)
			slash = p;
		else if (!is_token_char((unsigned char)*p))
			break;
	}
	if (*p != '\0' || slash == NULL || slash[1] == '\0' || p - content_type > 127) {
		*error_r = "content type is not type/subtype";
		return -1;
	}
	lower = arena_strdup(arena, content_type);
	i_str_lower(lower);
	*type_r = lower;
	return 0;
}

/* ------------------------------------------------------------------ */
/* public: setup */

struct msg_builder *msg_builder_create(struct arena *arena, const char *hostname)
{
	struct msg_builder *b;

	b = arena_new_type(arena, struct msg_builder);
	b->arena = arena;
	b->hostname = arena_strdup(arena, hostname);
	return b;
}

void msg_builder_set_time(struct msg_builder *b, time_t t, int tz_offset_min)
{
	b->time_set = true;
	b->time = t;
	b->tz_offset_min = tz_offset_min;
}

void msg_builder_set_allow_8bit(struct msg_builder *b, bool allow)
{
	b->allow_8bit = allow;
}

void msg_builder_set_keep_bcc(struct msg_builder *b, bool keep)
{
	b->keep_bcc = keep;
}

int msg_builder_add_address(struct msg_builder *b, const char *field,
			    const char *name_utf8, const char *address,
			    const char **error_r)
{
	const char *mailbox, *domain;
	struct baddr *a;
	struct bfield *f;

	if (!field_name_valid(field)) {
		*error_r = "invalid header field name";
		return -1;
	}
	if (name_utf8 != NULL && validate_value(name_utf8, error_r) < 0)
		return -1;
	if (split_address(b->arena, address, &mailbox, &domain, error_r) < 0)
		return -1;

	a = arena_new_type(b->arena, struct baddr);
	a->name = name_utf8 == NULL || *name_utf8 == '\0' ? NULL :
		arena_strdup(b->arena, name_utf8);
	a->mailbox = mailbox;
	a->domain = domain;
	f = field_get(b, field, FIELD_ADDRESS);
	if (f->addrs_tail == NULL)
		f->addrs = a;
	else
		f->addrs_tail->next = a;
	f->addrs_tail = a;
	return 0;
}

int msg_builder_add_address_list(struct msg_builder *b, const char *field,
				 const char *list_utf8, const char **error_r)
{
	struct msg_address *parsed, *pa;
	struct baddr *head = NULL, *tail = NULL, *a;
	struct bfield *f;

	if (!field_name_valid(field)) {
		*error_r = "invalid header field name";
		return -1;
	}
	if (validate_value(list_utf8, error_r) < 0)
		return -1;
	parsed = msg_address_parse(b->arena, list_utf8, strlen(list_utf8));
	for (pa = parsed; pa != NULL; pa = pa->next) {
		if (pa->invalid || (!pa->group_start && !pa->group_end &&
				    (pa->mailbox == NULL || *pa->mailbox == '\0' ||
				     pa->domain == NULL || *pa->domain == '\0'))) {
			*error_r = arena_printf(b->arena, "invalid address: %s",
						pa->mailbox == NULL ? "" : pa->mailbox);
			return -1;
		}
		a = arena_new_type(b->arena, struct baddr);
		a->group_start = pa->group_start;
		a->group_end = pa->group_end;
		if (pa->group_start) {
			a->name = pa->mailbox;
		} else if (!pa->group_end) {
			a->name = pa->name_decoded != NULL && *pa->name_decoded != '\0' ?
				pa->name_decoded : NULL;
			a->mailbox = pa->mailbox;
			a->domain = pa->domain;
		}
		if (tail == NULL)
			head = a;
		else
			tail->next = a;
		tail = a;
	}
	f = field_get(b, field, FIELD_ADDRESS);
	if (head != NULL) {
		if (f->addrs_tail == NULL)
			f->addrs = head;
		else
			f->addrs_tail->next = head;
		f->addrs_tail = tail;
	}
	return 0;
}

void msg_builder_set_subject(struct msg_builder *b, const char *subject_utf8)
{
	const char *error;

	if (msg_builder_add_header(b, "Subject", subject_utf8, &error) < 0) {
		/* a subject with a line break or bad UTF-8: keep it on one line,
		   valid, rather than failing a void call */
		buf_t clean;
		char *p;

		buf_init(&clean, BUF_MAX_UNLIMITED);
		(void)utf8_sanitize(subject_utf8, strlen(subject_utf8), &clean);
		p = arena_strndup(b->arena, buf_str(&clean), buf_len(&clean));
		buf_free(&clean);
		for (char *q = p; *q != '\0'; q++) {
			if (*q == '\r' || *q == '\n')
				*q = ' ';
		}
		field_get(b, "Subject", FIELD_TEXT)->value = p;
	}
}

int msg_builder_add_header(struct msg_builder *b, const char *name,
			   const char *value_utf8, const char **error_r)
{
	struct bfield *f;
	enum field_kind kind;

	if (!field_name_valid(name)) {
		*error_r = "invalid header field name";
		return -1;
	}
	if (i_strncasecmp(name, "Content-", 8) == 0 && !name_eq(name, "Content-Language")) {
		*error_r = "Content-* header fields are written by the builder";
		return -1;
	}
	if (validate_value(value_utf8, error_r) < 0)
		return -1;
	if (is_address_field(name)) {
		struct baddr *old_head = NULL, *old_tail = NULL;

		/* Sender holds one mailbox (RFC 5322 3.6.2): a new one replaces */
		if (is_single_field(name) && (f = field_find(b, name)) != NULL) {
			old_head = f->addrs;
			old_tail = f->addrs_tail;
			f->addrs = f->addrs_tail = NULL;
		}
		if (msg_builder_add_address_list(b, name, value_utf8, error_r) < 0) {
			if (old_head != NULL) {
				f->addrs = old_head;
				f->addrs_tail = old_tail;
			}
			return -1;
		}
		return 0;
	}

	kind = is_structured_field(name) ? FIELD_STRUCTURED : FIELD_TEXT;
	f = field_get(b, name, kind);
	f->value = arena_strdup(b->arena, value_utf8);
	return 0;
}

static bool msg_id_valid(const char *id)
{
	size_t len = strlen(id);
	const char *p;

	if (len < 3 || id[0] != '<' || id[len - 1] != '>' || len > LONG_WORD_MAX)
		return false;
	for (p = id + 1; p < id + len - 1; p++) {
		if (*p <= ' ' || *p >= 127 || *p == '<' || *p == '>')
			return false;
	}
	return true;
}

int msg_builder_set_reply(struct msg_builder *b, const char *parent_message_id,
			  const char *parent_references, const char **error_r)
{
	buf_t refs;
	const char *p;
	bool space = false;
	struct bfield *f;

	if (!msg_id_valid(parent_message_id)) {
		*error_r = "parent Message-ID is not a <msg-id>";
		return -1;
	}
	/* RFC 5322 3.6.4: References = the parent's References (or its
	   In-Reply-To) followed by the parent's Message-ID. Whitespace of the
	   parent's field (folds, tabs) becomes single spaces. */
	buf_init(&refs, BUF_MAX_UNLIMITED);
	if (parent_references != NULL) {
		for (p = parent_references; *p != '\0'; p++) {
			unsigned char c = (unsigned char)*p;
			if (c <= ' ' || c >= 127) {
				space = buf_len(&refs) > 0;
				continue;
			}
			if (space)
				append(&refs, " ", 1);
			space = false;
			append(&refs, p, 1);
		}
	}
	if (buf_len(&refs) > 0)
		append(&refs, " ", 1);
	append_str(&refs, parent_message_id);

	f = field_get(b, "In-Reply-To", FIELD_STRUCTURED);
	f->value = arena_strdup(b->arena, parent_message_id);
	f = field_get(b, "References", FIELD_STRUCTURED);
	f->value = arena_strndup(b->arena, buf_str(&refs), buf_len(&refs));
	buf_free(&refs);
	return 0;
}

/* ------------------------------------------------------------------ */
/* public: body */

void msg_builder_set_text(struct msg_builder *b, const char *utf8, size_t len)
{
	b->text = arena_memdup(b->arena, utf8, len);
	b->text_len = len;
}

void msg_builder_set_html(struct msg_builder *b, const char *utf8, size_t len)
{
	b->html = arena_memdup(b->arena, utf8, len);
	b->html_len = len;
}

static struct bpart *part_new(struct msg_builder *b, enum bpart_kind kind)
{
	struct bpart *p = arena_new_type(b->arena, struct bpart);

	p->kind = kind;
	if (kind == BPART_INLINE) {
		if (b->inlines_tail == NULL)
			b->inlines = p;
		else
			b->inlines_tail->next = p;
		b->inlines_tail = p;
	} else {
		if (b->parts_tail == NULL)
			b->parts = p;
		else
			b->parts_tail->next = p;
		b->parts_tail = p;
	}
	return p;
}

static int attachment_type(struct msg_builder *b, const char *filename,
			   const char *content_type, const char **type_r,
			   const char **error_r)
{
	if (filename != NULL && validate_value(filename, error_r) < 0)
		return -1;
	if (content_type == NULL) {
		*type_r = mime_type_from_filename(filename);
		/* a guessed message/rfc822 (.eml) is still sent as an opaque file:
		   msg_builder_add_message() is the way to forward */
		if (strncmp(*type_r, "message/", 8) == 0)
			*type_r = MIME_TYPE_DEFAULT;
		return 0;
	}
	if (parse_content_type(b->arena, content_type, type_r, error_r) < 0)
		return -1;
	if (strncmp(*type_r, "multipart/", 10) == 0 || strncmp(*type_r, "message/", 8) == 0) {
		*error_r = "attachments cannot be multipart/ or message/";
		return -1;
	}
	return 0;
}

int msg_builder_add_attachment(struct msg_builder *b, const char *filename,
			       const char *content_type, const void *data, size_t size,
			       const char **error_r)
{
	const char *type;
	struct bpart *p;

	if (attachment_type(b, filename, content_type, &type, error_r) < 0)
		return -1;
	p = part_new(b, BPART_ATTACHMENT);
	p->type = type;
	p->filename = arena_strdup(b->arena, filename);
	p->data = data;
	p->size = size;
	return 0;
}

int msg_builder_add_inline(struct msg_builder *b, const char *content_id,
			   const char *filename, const char *content_type,
			   const void *data, size_t size, const char **error_r)
{
	const char *type, *p;
	struct bpart *part;

	/* RFC 2392: the Content-ID is a msg-id; we take its inside */
	if (*content_id == '\0' || strlen(content_id) > 200) {
		*error_r = "invalid Content-ID";
		return -1;
	}
	for (p = content_id; *p != '\0'; p++) {
		if (*p <= ' ' || *p >= 127 || *p == '<' || *p == '>') {
			*error_r = "invalid Content-ID";
			return -1;
		}
	}
	if (attachment_type(b, filename, content_type, &type, error_r) < 0)
		return -1;
	part = part_new(b, BPART_INLINE);
	part->type = type;
	part->filename = arena_strdup(b->arena, filename);
	part->content_id = arena_strdup(b->arena, content_id);
	part->data = data;
	part->size = size;
	return 0;
}

void msg_builder_add_message(struct msg_builder *b, const char *filename,
			     const void *data, size_t size)
{
	struct bpart *p = part_new(b, BPART_MESSAGE);
	const char *error;

	p->type = "message/rfc822";
	if (filename != NULL && validate_value(filename, &error) == 0)
		p->filename = arena_strdup(b->arena, filename);
	p->data = data;
	p->size = size;
}

int msg_builder_add_part(struct msg_builder *b, const char *content_type,
			 const void *data, size_t size, const char **error_r)
{
	const char *type;
	struct bpart *p;

	if (parse_content_type(b->arena, content_type, &type, error_r) < 0)
		return -1;
	if (strncmp(type, "multipart/", 10) == 0) {
		*error_r = "multipart/ parts are built by the builder";
		return -1;
	}
	p = part_new(b, strcmp(type, "message/rfc822") == 0 ||
		     strcmp(type, "message/global") == 0 ? BPART_MESSAGE : BPART_OTHER);
	p->type = type;
	p->data = data;
	p->size = size;
	return 0;
}

void msg_builder_set_report(struct msg_builder *b, const char *report_type)
{
	b->report_type = arena_strdup(b->arena, report_type);
}

/* ------------------------------------------------------------------ */
/* header formatting */

static const char *quote_string(struct arena *arena, const char *s)
{
	buf_t q;
	const char *ret;

	buf_init(&q, BUF_MAX_UNLIMITED);
	append(&q, "\"", 1);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			append(&q, "\\", 1);
		append(&q, s, 1);
	}
	append(&q, "\"", 1);
	ret = arena_strndup(arena, buf_str(&q), buf_len(&q));
	buf_free(&q);
	return ret;
}

/* A display or group name as an RFC 5322 phrase: atoms as they are,
   otherwise a quoted string (raw UTF-8 only when 8-bit is allowed,
   RFC 6532 3.2), otherwise RFC 2047 encoded words (5.(3)). */
static const char *format_phrase(struct build_ctx *ctx, const char *name, size_t column)
{
	const char *p;
	bool atoms = true;

	for (p = name; *p != '\0'; p++) {
		if (!is_atext((unsigned char)*p) && *p != ' ')
			atoms = false;
	}
	if (atoms && *name != ' ' && strstr(name, "=?") == NULL)
		return name;
	if (has_ctl(name) || strstr(name, "=?") != NULL ||
	    (i_str_has_8bit(name) && !ctx->b->allow_8bit))
		return rfc2047_encode(ctx->b->arena, name, RFC2047_PHRASE, column);
	return quote_string(ctx->b->arena, name);
}

static const char *address_spec(struct arena *arena, const struct baddr *addr)
{
	struct msg_address ma;

	memset(&ma, 0, sizeof(ma));
	ma.mailbox = addr->mailbox;
	ma.domain = addr->domain;
	return msg_address_spec(arena, &ma);
}

static const char *format_address(struct build_ctx *ctx, const struct baddr *addr, size_t column)
{
	struct arena *arena = ctx->b->arena;
	const char *spec = address_spec(arena, addr);

	if (!ctx->b->allow_8bit && i_str_has_8bit(spec)) {
		ctx->error = arena_printf(arena, "address %s needs SMTPUTF8 (8-bit not allowed)", spec);
		return NULL;
	}
	if (addr->name == NULL)
		return spec;
	if (ctx->b->allow_8bit && i_str_has_8bit(addr->name) && !has_ctl(addr->name))
		return arena_printf(arena, "%s <%s>", format_phrase(ctx, addr->name, column), spec);
	return msg_address_format(arena, addr->name, addr->mailbox, addr->domain);
}

/* RFC 2047 B-encode the whole text in words of at most 75 octets, split on
   UTF-8 character boundaries: for text with a word too long to fold. */
static const char *encode_long_b(struct arena *arena, const char *utf8)
{
	const unsigned char *p = (const unsigned char *)utf8;
	size_t len = strlen(utf8), pos = 0, n, clen;
	uint32_t cp;
	buf_t out;
	const char *ret;

	buf_init(&out, BUF_MAX_UNLIMITED);
	while (pos < len) {
		/* 42 octets -> 56 base64 characters + 12 = a 68-octet word */
		for (n = 0; pos + n < len; n += clen) {
			clen = utf8_decode_char(p + pos + n, len - pos - n, &cp);
			if (n + clen > 42)
				break;
		}
		if (pos > 0)
			append_str(&out, "\r\n ");
		append_str(&out, "=?utf-8?b?");
		if (base64_encode(p + pos, n, &out) < 0)
			i_panic("builder: unlimited buffer refused base64");
		append_str(&out, "?=");
		pos += n;
	}
	ret = arena_strndup(arena, buf_str(&out), buf_len(&out));
	buf_free(&out);
	return ret;
}

static size_t longest_word(const char *s)
{
	size_t cur = 0, max = 0;

	for (; *s != '\0'; s++) {
		if (is_wsp((unsigned char)*s)) {
			cur = 0;
		} else if (++cur > max) {
			max = cur;
		}
	}
	return max;
}

/*
 * Write "Name: value" CRLF, folded (RFC 5322 2.2.3): a line break is put
 * before whitespace (outside quoted strings) when the line would pass 78
 * octets; "\r\n" followed by WSP already in value (from RFC 2047 encoding)
 * is kept as a fold. With `quotes` (structured fields), a quoted string is
 * never broken; in unstructured text '"' means nothing. A word that leaves
 * a line over 998 octets is an error.
 */
static int fold_field(struct build_ctx *ctx, buf_t *out, const char *name, const char *value,
		      bool quotes)
{
	size_t len = strlen(value), i = 0, ws_start, ws_len, w_start, w_len, col;
	bool has_word = false, in_quote = false, first = true;

	append_str(out, name);
	append(out, ":", 1);
	col = strlen(name) + 1;
	while (i < len) {
		if (value[i] == '\r' && i + 1 < len && value[i + 1] == '\n') {
			append(out, "\r\n", 2);
			col = 0;
			has_word = false;
			i += 2;
			continue;
		}
		ws_start = i;
		while (i < len && is_wsp((unsigned char)value[i]))
			i++;
		ws_len = i - ws_start;
		w_start = i;
		while (i < len) {
			char c = value[i];
			if (c == '\r' && i + 1 < len && value[i + 1] == '\n')
				break;
			if (!in_quote && is_wsp((unsigned char)c))
				break;
			if (in_quote && c == '\\' && i + 1 < len) {
				i += 2;
				continue;
			}
			if (c == '"' && quotes)
				in_quote = !in_quote;
			i++;
		}
		w_len = i - w_start;
		if (first && ws_len == 0) {
			/* the usual space after the colon */
			append(out, " ", 1);
			col++;
		} else if (has_word && ws_len > 0 && w_len > 0 &&
			   col + ws_len + w_len > MSG_BUILDER_LINE_PREFERRED) {
			append(out, "\r\n", 2);
			col = 0;
		}
		first = false;
		append(out, value + ws_start, ws_len + w_len);
		col += ws_len + w_len;
		if (w_len > 0)
			has_word = true;
		if (col > MSG_BUILDER_LINE_MAX) {
			ctx->error = arena_printf(ctx->b->arena,
				"%s: a word is too long for a %d-octet line", name,
				MSG_BUILDER_LINE_MAX);
			return -1;
		}
	}
	append(out, "\r\n", 2);
	return 0;
}

static int write_field(struct build_ctx *ctx, buf_t *out, const struct bfield *field)
{
	struct msg_builder *b = ctx->b;
	const char *value = field->value;
	size_t column = strlen(field->name) + 2;
	const struct baddr *a;
	buf_t v;
	int ret;

	switch (field->kind) {
	case FIELD_TEXT:
		if (value == NULL)
			return 0;
		if (longest_word(value) > LONG_WORD_MAX)
			value = encode_long_b(b->arena, value);
		else if (!b->allow_8bit || has_ctl(value) || strstr(value, "=?") != NULL)
			value = rfc2047_encode(b->arena, value, RFC2047_TEXT, column);
		return fold_field(ctx, out, field->name, value, false);
	case FIELD_STRUCTURED:
		if (value == NULL)
			return 0;
		if (!b->allow_8bit && i_str_has_8bit(value)) {
			ctx->error = arena_printf(b->arena, "%s: 8-bit value needs SMTPUTF8",
						  field->name);
			return -1;
		}
		return fold_field(ctx, out, field->name, value, true);
	case FIELD_ADDRESS:
		break;
	}

	/* RFC 5322 3.6.3: Bcc is left out of what is sent */
	if (!b->keep_bcc && (name_eq(field->name, "Bcc") || name_eq(field->name, "Resent-Bcc")))
		return 0;
	buf_init(&v, BUF_MAX_UNLIMITED);
	for (a = field->addrs; a != NULL; a = a->next) {
		const char *s;

		if (a->group_end) {
			append(&v, ";", 1);
			continue;
		}
		/* a separator unless this follows the list start or a group's ':' */
		if (buf_len(&v) > 0 && v.data[buf_len(&v) - 1] != ':')
			append_str(&v, ", ");
		else if (buf_len(&v) > 0)
			append(&v, " ", 1);
		if (a->group_start) {
			append_str(&v, format_phrase(ctx, a->name == NULL ? "" : a->name, column));
			append(&v, ":", 1);
			continue;
		}
		s = format_address(ctx, a, buf_len(&v) == 0 ? column : 1);
		if (s == NULL) {
			buf_free(&v);
			return -1;
		}
		append_str(&v, s);
	}
	if (buf_len(&v) == 0 && field->addrs == NULL) {
		/* an address field with no address at all is not valid
		   (RFC 5322 3.4 address-list = 1*address); leave it out */
		buf_free(&v);
		return 0;
	}
	ret = fold_field(ctx, out, field->name, buf_str(&v), true);
	buf_free(&v);
	return ret;
}

/* "; attr=value": a token or quoted string (always quoted when `quote`)
   when short printable ASCII, else the RFC 2231 extended form
   "attr*=utf-8''%XX..." (section 4), split into continuations
   "attr*0*=...; attr*1*=..." (section 3) so that each fits on a folded
   line of 78 octets, never splitting a %XX triple or a UTF-8 character
   across segments. */
static void append_param(struct build_ctx *ctx, buf_t *v, const char *attr, const char *value,
			 bool quote)
{
	size_t len = strlen(value), i, clen, total = 0, k, room;
	bool printable = true, token = len > 0;
	unsigned int segment = 0;
	uint32_t cp;
	buf_t seg;
	char hex[4];

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c < ' ' || c >= 127)
			printable = false;
		if (!is_token_char(c))
			token = false;
	}
	if (printable && len <= PARAM_PLAIN_MAX) {
		append_str(v, "; ");
		append_str(v, attr);
		append(v, "=", 1);
		append_str(v, token && !quote ? value : quote_string(ctx->b->arena, value));
		return;
	}

	/* " attr*NN*=utf-8''" + segment + ";" within 78 columns */
	room = MSG_BUILDER_LINE_PREFERRED - 1 - strlen(attr) - 5 - 7 - 1;
	if (room < 12)
		room = 12;   /* a very long attribute name: one character per segment */
	for (i = 0; i < len; i++)
		total += is_attr_char((unsigned char)value[i]) ? 1 : 3;

	buf_init(&seg, BUF_MAX_UNLIMITED);
	for (i = 0; i < len; i += clen) {
		clen = utf8_decode_char((const unsigned char *)value + i, len - i, &cp);
		if (total > room && buf_len(&seg) > 0 && buf_len(&seg) + clen * 3 > room) {
			append_str(v, arena_printf(ctx->b->arena, "; %s*%u*=%s%s", attr, segment,
						   segment == 0 ? "utf-8''" : "", buf_str(&seg)));
			segment++;
			buf_reset(&seg);
		}
		for (k = 0; k < clen; k++) {
			unsigned char c = (unsigned char)value[i + k];
			if (is_attr_char(c)) {
				append(&seg, &c, 1);
			} else {
				snprintf(hex, sizeof(hex), "%%%02X", c);
				append(&seg, hex, 3);
			}
		}
	}
	if (total <= room) {
		append_str(v, arena_printf(ctx->b->arena, "; %s*=utf-8''%s", attr, buf_str(&seg)));
	} else if (buf_len(&seg) > 0) {
		append_str(v, arena_printf(ctx->b->arena, "; %s*%u*=%s%s", attr, segment,
					   segment == 0 ? "utf-8''" : "", buf_str(&seg)));
	}
	buf_free(&seg);
}

/* The Content-Type "name" parameter for readers that predate RFC 2231:
   non-ASCII as RFC 2047 encoded words inside the quotes, as Thunderbird and
   Outlook write it (not standard, RFC 2047 5, but widely read). */
static void append_name_param(struct build_ctx *ctx, buf_t *v, const char *filename)
{
	size_t len = strlen(filename);

	if (i_mem_has_8bit(filename, len) || has_ctl(filename)) {
		const char *enc = rfc2047_encode(ctx->b->arena, filename, RFC2047_PHRASE, 40);
		/* RFC2047_PHRASE output has no '"' or '\\' outside encoded words,
		   and none inside (5.(3) Q alphabet), so it quotes as is */
		append_str(v, "; name=\"");
		append_str(v, enc);
		append(v, "\"", 1);
	} else if (len <= LONG_WORD_MAX - 20) {
		append_str(v, "; name=");
		append_str(v, quote_string(ctx->b->arena, filename));
	} else {
		append_param(ctx, v, "name", filename, true);
	}
}

/* ------------------------------------------------------------------ */
/* bodies */

/* CRLF, lone CR and lone LF all become CRLF (RFC 5322 2.3: CR and LF only
   as CRLF). */
static void normalize_crlf(const void *data, size_t len, buf_t *out, bool final_newline)
{
	const unsigned char *p = data;
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			continue;
		append(out, p + start, i - start);
		append(out, "\r\n", 2);
		if (p[i] == '\r' && i + 1 < len && p[i + 1] == '\n')
			i++;
		start = i + 1;
	}
	append(out, p + start, len - start);
	if (final_newline && buf_len(out) > 0 &&
	    (buf_len(out) < 2 || memcmp(out->data + buf_len(out) - 2, "\r\n", 2) != 0))
		append(out, "\r\n", 2);
}

/* Longest line (CRLF excluded), 8-bit and NUL presence of CRLF text. */
static void scan_lines(const buf_t *buf, size_t *max_line_r, bool *eight_bit_r, bool *nul_r)
{
	size_t i, line = 0, max = 0;
	bool eight = false, nul = false;

	for (i = 0; i < buf_len(buf); i++) {
		unsigned char c = buf->data[i];
		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c == '\r' && i + 1 < buf_len(buf) && buf->data[i + 1] == '\n')
			continue;
		if (++line > max)
			max = line;
		if (c >= 0x80)
			eight = true;
		else if (c == '\0')
			nul = true;
	}
	*max_line_r = max;
	*eight_bit_r = eight;
	*nul_r = nul;
}

static int entity_header(struct build_ctx *ctx, struct entity *e, const char *name, const char *value)
{
	return fold_field(ctx, &e->data, name, value, true);
}

static void entity_free(struct entity *e)
{
	buf_free(&e->data);
}

/* A text/<sub> entity: UTF-8 with CRLF line ends; 7bit when it is ASCII
   with lines <= 998 (RFC 5322 2.1.1), 8bit when allowed and possible,
   else quoted-printable (RFC 2045 6.7). */
static int entity_text(struct build_ctx *ctx, struct entity *e, const char *type,
		       const void *data, size_t len, bool sanitize)
{
	buf_t clean, text;
	size_t max_line;
	bool eight, nul, utf8_ok;
	const char *cte, *charset;
	int ret = 0;

	buf_init(&clean, BUF_MAX_UNLIMITED);
	buf_init(&text, BUF_MAX_UNLIMITED);
	if (sanitize)
		(void)utf8_sanitize(data, len, &clean);
	else
		append(&clean, data, len);
	normalize_crlf(clean.data == NULL ? "" : (const char *)clean.data, buf_len(&clean),
		       &text, true);
	scan_lines(&text, &max_line, &eight, &nul);
	utf8_ok = !eight || utf8_is_valid(text.data, buf_len(&text));

	if (!eight && !nul && max_line <= MSG_BUILDER_LINE_MAX)
		cte = "7bit";
	else if (ctx->b->allow_8bit && utf8_ok && !nul && max_line <= MSG_BUILDER_LINE_MAX)
		cte = "8bit";
	else
		cte = "quoted-printable";
	charset = !eight ? "us-ascii" : (utf8_ok ? "utf-8" : NULL);

	if (strncmp(type, "text/", 5) == 0) {
		buf_t v;

		buf_init(&v, BUF_MAX_UNLIMITED);
		append_str(&v, type);
		if (charset != NULL)
			append_param(ctx, &v, "charset", charset, false);
		ret = entity_header(ctx, e, "Content-Type", buf_str(&v));
		buf_free(&v);
	} else {
		ret = entity_header(ctx, e, "Content-Type", type);
	}
	if (ret == 0)
		ret = entity_header(ctx, e, "Content-Transfer-Encoding", cte);
	if (ret == 0) {
		append(&e->data, "\r\n", 2);
		if (strcmp(cte, "quoted-printable") == 0) {
			/* From/dot encoded too, so the text survives mbox and
			   careless SMTP relays unchanged */
			if (qp_encode(text.data, buf_len(&text), &e->data, QP_ENCODE_FROM_DOT) < 0)
				i_panic("builder: unlimited buffer refused qp");
		} else {
			append(&e->data, text.data == NULL ? "" : (const char *)text.data,
			       buf_len(&text));
			e->eight_bit = strcmp(cte, "8bit") == 0;
		}
	}
	buf_free(&text);
	buf_free(&clean);
	return ret;
}

/* An attachment or inline resource: base64 with 76-character lines
   (RFC 2045 6.8). */
static int entity_base64(struct build_ctx *ctx, struct entity *e, const struct bpart *part,
			 const char *type, const char *disposition)
{
	buf_t v;
	int ret;

	buf_init(&v, BUF_MAX_UNLIMITED);
	append_str(&v, type);
	if (part->filename != NULL)
		append_name_param(ctx, &v, part->filename);
	ret = entity_header(ctx, e, "Content-Type", buf_str(&v));
	if (ret == 0 && part->content_id != NULL)
		ret = entity_header(ctx, e, "Content-ID",
				    arena_printf(ctx->b->arena, "<%s>", part->content_id));
	buf_reset(&v);
	/* RFC 2183 */
	append_str(&v, disposition);
	if (part->filename != NULL)
		append_param(ctx, &v, "filename", part->filename, true);
	if (ret == 0)
		ret = entity_header(ctx, e, "Content-Disposition", buf_str(&v));
	if (ret == 0)
		ret = entity_header(ctx, e, "Content-Transfer-Encoding", "base64");
	buf_free(&v);
	if (ret < 0)
		return -1;
	append(&e->data, "\r\n", 2);
	if (base64_encode_lines(part->data, part->size, &e->data, BASE64_MIME_LINE_LEN) < 0)
		i_panic("builder: unlimited buffer refused base64");
	return 0;
}

/* A forwarded message (message/rfc822, RFC 2046 5.2.1: only 7bit, 8bit or
   binary, never encoded) or another message/ part (delivery-status). */
static int entity_message(struct build_ctx *ctx, struct entity *e, const struct bpart *part)
{
	buf_t text, v;
	size_t max_line;
	bool eight, nul;
	int ret;

	buf_init(&text, BUF_MAX_UNLIMITED);
	normalize_crlf(part->data, part->size, &text, part->kind != BPART_MESSAGE);
	scan_lines(&text, &max_line, &eight, &nul);
	if (nul || max_line > MSG_BUILDER_LINE_MAX) {
		buf_free(&text);
		if (part->kind == BPART_MESSAGE) {
			/* cannot be message/rfc822 over SMTP without BINARYMIME:
			   keep the bytes exactly in an opaque attachment */
			struct bpart opaque = *part;

			if (opaque.filename == NULL)
				opaque.filename = "forwarded-message.eml";
			return entity_base64(ctx, e, &opaque, MIME_TYPE_DEFAULT, "attachment");
		}
		return entity_text(ctx, e, part->type, part->data, part->size, false);
	}

	buf_init(&v, BUF_MAX_UNLIMITED);
	append_str(&v, part->type);
	if (part->filename != NULL)
		append_name_param(ctx, &v, part->filename);
	ret = entity_header(ctx, e, "Content-Type", buf_str(&v));
	if (ret == 0 && part->filename != NULL) {
		buf_reset(&v);
		append_str(&v, "attachment");
		append_param(ctx, &v, "filename", part->filename, true);
		ret = entity_header(ctx, e, "Content-Disposition", buf_str(&v));
	}
	if (ret == 0)
		ret = entity_header(ctx, e, "Content-Transfer-Encoding", eight ? "8bit" : "7bit");
	buf_free(&v);
	if (ret == 0) {
		append(&e->data, "\r\n", 2);
		append(&e->data, text.data == NULL ? "" : (const char *)text.data, buf_len(&text));
		e->eight_bit = eight;
	}
	buf_free(&text);
	return ret;
}

static int entity_for_part(struct build_ctx *ctx, struct entity *e, const struct bpart *part)
{
	switch (part->kind) {
	case BPART_ATTACHMENT:
		return entity_base64(ctx, e, part, part->type, "attachment");
	case BPART_INLINE:
		return entity_base64(ctx, e, part, part->type, "inline");
	case BPART_MESSAGE:
		return entity_message(ctx, e, part);
	case BPART_OTHER:
		if (strncmp(part->type, "text/", 5) == 0)
			return entity_text(ctx, e, part->type, part->data, part->size, false);
		if (strncmp(part->type, "message/", 8) == 0)
			return entity_message(ctx, e, part);
		return entity_base64(ctx, e, part, part->type, "attachment");
	}
	i_panic("builder: unknown part kind %d", (int)part->kind);
}

static void new_boundary(struct msg_builder *b, char *buf, size_t size)
{
	char uid[UID_MAX_LEN];

	uid_generate(uid);
	/* "=_" cannot occur in base64 or quoted-printable output (RFC 2045
	   6.7: '=' is followed by hex digits or a line break there) */
	snprintf(buf, size, "=_tern_%.40s_%u", uid, ++b->boundary_count);
}

/* A multipart entity of the children (which are freed). The boundary is
   checked against every child's bytes (RFC 2046 5.1.1: it must not occur in
   the encapsulated parts). */
static int entity_multipart(struct build_ctx *ctx, struct entity *e, const char *subtype,
			    const char *extra_param, const char *extra_value,
			    struct entity *children, unsigned int count)
{
	char boundary[BOUNDARY_MAX + 1];
	unsigned int i, tries;
	bool clash, eight = false;
	buf_t v;
	int ret;

	for (tries = 0;; tries++) {
		if (tries == 100)
			i_panic("builder: no unique boundary after 100 tries");
		new_boundary(ctx->b, boundary, sizeof(boundary));
		clash = false;
		for (i = 0; i < count && !clash; i++) {
			if (memmem(children[i].data.data, buf_len(&children[i].data),
				   boundary, strlen(boundary)) != NULL)
				clash = true;
		}
		if (!clash)
			break;
	}
	for (i = 0; i < count; i++)
		eight = eight || children[i].eight_bit;

	buf_init(&v, BUF_MAX_UNLIMITED);
	append_str(&v, "multipart/");
	append_str(&v, subtype);
	if (extra_param != NULL)
		append_param(ctx, &v, extra_param, extra_value, false);
	append_str(&v, "; boundary=");
	append_str(&v, quote_string(ctx->b->arena, boundary));
	ret = entity_header(ctx, e, "Content-Type", buf_str(&v));
	buf_free(&v);
	/* RFC 2045 6.4: a multipart holding 8-bit data is labelled 8bit */
	if (ret == 0 && eight)
		ret = entity_header(ctx, e, "Content-Transfer-Encoding", "8bit");
	if (ret == 0) {
		append(&e->data, "\r\n", 2);
		for (i = 0; i < count; i++) {
			append_str(&e->data, "--");
			append_str(&e->data, boundary);
			append(&e->data, "\r\n", 2);
			append(&e->data, children[i].data.data, buf_len(&children[i].data));
			/* RFC 2046 5.1.1: the CRLF before the next delimiter
			   belongs to the delimiter, so the part keeps its own
			   final line break */
			append(&e->data, "\r\n", 2);
		}
		append_str(&e->data, "--");
		append_str(&e->data, boundary);
		append_str(&e->data, "--\r\n");
		e->eight_bit = eight;
	}
	for (i = 0; i < count; i++)
		entity_free(&children[i]);
	return ret;
}

static void entities_free(struct entity *list, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++)
		entity_free(&list[i]);
}

/* The whole body tree; see the shape table in builder.h. */
static int build_body(struct build_ctx *ctx, struct entity *e)
{
	struct msg_builder *b = ctx->b;
	struct entity *list, body;
	unsigned int n = 0, max = 2, i;
	struct bpart *p;
	bool have_body = false, related = b->html != NULL && b->inlines != NULL;
	bool container;

	for (p = b->parts; p != NULL; p = p->next)
		max++;
	for (p = b->inlines; p != NULL; p = p->next)
		max++;
	list = i_malloc(sizeof(*list) * (max + 1)); /* max counts every possible child */
	for (i = 0; i <= max; i++)
		buf_init(&list[i].data, BUF_MAX_UNLIMITED);

	/* the text alternatives */
	if (b->text != NULL) {
		if (entity_text(ctx, &list[n++], "text/plain", b->text, b->text_len, true) < 0)
			goto fail;
	}
	if (b->html != NULL) {
		if (entity_text(ctx, &list[n++], "text/html", b->html, b->html_len, true) < 0)
			goto fail;
		if (related) {
			/* RFC 2387: the html first, then what it refers to */
			struct entity *rel;
			unsigned int r = 1, rmax = 1;

			for (p = b->inlines; p != NULL; p = p->next)
				rmax++;
			rel = i_malloc(sizeof(*rel) * rmax);
			for (i = 0; i < rmax; i++)
				buf_init(&rel[i].data, BUF_MAX_UNLIMITED);
			rel[0] = list[n - 1];
			buf_init(&list[n - 1].data, BUF_MAX_UNLIMITED);
			for (p = b->inlines; p != NULL; p = p->next) {
				if (entity_for_part(ctx, &rel[r++], p) < 0) {
					entities_free(rel, rmax);
					free(rel);
					goto fail;
				}
			}
			i = (unsigned int)(n - 1);
			if (entity_multipart(ctx, &list[i], "related", "type", "text/html",
					     rel, rmax) < 0) {
				free(rel);
				goto fail;
			}
			free(rel);
		}
	}
	if (n == 2) {
		/* RFC 2046 5.1.4: plainest first */
		buf_init(&body.data, BUF_MAX_UNLIMITED);
		body.eight_bit = false;
		if (entity_multipart(ctx, &body, "alternative", NULL, NULL, list, 2) < 0) {
			entity_free(&body);
			goto fail;
		}
		list[0] = body;
		buf_init(&list[1].data, BUF_MAX_UNLIMITED);
		n = 1;
	}
	have_body = n == 1;

	container = b->parts != NULL || b->report_type != NULL ||
		(b->inlines != NULL && !related);
	if (!container) {
		if (!have_body) {
			/* nothing at all: an empty text/plain */
			if (entity_text(ctx, e, "text/plain", "", 0, false) < 0)
				goto fail;
		} else {
			append(&e->data, list[0].data.data, buf_len(&list[0].data));
			e->eight_bit = list[0].eight_bit;
		}
		entities_free(list, max + 1);
		free(list);
		return 0;
	}

	if (!related) {
		for (p = b->inlines; p != NULL; p = p->next) {
			if (entity_for_part(ctx, &list[n++], p) < 0)
				goto fail;
		}
	}
	for (p = b->parts; p != NULL; p = p->next) {
		if (entity_for_part(ctx, &list[n++], p) < 0)
			goto fail;
	}
	if (b->report_type != NULL) {
		/* RFC 6522 3 */
		if (entity_multipart(ctx, e, "report", "report-type", b->report_type, list, n) < 0)
			goto fail;
	} else {
		if (entity_multipart(ctx, e, "mixed", NULL, NULL, list, n) < 0)
			goto fail;
	}
	entities_free(list, max + 1);
	free(list);
	return 0;
fail:
	entities_free(list, max + 1);
	free(list);
	return -1;
}

/* ------------------------------------------------------------------ */
/* public: output */

int msg_builder_build(struct msg_builder *b, buf_t *out, const char **error_r)
{
	/* RFC 5322 3.6 suggests no order; this is the customary one */
	static const char *const order[] = {
		"Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Subject",
		"Message-ID", "In-Reply-To", "References",
	};
	struct build_ctx ctx = { .b = b, .error = NULL };
	struct entity body;
	struct bfield *f, date_field, id_field;
	char date[MSG_DATE_MAX];
	unsigned int i;
	buf_t msg;
	time_t t;
	int tz;
	size_t j, hdr_end;

	buf_init(&msg, BUF_MAX_UNLIMITED);
	buf_init(&body.data, BUF_MAX_UNLIMITED);
	body.eight_bit = false;

	/* generated fields unless given */
	memset(&date_field, 0, sizeof(date_field));
	date_field.name = "Date";
	date_field.kind = FIELD_STRUCTURED;
	if (field_find(b, "Date") == NULL) {
		t = b->time_set ? b->time : time(NULL);
		tz = b->time_set ? b->tz_offset_min : msg_date_local_offset(t);
		msg_date_format(t, tz, date);
		date_field.value = date;
	}
	memset(&id_field, 0, sizeof(id_field));
	id_field.name = "Message-ID";
	id_field.kind = FIELD_STRUCTURED;
	if ((f = field_find(b, "Message-ID")) == NULL) {
		if (b->message_id == NULL)
			b->message_id = uid_message_id(b->arena, b->hostname);
		id_field.value = b->message_id;
	} else {
		b->message_id = f->value;
	}

	/* RFC 5322 3.6.7: trace fields come first */
	for (f = b->fields; f != NULL; f = f->next) {
		if (is_trace_field(f->name) && write_field(&ctx, &msg, f) < 0)
			goto fail;
	}
	for (i = 0; i < N_ELEMENTS(order); i++) {
		f = field_find(b, order[i]);
		if (f == NULL && i == 0)
			f = &date_field;
		else if (f == NULL && strcmp(order[i], "Message-ID") == 0)
			f = &id_field;
		if (f != NULL && write_field(&ctx, &msg, f) < 0)
			goto fail;
	}
	for (f = b->fields; f != NULL; f = f->next) {
		for (i = 0; i < N_ELEMENTS(order); i++) {
			if (name_eq(f->name, order[i]))
				break;
		}
		if (i < N_ELEMENTS(order) || name_eq(f->name, "MIME-Version") ||
		    is_trace_field(f->name))
			continue;
		if (write_field(&ctx, &msg, f) < 0)
			goto fail;
	}
	f = field_find(b, "MIME-Version");
	if (f != NULL) {
		if (write_field(&ctx, &msg, f) < 0)
			goto fail;
	} else {
		append_str(&msg, "MIME-Version: 1.0\r\n");
	}
	hdr_end = buf_len(&msg);

	if (build_body(&ctx, &body) < 0)
		goto fail;
	append(&msg, body.data.data, buf_len(&body.data));

	b->out_8bit = body.eight_bit;
	b->out_utf8_header = false;
	for (j = 0; j < hdr_end; j++) {
		if (msg.data[j] >= 0x80) {
			b->out_utf8_header = true;
			break;
		}
	}
	entity_free(&body);
	if (buf_append(out, msg.data, buf_len(&msg)) < 0) {
		buf_free(&msg);
		*error_r = "message larger than the output buffer's maximum";
		return -1;
	}
	buf_free(&msg);
	return 0;
fail:
	entity_free(&body);
	buf_free(&msg);
	*error_r = ctx.error != NULL ? ctx.error : "message could not be built";
	return -1;
}

bool msg_builder_is_8bit(const struct msg_builder *b)
{
	return b->out_8bit;
}

bool msg_builder_is_utf8_header(const struct msg_builder *b)
{
	return b->out_utf8_header;
}

const char *msg_builder_message_id(const struct msg_builder *b)
{
	return b->message_id;
}

const char *const *msg_builder_recipients(struct msg_builder *b, unsigned int *count_r)
{
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc", "Resent-Bcc" };
	const char *const *names = plain;
	const struct baddr **seen;
	const char **list;
	unsigned int n = 0, max = 0, i, k;
	struct bfield *f;
	const struct baddr *a;

	/* RFC 5322 3.6.6: a resent message goes to the Resent- recipients */
	for (i = 0; i < N_ELEMENTS(resent); i++) {
		if (field_find(b, resent[i]) != NULL)
			names = resent;
	}
	for (i = 0; i < 3; i++) {
		f = field_find(b, names[i]);
		for (a = f == NULL ? NULL : f->addrs; a != NULL; a = a->next)
			max++;
	}
	list = arena_new_array(b->arena, const char *, max + 1);
	seen = arena_new_array(b->arena, const struct baddr *, max + 1);
	for (i = 0; i < 3; i++) {
		f = field_find(b, names[i]);
		for (a = f == NULL ? NULL : f->addrs; a != NULL; a = a->next) {
			if (a->group_start || a->group_end)
				continue;
			/* the local part is case-sensitive (RFC 5321 2.4), the
			   domain is not */
			for (k = 0; k < n; k++) {
				if (strcmp(seen[k]->mailbox, a->mailbox) == 0 &&
				    i_strcasecmp(seen[k]->domain, a->domain) == 0)
					break;
			}
			if (k == n) {
				seen[n] = a;
				list[n++] = address_spec(b->arena, a);
			}
		}
	}
	list[n] = NULL;
	if (count_r != NULL)
		*count_r = n;
	return list;
}
