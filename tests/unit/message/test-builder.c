#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "base64.h"
#include "buf.h"
#include "builder.h"
#include "json.h"
#include "mime-types.h"
#include "mime.h"
#include "part-text.h"
#include "rfc2047.h"
#include "utf8.h"

#define PYTHON "/usr/bin/python3"
#define CHECK_SCRIPT TERN_TEST_DATA "/../unit/message/check_built.py"

unsigned int mime_types_table_check(void);

/* What a built message must look like, for both the C MIME parser and
   Python's email package (check_built.py). */
struct exp_part {
	const char *type;                 /* "text/plain" */
	const char *param, *param_value;  /* one Content-Type parameter, or NULL */
	const char *disposition;
	const char *filename;
	const char *content_id;           /* with <> */
	const char *text;                 /* decoded text, CRLF line ends */
	const void *payload;              /* transfer-decoded bytes */
	size_t payload_len;
	const char *message_subject;      /* message/rfc822: the inner Subject */
	const void *message_bytes;        /* message/rfc822: the body, exactly */
	size_t message_len;
	const struct exp_part *parts;
	unsigned int part_count;
};

struct exp_addr {
	const char *field, *name, *addr;  /* name "" = none */
};

struct exp_msg {
	bool eight_bit;
	const char *subject;              /* decoded, or NULL: not checked */
	const struct exp_addr *addrs;
	unsigned int addr_count;
	const char *absent;               /* a field that must not be there, or NULL */
	const struct exp_part *structure;
};

static char tmpdir[64];
static unsigned int file_counter;

static int setup_all(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tern-builder-test-%ld", (long)getpid());
	if (mkdir(tmpdir, 0700) < 0)
		return -1;
	/* The cross-check is half of what these tests prove: without Debian's
	   Python (python3, in scripts/deps.sh) they fail rather than pass on
	   tern's word alone. */
	if (access(PYTHON, X_OK) < 0) {
		fprintf(stderr, "error: %s missing: the Python email cross-check "
			"(check_built.py) cannot run; install python3\n", PYTHON);
		return -1;
	}
	return 0;
}

static int teardown_all(void **state)
{
	char cmd[128];

	if (getenv("TERN_TEST_KEEP") != NULL) {
		fprintf(stderr, "note: messages kept in %s\n", tmpdir);
		return 0;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct msg_builder *new_builder(struct arena *arena)
{
	struct msg_builder *b = msg_builder_create(arena, "mx.example.test");

	/* 2026-11-23 10:00:00 UTC, shown at +0100 */
	msg_builder_set_time(b, 1795428000, 60);
	return b;
}

/* Build; every line must end in CRLF and be at most 998 octets; header
   lines at most 78 unless `long_ok`. Returns the message in out. */
static void build_ok(struct msg_builder *b, buf_t *out, bool long_ok)
{
	const char *error = NULL;
	size_t i, start = 0, hdr_end;
	const char *end;

	buf_init(out, BUF_MAX_UNLIMITED);
	if (msg_builder_build(b, out, &error) < 0)
		fail_msg("build failed: %s", error);
	end = memmem(out->data, buf_len(out), "\r\n\r\n", 4);
	assert_non_null(end);
	hdr_end = (size_t)(end - (const char *)out->data) + 2;
	for (i = 0; i < buf_len(out); i++) {
		if (out->data[i] == '\r') {
			assert_true(i + 1 < buf_len(out));
			assert_int_equal(out->data[i + 1], '\n');
			if (i - start > MSG_BUILDER_LINE_MAX)
				fail_msg("line of %zu octets at %zu", i - start, start);
			if (!long_ok && i < hdr_end && i - start > MSG_BUILDER_LINE_PREFERRED)
				fail_msg("header line of %zu octets: %.*s", i - start,
					 (int)(i - start), out->data + start);
			i++;
			start = i + 1;
		} else {
			assert_int_not_equal(out->data[i], '\n');
		}
	}
	assert_int_equal(start, buf_len(out));
}

static bool all_7bit(const buf_t *out)
{
	size_t i;

	for (i = 0; i < buf_len(out); i++) {
		if (out->data[i] >= 0x80)
			return false;
	}
	return true;
}

static const char *header_decoded(struct arena *arena, const struct mime_part *part,
				  const char *name)
{
	const struct msg_header_field *f = msg_header_get(&part->header, name);

	return f == NULL ? NULL : rfc2047_decode(arena, f->value, f->value_len);
}

static const char *header_raw(const struct mime_part *part, const char *name)
{
	const struct msg_header_field *f = msg_header_get(&part->header, name);

	return f == NULL ? NULL : f->value;
}

/* ---- C-side structure check ---- */

static void check_part_c(struct arena *arena, const struct mime_part *part,
			 const buf_t *msg, const struct exp_part *exp)
{
	char type[128];
	const char *v;
	buf_t body;
	const struct mime_part *kid;
	unsigned int i;

	snprintf(type, sizeof(type), "%s/%s", part->type, part->subtype);
	assert_string_equal(type, exp->type);
	assert_true(part->content_type_explicit);
	assert_int_equal(part->flags & (MIME_PART_FLAG_MISSING_END_BOUNDARY |
					MIME_PART_FLAG_BARE_LF | MIME_PART_FLAG_BAD_CONTENT_TYPE), 0);
	if (exp->param != NULL) {
		v = mime_part_param(part, exp->param);
		assert_non_null(v);
		assert_string_equal(v, exp->param_value);
	}
	if (exp->disposition != NULL) {
		assert_non_null(part->disposition);
		assert_string_equal(part->disposition, exp->disposition);
	}
	if (exp->filename != NULL) {
		v = mime_param_get(part->disposition_params, part->disposition_param_count,
				   "filename");
		assert_non_null(v);
		assert_string_equal(v, exp->filename);
		v = part_text_filename(arena, part);
		assert_string_equal(v, exp->filename);
	}
	if (exp->content_id != NULL) {
		assert_non_null(part->content_id);
		assert_string_equal(part->content_id, exp->content_id);
	}
	if (exp->text != NULL) {
		buf_init(&body, BUF_MAX_UNLIMITED);
		assert_int_equal(part_text_decode(part, msg->data, buf_len(msg), &body), 0);
		assert_string_equal(buf_str(&body), exp->text);
		buf_free(&body);
	}
	if (exp->payload != NULL) {
		buf_init(&body, BUF_MAX_UNLIMITED);
		assert_int_equal(part_text_decode_cte(part, msg->data, buf_len(msg), &body), 0);
		assert_int_equal(buf_len(&body), exp->payload_len);
		assert_memory_equal(body.data, exp->payload, exp->payload_len);
		buf_free(&body);
	}
	if (exp->message_bytes != NULL) {
		assert_true(mime_part_is_message(part));
		assert_int_equal(part->body_size, exp->message_len);
		assert_memory_equal(msg->data + part->body_offset, exp->message_bytes,
				    exp->message_len);
	}
	if (exp->message_subject != NULL) {
		assert_true(mime_part_is_message(part));
		v = header_decoded(arena, part->children, "Subject");
		assert_non_null(v);
		assert_string_equal(v, exp->message_subject);
	}
	if (exp->parts != NULL) {
		assert_true(mime_part_is_multipart(part));
		assert_non_null(part->boundary);
		assert_true(strlen(part->boundary) <= 70);
		assert_int_equal(part->child_count, exp->part_count);
		for (i = 0, kid = part->children; i < exp->part_count; i++, kid = kid->next)
			check_part_c(arena, kid, msg, &exp->parts[i]);
	}
}

/* ---- Python-side check ---- */

static void json_b64(struct json_writer *w, const void *data, size_t len)
{
	buf_t t;

	buf_init(&t, BUF_MAX_UNLIMITED);
	assert_int_equal(base64_encode(data, len, &t), 0);
	json_string_n(w, t.data == NULL ? "" : (const char *)t.data, buf_len(&t));
	buf_free(&t);
}

static void json_part(struct json_writer *w, const struct exp_part *exp)
{
	unsigned int i;

	json_object_begin(w);
	json_key(w, "type");
	json_string(w, exp->type);
	if (exp->param != NULL) {
		json_key(w, "params");
		json_object_begin(w);
		json_key(w, exp->param);
		json_string(w, exp->param_value);
		json_object_end(w);
	}
	if (exp->disposition != NULL) {
		json_key(w, "disposition");
		json_string(w, exp->disposition);
	}
	if (exp->filename != NULL) {
		json_key(w, "filename");
		json_string(w, exp->filename);
	}
	if (exp->content_id != NULL) {
		json_key(w, "content_id");
		json_string(w, exp->content_id);
	}
	if (exp->text != NULL) {
		json_key(w, "text");
		json_string(w, exp->text);
	}
	if (exp->payload != NULL) {
		json_key(w, "payload_b64");
		json_b64(w, exp->payload, exp->payload_len);
	}
	if (exp->message_subject != NULL) {
		json_key(w, "message_subject");
		json_string(w, exp->message_subject);
	}
	if (exp->message_bytes != NULL) {
		json_key(w, "message_bytes_b64");
		json_b64(w, exp->message_bytes, exp->message_len);
	}
	if (exp->parts != NULL) {
		json_key(w, "parts");
		json_array_begin(w);
		for (i = 0; i < exp->part_count; i++)
			json_part(w, &exp->parts[i]);
		json_array_end(w);
	}
	json_object_end(w);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Write the message and its expectations; returns the message's path. */
static char *python_write(const buf_t *msg, const struct exp_msg *exp)
{
	char path[128], jpath[160];
	struct json_writer w;
	buf_t j;
	unsigned int i;
	const char *field = NULL;

	snprintf(path, sizeof(path), "%s/%03u.eml", tmpdir, ++file_counter);
	snprintf(jpath, sizeof(jpath), "%s.json", path);
	write_file(path, msg->data, buf_len(msg));

	buf_init(&j, BUF_MAX_UNLIMITED);
	json_writer_init(&w, &j, false);
	json_object_begin(&w);
	json_key(&w, "eight_bit");
	json_bool(&w, exp->eight_bit);
	if (exp->subject != NULL) {
		json_key(&w, "headers");
		json_object_begin(&w);
		json_key(&w, "Subject");
		json_string(&w, exp->subject);
		json_object_end(&w);
	}
	json_key(&w, "addresses");
	json_object_begin(&w);
	for (i = 0; i < exp->addr_count; i++) {
		if (field == NULL || strcmp(field, exp->addrs[i].field) != 0) {
			if (field != NULL)
				json_array_end(&w);
			field = exp->addrs[i].field;
			json_key(&w, field);
			json_array_begin(&w);
		}
		json_array_begin(&w);
		json_string(&w, exp->addrs[i].name);
		json_string(&w, exp->addrs[i].addr);
		json_array_end(&w);
	}
	if (field != NULL)
		json_array_end(&w);
	json_object_end(&w);
	if (exp->absent != NULL) {
		json_key(&w, "absent");
		json_array_begin(&w);
		json_string(&w, exp->absent);
		json_array_end(&w);
	}
	json_key(&w, "structure");
	json_part(&w, exp->structure);
	json_object_end(&w);
	assert_int_equal(json_writer_finish(&w), 0);
	write_file(jpath, j.data, buf_len(&j));
	buf_free(&j);
	return strdup(path);
}

static void python_run(char **paths, unsigned int count)
{
	char **argv;
	unsigned int i;
	pid_t pid;
	int status;

	argv = calloc(count + 3, sizeof(*argv));
	argv[0] = strdup(PYTHON);
	argv[1] = strdup(CHECK_SCRIPT);
	for (i = 0; i < count; i++)
		argv[i + 2] = paths[i];
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execv(PYTHON, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	for (i = 0; i < count; i++)
		free(paths[i]);
	free(argv[0]);
	free(argv[1]);
	free(argv);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("check_built.py failed (status %d)", status);
}

/* Both checks on one message. */
static void check_message(struct arena *arena, const buf_t *msg, const struct exp_msg *exp)
{
	struct mime_part *root;
	char *path;
	const char *v;
	unsigned int i;

	path = python_write(msg, exp);
	root = mime_parse(arena, msg->data, buf_len(msg), NULL);
	assert_non_null(root);
	check_part_c(arena, root, msg, exp->structure);
	if (!exp->eight_bit)
		assert_true(all_7bit(msg));
	if (exp->subject != NULL) {
		v = header_decoded(arena, root, "Subject");
		assert_non_null(v);
		assert_string_equal(v, exp->subject);
	}
	for (i = 0; i < exp->addr_count; i++) {
		v = header_decoded(arena, root, exp->addrs[i].field);
		assert_non_null(v);
		assert_non_null(strstr(v, exp->addrs[i].addr));
		assert_non_null(strstr(v, exp->addrs[i].name));
	}
	if (exp->absent != NULL)
		assert_null(msg_header_get(&root->header, exp->absent));
	assert_non_null(msg_header_get(&root->header, "Date"));
	assert_non_null(msg_header_get(&root->header, "Message-ID"));
	assert_string_equal(header_raw(root, "MIME-Version"), "1.0");

	python_run(&path, 1);
}

/* ------------------------------------------------------------------ */

static void test_mime_types(void **state)
{
	assert_int_equal(mime_types_table_check(), 0);
	assert_string_equal(mime_type_from_filename("report.pdf"), "application/pdf");
	assert_string_equal(mime_type_from_filename("PHOTO.JPG"), "image/jpeg");
	assert_string_equal(mime_type_from_filename("a.b.tar.Gz"), "application/gzip");
	assert_string_equal(mime_type_from_filename("/home/u/notes.txt"), "text/plain");
	assert_string_equal(mime_type_from_filename("x.docx"),
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document");
	assert_string_equal(mime_type_from_filename("naïve.png"), "image/png");
	assert_string_equal(mime_type_from_filename("README"), MIME_TYPE_DEFAULT);
	assert_string_equal(mime_type_from_filename(".bashrc"), MIME_TYPE_DEFAULT);
	assert_string_equal(mime_type_from_filename("dir.d/file"), MIME_TYPE_DEFAULT);
	assert_string_equal(mime_type_from_filename("x.unknownext"), MIME_TYPE_DEFAULT);
	assert_string_equal(mime_type_from_filename("trailingdot."), MIME_TYPE_DEFAULT);
	assert_string_equal(mime_type_from_filename(NULL), MIME_TYPE_DEFAULT);
	assert_string_equal(mime_type_from_extension("SvG"), "image/svg+xml");
	assert_null(mime_type_from_extension(""));
	assert_null(mime_type_from_extension("averyveryverylongext"));
}

static void test_simple_text(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error;
	buf_t out;
	static const struct exp_addr addrs[] = {
		{ "From", "Alice Example", "alice@example.test" },
		{ "To", "", "bob@example.test" },
		{ "To", "Carol", "carol@example.test" },
	};
	static const struct exp_part text = {
		.type = "text/plain", .param = "charset", .param_value = "us-ascii",
		.text = "Hello Bob,\r\n\r\nsee you.\r\n",
	};
	static const struct exp_msg exp = {
		.subject = "Lunch", .addrs = addrs, .addr_count = 3, .structure = &text,
	};

	assert_int_equal(msg_builder_add_address(b, "From", "Alice Example",
						 "alice@example.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "bob@example.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "To", "Carol", "carol@example.test", &error), 0);
	msg_builder_set_subject(b, "Lunch");
	/* bare LF in, CRLF out; a final line break is added */
	msg_builder_set_text(b, "Hello Bob,\n\nsee you.", 20);
	build_ok(b, &out, false);

	assert_non_null(strstr(buf_str(&out), "\r\nDate: Mon, 23 Nov 2026 11:00:00 +0100\r\n") ||
			strncmp(buf_str(&out), "Date: Mon, 23 Nov 2026 11:00:00 +0100\r\n", 39) == 0);
	assert_non_null(strstr(buf_str(&out), "From: Alice Example <alice@example.test>\r\n"));
	assert_non_null(strstr(buf_str(&out),
		"To: bob@example.test, Carol <carol@example.test>\r\n"));
	assert_non_null(strstr(buf_str(&out), "Subject: Lunch\r\n"));
	assert_non_null(strstr(buf_str(&out), "Content-Transfer-Encoding: 7bit\r\n"));
	assert_non_null(strstr(buf_str(&out), "@mx.example.test>\r\n"));
	assert_string_equal(strstr(buf_str(&out), "\r\n\r\n"), "\r\n\r\nHello Bob,\r\n\r\nsee you.\r\n");
	assert_false(msg_builder_is_8bit(b));
	assert_false(msg_builder_is_utf8_header(b));
	assert_non_null(msg_builder_message_id(b));
	assert_non_null(strstr(buf_str(&out), msg_builder_message_id(b)));
	check_message(arena, &out, &exp);
	buf_free(&out);
	arena_free(&arena);
}

static void test_utf8_headers(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error;
	buf_t out;
	const char *subject =
		"Réunion d'équipe: ordre du jour très détaillé pour la semaine prochaine, "
		"avec beaucoup de points à discuter — 会議の議題 — et encore plus de texte";
	static const struct exp_addr addrs[] = {
		{ "From", "Zoë Ünicode", "zoe@example.test" },
		{ "To", "Smith, John (Sales)", "john@example.test" },
		{ "To", "山田太郎", "taro@example.test" },
	};
	static const struct exp_part text = {
		.type = "text/plain", .param = "charset", .param_value = "us-ascii",
		.text = "hi\r\n",
	};
	struct exp_msg exp = {
		.subject = subject, .addrs = addrs, .addr_count = 3, .structure = &text,
	};

	assert_int_equal(msg_builder_add_address(b, "From", "Zoë Ünicode", "zoe@example.test",
						 &error), 0);
	assert_int_equal(msg_builder_add_address_list(b, "To",
		"\"Smith, John (Sales)\" <john@example.test>, "
		"=?utf-8?b?5bGx55Sw5aSq6YOO?= <taro@example.test>", &error), 0);
	msg_builder_set_subject(b, subject);
	msg_builder_set_text(b, "hi\n", 3);
	build_ok(b, &out, false);
	assert_false(msg_builder_is_utf8_header(b));
	check_message(arena, &out, &exp);
	buf_free(&out);
	arena_free(&arena);
}

static void test_text_qp(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	buf_t out, in, expect;
	unsigned int i;
	struct exp_part text = {
		.type = "text/plain", .param = "charset", .param_value = "utf-8",
	};
	struct exp_msg exp = { .structure = &text };
	const char *body;

	buf_init(&in, BUF_MAX_UNLIMITED);
	buf_init(&expect, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(&in, "Grüße aus Köln\r\nFrom the team\n.\n"), 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_append_str(&in, "long "), 0);
	assert_int_equal(buf_append_str(&in, "\rtrailing space \nend"), 0);
	assert_int_equal(buf_append_str(&expect, "Grüße aus Köln\r\nFrom the team\r\n.\r\n"), 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_append_str(&expect, "long "), 0);
	assert_int_equal(buf_append_str(&expect, "\r\ntrailing space \r\nend\r\n"), 0);
	text.text = buf_str(&expect);

	msg_builder_set_text(b, (const char *)in.data, buf_len(&in));
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "Content-Transfer-Encoding: quoted-printable\r\n"));
	body = strstr(buf_str(&out), "\r\n\r\n") + 4;
	/* RFC 2045 6.7 (5): encoded lines <= 76 */
	for (const char *p = body; *p != '\0'; ) {
		const char *e = strstr(p, "\r\n");
		assert_non_null(e);
		assert_true(e - p <= 76);
		/* "From " and a lone dot at a line start are encoded */
		assert_true(strncmp(p, "From ", 5) != 0);
		assert_false(e - p == 1 && *p == '.');
		p = e + 2;
	}
	check_message(arena, &out, &exp);

	/* ASCII but a line over 998 octets: quoted-printable too, us-ascii */
	buf_free(&out);
	buf_reset(&in);
	for (i = 0; i < 1200; i++)
		assert_int_equal(buf_append_c(&in, 'x'), 0);
	b = new_builder(arena);
	msg_builder_set_text(b, (const char *)in.data, buf_len(&in));
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "us-ascii"));
	assert_non_null(strstr(buf_str(&out), "quoted-printable"));
	assert_int_equal(buf_append_str(&in, "\r\n"), 0);
	text.param_value = "us-ascii";
	text.text = buf_str(&in);
	check_message(arena, &out, &exp);

	buf_free(&out);
	buf_free(&in);
	buf_free(&expect);
	arena_free(&arena);
}

static void test_allow_8bit(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error;
	buf_t out;
	static const struct exp_addr addrs[] = {
		{ "From", "Zoë", "zoe@example.test" },
	};
	static const struct exp_part text = {
		.type = "text/plain", .param = "charset", .param_value = "utf-8",
		.text = "Grüße\r\n",
	};
	static const struct exp_msg exp = {
		.eight_bit = true, .subject = "Grüße, Zoë", .addrs = addrs, .addr_count = 1,
		.structure = &text,
	};

	msg_builder_set_allow_8bit(b, true);
	assert_int_equal(msg_builder_add_address(b, "From", "Zoë", "zoe@example.test", &error), 0);
	msg_builder_set_subject(b, "Grüße, Zoë");
	msg_builder_set_text(b, "Grüße\n", strlen("Grüße\n"));
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "Subject: Grüße, Zoë\r\n"));
	assert_non_null(strstr(buf_str(&out), "From: \"Zoë\" <zoe@example.test>\r\n") ||
			strstr(buf_str(&out), "From: Zoë <zoe@example.test>\r\n"));
	assert_non_null(strstr(buf_str(&out), "Content-Transfer-Encoding: 8bit\r\n"));
	assert_true(msg_builder_is_8bit(b));
	assert_true(msg_builder_is_utf8_header(b));
	check_message(arena, &out, &exp);
	buf_free(&out);

	/* even with 8-bit allowed, text that looks like an encoded word or
	   holds control characters is encoded */
	b = new_builder(arena);
	msg_builder_set_allow_8bit(b, true);
	msg_builder_set_subject(b, "=?utf-8?q?x?= ü");
	assert_int_equal(msg_builder_add_header(b, "X-Ctl", "a\x01b", &error), 0);
	build_ok(b, &out, false);
	assert_null(strstr(buf_str(&out), "Subject: =?utf-8?q?x?= ü"));
	assert_null(strstr(buf_str(&out), "\x01"));
	{
		struct mime_part *root = mime_parse(arena, out.data, buf_len(&out), NULL);
		assert_string_equal(header_decoded(arena, root, "Subject"), "=?utf-8?q?x?= ü");
		assert_string_equal(header_decoded(arena, root, "X-Ctl"), "a\x01b");
	}
	buf_free(&out);

	/* a UTF-8 address needs SMTPUTF8: refused at build without 8-bit */
	b = new_builder(arena);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "jürgen@example.test", &error), 0);
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(msg_builder_build(b, &out, &error), -1);
	assert_non_null(strstr(error, "SMTPUTF8"));
	msg_builder_set_allow_8bit(b, true);
	assert_int_equal(msg_builder_build(b, &out, &error), 0);
	assert_non_null(strstr(buf_str(&out), "To: jürgen@example.test\r\n"));
	buf_free(&out);
	arena_free(&arena);
}

static void test_alternative(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	buf_t out;
	static const struct exp_part alt_parts[] = {
		{ .type = "text/plain", .text = "Hello *world*\r\n" },
		{ .type = "text/html", .param = "charset", .param_value = "utf-8",
		  .text = "<p>Hello <b>wörld</b></p>\r\n" },
	};
	static const struct exp_part alt = {
		.type = "multipart/alternative", .parts = alt_parts, .part_count = 2,
	};
	static const struct exp_msg exp = { .structure = &alt };

	msg_builder_set_html(b, "<p>Hello <b>wörld</b></p>", strlen("<p>Hello <b>wörld</b></p>"));
	msg_builder_set_text(b, "Hello *world*", 13);
	build_ok(b, &out, false);
	check_message(arena, &out, &exp);
	buf_free(&out);
	arena_free(&arena);
}

static void test_attachments(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error, *body;
	unsigned char bin[3000];
	unsigned int i;
	buf_t out;
	const char *long_name =
		"Rapport annuel très détaillé de l'équipe de développement — "
		"version définitive, révisée et approuvée (2026) 年次報告書.pdf";
	const char *ascii_long =
		"a-rather-long-ascii-file-name-that-does-not-fit-in-sixty-characters-at-all.tar.gz";
	struct exp_part parts[] = {
		{ .type = "text/plain", .text = "See attached.\r\n" },
		{ .type = "application/pdf", .disposition = "attachment",
		  .filename = "report.pdf", .payload = "%PDF-1.4\n", .payload_len = 9 },
		{ .type = "image/png", .disposition = "attachment", .filename = "naïve café.png",
		  .payload = bin, .payload_len = sizeof(bin) },
		{ .type = "application/pdf", .disposition = "attachment", .filename = long_name,
		  .payload = "x", .payload_len = 1 },
		{ .type = "application/gzip", .disposition = "attachment", .filename = ascii_long,
		  .payload = "", .payload_len = 0 },
		{ .type = "text/csv", .disposition = "attachment", .filename = "a \"quoted\" name;x.csv",
		  .payload = "a,b\r\n1,2\n", .payload_len = 9 },
		{ .type = "application/x-custom", .disposition = "attachment",
		  .payload = "\0\1\2", .payload_len = 3 },
	};
	struct exp_part mixed = { .type = "multipart/mixed", .parts = parts,
				  .part_count = N_ELEMENTS(parts) };
	struct exp_msg exp = { .structure = &mixed };

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + i / 256);
	msg_builder_set_text(b, "See attached.\n", 14);
	assert_int_equal(msg_builder_add_attachment(b, "report.pdf", NULL, "%PDF-1.4\n", 9, &error), 0);
	assert_int_equal(msg_builder_add_attachment(b, "naïve café.png", NULL, bin, sizeof(bin),
						    &error), 0);
	assert_int_equal(msg_builder_add_attachment(b, long_name, NULL, "x", 1, &error), 0);
	assert_int_equal(msg_builder_add_attachment(b, ascii_long, NULL, "", 0, &error), 0);
	assert_int_equal(msg_builder_add_attachment(b, "a \"quoted\" name;x.csv", NULL,
						    "a,b\r\n1,2\n", 9, &error), 0);
	assert_int_equal(msg_builder_add_attachment(b, NULL, "Application/X-Custom", "\0\1\2", 3,
						    &error), 0);
	/* bad types are refused */
	assert_int_equal(msg_builder_add_attachment(b, "x", "text", "", 0, &error), -1);
	assert_int_equal(msg_builder_add_attachment(b, "x", "text/plain; charset=x", "", 0, &error), -1);
	assert_int_equal(msg_builder_add_attachment(b, "x", "multipart/mixed", "", 0, &error), -1);
	assert_int_equal(msg_builder_add_attachment(b, "x", "message/rfc822", "", 0, &error), -1);
	assert_int_equal(msg_builder_add_attachment(b, "a\nb", NULL, "", 0, &error), -1);

	build_ok(b, &out, false);
	/* RFC 2231 for the non-ASCII names, RFC 2047 name= for old readers */
	assert_non_null(strstr(buf_str(&out), "filename*=utf-8''na%C3%AFve%20caf%C3%A9.png"));
	assert_non_null(strstr(buf_str(&out), "name=\"=?utf-8?"));
	assert_non_null(strstr(buf_str(&out), "filename*0*=utf-8''"));
	assert_non_null(strstr(buf_str(&out), "filename*1*="));
	assert_non_null(strstr(buf_str(&out), "filename=\"report.pdf\"") ||
			strstr(buf_str(&out), "filename=report.pdf"));
	/* base64 lines are 76 characters */
	body = strstr(buf_str(&out), "Content-Type: image/png");
	body = strstr(body, "\r\n\r\n") + 4;
	assert_int_equal(strchr(body, '\r') - body, 76);
	check_message(arena, &out, &exp);
	buf_free(&out);
	arena_free(&arena);
}

static void test_related(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error;
	buf_t out;
	static const unsigned char gif[] = "GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff";
	static const struct exp_part rel_parts[] = {
		{ .type = "text/html", .text = "<img src=\"cid:logo@x\">\r\n" },
		{ .type = "image/gif", .disposition = "inline", .filename = "logo.gif",
		  .content_id = "<logo@x>", .payload = gif, .payload_len = sizeof(gif) - 1 },
	};
	static const struct exp_part alt_parts[] = {
		{ .type = "text/plain", .text = "[logo]\r\n" },
		{ .type = "multipart/related", .param = "type", .param_value = "text/html",
		  .parts = rel_parts, .part_count = 2 },
	};
	static const struct exp_part alt = {
		.type = "multipart/alternative", .parts = alt_parts, .part_count = 2,
	};
	static const struct exp_msg exp = { .structure = &alt };
	static const struct exp_part inl_parts[] = {
		{ .type = "text/plain", .text = "no html\r\n" },
		{ .type = "image/gif", .disposition = "inline", .filename = "logo.gif",
		  .content_id = "<logo@x>", .payload = gif, .payload_len = sizeof(gif) - 1 },
	};
	static const struct exp_part inl = {
		.type = "multipart/mixed", .parts = inl_parts, .part_count = 2,
	};
	static const struct exp_msg exp2 = { .structure = &inl };

	msg_builder_set_text(b, "[logo]", 6);
	msg_builder_set_html(b, "<img src=\"cid:logo@x\">", 22);
	assert_int_equal(msg_builder_add_inline(b, "logo@x", "logo.gif", NULL, gif,
						sizeof(gif) - 1, &error), 0);
	assert_int_equal(msg_builder_add_inline(b, "<bad>", "x.gif", NULL, gif, 1, &error), -1);
	assert_int_equal(msg_builder_add_inline(b, "", "x.gif", NULL, gif, 1, &error), -1);
	build_ok(b, &out, false);
	check_message(arena, &out, &exp);
	buf_free(&out);

	/* without html, an inline resource is an inline part of a mixed */
	b = new_builder(arena);
	msg_builder_set_text(b, "no html", 7);
	assert_int_equal(msg_builder_add_inline(b, "logo@x", "logo.gif", "image/gif", gif,
						sizeof(gif) - 1, &error), 0);
	build_ok(b, &out, false);
	check_message(arena, &out, &exp2);
	buf_free(&out);
	arena_free(&arena);
}

static void test_forward(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	buf_t out, big;
	const char *fwd_lf = "From: a@example.test\nSubject: original\n\nbody\n";
	const char *fwd_crlf = "From: a@example.test\r\nSubject: original\r\n\r\nbody\r\n";
	const char *fwd8 = "From: a@example.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
			   "Content-Type: text/plain; charset=utf-8\r\n"
			   "Content-Transfer-Encoding: 8bit\r\n\r\ncafé\r\n";
	struct exp_part parts[] = {
		{ .type = "text/plain", .text = "Forwarded:\r\n" },
		{ .type = "message/rfc822", .disposition = "attachment", .filename = "original.eml",
		  .message_subject = "original", .message_bytes = fwd_crlf,
		  .message_len = strlen(fwd_crlf) },
	};
	struct exp_part mixed = { .type = "multipart/mixed", .parts = parts, .part_count = 2 };
	struct exp_msg exp = { .structure = &mixed };
	unsigned int i;

	msg_builder_set_text(b, "Forwarded:", 10);
	msg_builder_add_message(b, "original.eml", fwd_lf, strlen(fwd_lf));
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "Content-Transfer-Encoding: 7bit\r\n\r\nFrom: a@"));
	assert_false(msg_builder_is_8bit(b));
	check_message(arena, &out, &exp);
	buf_free(&out);

	/* an 8-bit message: the part and the multipart around it are 8bit */
	b = new_builder(arena);
	msg_builder_set_text(b, "Forwarded:", 10);
	msg_builder_add_message(b, NULL, fwd8, strlen(fwd8));
	build_ok(b, &out, false);
	assert_true(msg_builder_is_8bit(b));
	assert_false(msg_builder_is_utf8_header(b));
	{
		const char *top = strstr(buf_str(&out), "Content-Type: multipart/mixed");
		const char *hdr_end = strstr(buf_str(&out), "\r\n\r\n");
		const char *cte = strstr(buf_str(&out), "Content-Transfer-Encoding: 8bit\r\n");
		assert_non_null(top);
		assert_true(cte != NULL && cte < hdr_end);
	}
	parts[1].filename = NULL;
	parts[1].disposition = NULL;
	parts[1].message_subject = "café";
	parts[1].message_bytes = fwd8;
	parts[1].message_len = strlen(fwd8);
	exp.eight_bit = true;
	check_message(arena, &out, &exp);
	buf_free(&out);

	/* a line over 998 octets: cannot be message/rfc822; kept exactly in base64 */
	buf_init(&big, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(&big, "Subject: long\n\n"), 0);
	for (i = 0; i < 2000; i++)
		assert_int_equal(buf_append_c(&big, 'y'), 0);
	b = new_builder(arena);
	msg_builder_add_message(b, NULL, big.data, buf_len(&big));
	build_ok(b, &out, false);
	parts[0].text = NULL;
	parts[0].type = "application/octet-stream";
	parts[0].disposition = "attachment";
	parts[0].filename = "forwarded-message.eml";
	parts[0].payload = big.data;
	parts[0].payload_len = buf_len(&big);
	mixed.part_count = 1;
	exp.eight_bit = false;
	check_message(arena, &out, &exp);
	buf_free(&out);
	buf_free(&big);
	arena_free(&arena);
}

static void test_report(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error;
	buf_t out;
	const char *status = "Reporting-MTA: dns; mx.example.test\n\n"
			     "Final-Recipient: rfc822; nobody@example.test\n"
			     "Action: failed\nStatus: 5.1.1\n";
	const char *status_crlf = "Reporting-MTA: dns; mx.example.test\r\n\r\n"
				  "Final-Recipient: rfc822; nobody@example.test\r\n"
				  "Action: failed\r\nStatus: 5.1.1\r\n";
	const char *headers = "From: a@example.test\nSubject: hello\n";
	static const struct exp_addr addrs[] = {
		{ "From", "Mail Delivery System", "MAILER-DAEMON@mx.example.test" },
	};
	struct exp_part parts[] = {
		{ .type = "text/plain", .text = "Your message could not be delivered.\r\n" },
		{ .type = "message/delivery-status" },
		{ .type = "text/rfc822-headers", .text = "From: a@example.test\r\nSubject: hello\r\n" },
	};
	struct exp_part report = { .type = "multipart/report", .param = "report-type",
				   .param_value = "delivery-status", .parts = parts, .part_count = 3 };
	struct exp_msg exp = { .subject = "Undelivered Mail Returned to Sender",
			       .addrs = addrs, .addr_count = 1, .structure = &report };
	const char *p;

	assert_int_equal(msg_builder_add_address(b, "From", "Mail Delivery System",
						 "MAILER-DAEMON@mx.example.test", &error), 0);
	msg_builder_set_subject(b, "Undelivered Mail Returned to Sender");
	assert_int_equal(msg_builder_add_header(b, "Auto-Submitted", "auto-replied", &error), 0);
	msg_builder_set_report(b, "delivery-status");
	msg_builder_set_text(b, "Your message could not be delivered.", 36);
	assert_int_equal(msg_builder_add_part(b, "message/delivery-status", status,
					      strlen(status), &error), 0);
	assert_int_equal(msg_builder_add_part(b, "text/rfc822-headers", headers,
					      strlen(headers), &error), 0);
	assert_int_equal(msg_builder_add_part(b, "multipart/mixed", "", 0, &error), -1);
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "Auto-Submitted: auto-replied\r\n"));
	p = strstr(buf_str(&out), "Content-Type: message/delivery-status\r\n");
	assert_non_null(p);
	p = strstr(p, "\r\n\r\n") + 4;
	assert_memory_equal(p, status_crlf, strlen(status_crlf));
	check_message(arena, &out, &exp);
	buf_free(&out);
	arena_free(&arena);
}

static void test_headers(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error, *s, *p;
	const char *const *rcpts;
	unsigned int count, i;
	buf_t out, refs;
	struct mime_part *root;

	/* refused */
	assert_int_equal(msg_builder_add_header(b, "Content-Type", "text/plain", &error), -1);
	assert_int_equal(msg_builder_add_header(b, "X-Bad", "a\r\nBcc: evil@x", &error), -1);
	assert_int_equal(msg_builder_add_header(b, "Bad Name", "x", &error), -1);
	assert_int_equal(msg_builder_add_header(b, "Bad:Name", "x", &error), -1);
	assert_int_equal(msg_builder_add_header(b, "X-Bad", "\xff\xfe", &error), -1);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "no-at-sign", &error), -1);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "a@b c", &error), -1);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "@b", &error), -1);
	assert_int_equal(msg_builder_add_address(b, "To", "x\ny", "a@b", &error), -1);
	assert_int_equal(msg_builder_add_address_list(b, "To", "not an address", &error), -1);
	assert_int_equal(msg_builder_set_reply(b, "no-brackets@x", NULL, &error), -1);

	/* replaced, given, ordered */
	msg_builder_set_subject(b, "first");
	msg_builder_set_subject(b, "second");
	assert_int_equal(msg_builder_add_header(b, "Date", "Tue, 1 Dec 2026 08:00:00 +0000", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Message-ID", "<given@example.test>", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "X-Mailer", "tern", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Comments", "déjà vu", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Keywords", "a", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Keywords", "b", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "To", "Team: x@example.test, y@example.test;",
						&error), 0);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "\"john doe\"@example.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "Cc", NULL, "X@EXAMPLE.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "Bcc", "Hidden", "hidden@example.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "From", NULL, "me@example.test", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "X-Utf8-Structured", "ok", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Sender", "first@example.test", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Sender", "bad address", &error), -1);
	assert_int_equal(msg_builder_add_header(b, "Sender", "Second <second@example.test>", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "In-Reply-To", "<ü@x>", &error), 0);

	/* structured 8-bit value: refused at build time without 8-bit */
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(msg_builder_build(b, &out, &error), -1);
	assert_non_null(strstr(error, "In-Reply-To"));
	assert_int_equal(buf_len(&out), 0);

	/* reply threading: References = parent's References + parent id */
	buf_init(&refs, BUF_MAX_UNLIMITED);
	for (i = 0; i < 40; i++)
		assert_int_equal(buf_printf(&refs, "<ref%u.%u@some.host.example.test>\r\n\t", i, i * 7), 0);
	assert_int_equal(msg_builder_set_reply(b, "<parent@example.test>", buf_str(&refs), &error), 0);
	build_ok(b, &out, false);
	s = buf_str(&out);
	assert_true(strncmp(s, "Date: Tue, 1 Dec 2026 08:00:00 +0000\r\nFrom: me@example.test\r\n", 61) == 0);
	assert_non_null(strstr(s, "\r\nTo: Team: x@example.test, y@example.test;, \"john doe\"@example.test\r\n"));
	assert_non_null(strstr(s, "\r\nCc: X@EXAMPLE.test\r\n"));
	assert_non_null(strstr(s, "\r\nSender: Second <second@example.test>\r\n"));
	assert_null(strstr(s, "first@"));
	assert_null(strstr(s, "Bcc"));
	assert_null(strstr(s, "hidden"));
	assert_non_null(strstr(s, "\r\nSubject: second\r\n"));
	assert_null(strstr(s, "first"));
	assert_non_null(strstr(s, "\r\nMessage-ID: <given@example.test>\r\n"));
	assert_string_equal(msg_builder_message_id(b), "<given@example.test>");
	assert_non_null(strstr(s, "\r\nIn-Reply-To: <parent@example.test>\r\n"));
	root = mime_parse(arena, out.data, buf_len(&out), NULL);
	p = header_raw(root, "References");
	assert_true(strncmp(p, "<ref0.0@some.host.example.test> <ref1.7@", 40) == 0);
	assert_string_equal(p + strlen(p) - 56,
			    "<ref39.273@some.host.example.test> <parent@example.test>");
	assert_non_null(strstr(s, "\r\nX-Mailer: tern\r\nComments: =?utf-8?"));
	assert_non_null(strstr(s, "\r\nKeywords: a\r\nKeywords: b\r\n"));
	p = strstr(s, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain");
	assert_non_null(p);
	root = mime_parse(arena, out.data, buf_len(&out), NULL);
	assert_string_equal(header_decoded(arena, root, "Comments"), "déjà vu");
	/* Message-ID and Date order, with generated ones elsewhere tested */
	assert_true(strstr(s, "Subject:") < strstr(s, "Message-ID:"));

	rcpts = msg_builder_recipients(b, &count);
	assert_int_equal(count, 5);
	assert_string_equal(rcpts[0], "x@example.test");
	assert_string_equal(rcpts[1], "y@example.test");
	assert_string_equal(rcpts[2], "\"john doe\"@example.test");
	assert_string_equal(rcpts[3], "X@EXAMPLE.test");
	assert_string_equal(rcpts[4], "hidden@example.test");
	assert_null(rcpts[5]);
	/* duplicates: same local part, domain in another case */
	assert_int_equal(msg_builder_add_address(b, "Bcc", NULL, "x@Example.TEST", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "Bcc", NULL, "Y@example.test", &error), 0);
	rcpts = msg_builder_recipients(b, &count);
	assert_int_equal(count, 6);
	assert_string_equal(rcpts[5], "Y@example.test");

	/* keep Bcc for the sender's copy */
	buf_free(&out);
	msg_builder_set_keep_bcc(b, true);
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "\r\nBcc: Hidden <hidden@example.test>, x@Example.TEST, Y@example.test\r\n"));
	buf_free(&out);

	/* too long to fold: an error, not a broken message */
	b = new_builder(arena);
	buf_reset(&refs);
	assert_int_equal(buf_append_c(&refs, '<'), 0);
	for (i = 0; i < 1500; i++)
		assert_int_equal(buf_append_c(&refs, 'a'), 0);
	assert_int_equal(buf_append_str(&refs, "@x>"), 0);
	assert_int_equal(msg_builder_add_header(b, "Message-ID", buf_str(&refs), &error), 0);
	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(msg_builder_build(b, &out, &error), -1);
	assert_non_null(strstr(error, "Message-ID"));
	buf_free(&out);

	/* ... but long unstructured text is encoded so that it fits */
	b = new_builder(arena);
	buf_reset(&refs);
	for (i = 0; i < 1500; i++)
		assert_int_equal(buf_append_c(&refs, (char)('a' + i % 26)), 0);
	assert_int_equal(buf_append_str(&refs, " and more"), 0);
	msg_builder_set_subject(b, buf_str(&refs));
	build_ok(b, &out, false);
	root = mime_parse(arena, out.data, buf_len(&out), NULL);
	assert_string_equal(header_decoded(arena, root, "Subject"), buf_str(&refs));
	{
		static const struct exp_part text = { .type = "text/plain", .text = "" };
		struct exp_msg exp = { .subject = buf_str(&refs), .structure = &text };
		check_message(arena, &out, &exp);
	}
	buf_free(&out);

	/* a subject with a line break is kept on one line */
	b = new_builder(arena);
	msg_builder_set_subject(b, "two\r\nBcc: lines");
	build_ok(b, &out, false);
	assert_non_null(strstr(buf_str(&out), "\r\nSubject: two  Bcc: lines\r\n"));
	buf_free(&out);

	/* the output buffer's maximum is respected */
	b = new_builder(arena);
	msg_builder_set_text(b, "hello", 5);
	buf_init(&out, 100);
	assert_int_equal(msg_builder_build(b, &out, &error), -1);
	assert_int_equal(buf_len(&out), 0);
	buf_free(&out);

	buf_free(&refs);
	arena_free(&arena);
}

static void test_folding(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error;
	char addr[64], name[64];
	unsigned int i;
	buf_t out;
	struct exp_addr addrs[30];
	static const struct exp_part text = { .type = "text/plain", .text = "" };
	struct exp_msg exp = { .addrs = addrs, .addr_count = 30, .structure = &text };

	for (i = 0; i < 30; i++) {
		snprintf(addr, sizeof(addr), "user%u@example.test", i);
		snprintf(name, sizeof(name), i % 3 == 0 ? "Ünïcödé Person %u" : "Person %u", i);
		assert_int_equal(msg_builder_add_address(b, "To", name, addr, &error), 0);
		addrs[i].field = "To";
		addrs[i].name = arena_strdup(arena, name);
		addrs[i].addr = arena_strdup(arena, addr);
	}
	build_ok(b, &out, false);
	check_message(arena, &out, &exp);
	buf_free(&out);
	arena_free(&arena);
}

static void test_misc(void **state)
{
	struct arena *arena = arena_new(0);
	struct msg_builder *b = new_builder(arena);
	const char *error, *s, *id;
	const char *const *rcpts;
	unsigned int count, i;
	buf_t out, out2, subj;
	static const struct exp_part empty = { .type = "text/plain", .text = "" };
	static const struct exp_msg exp_empty = { .structure = &empty };

	/* nothing at all: a valid, empty text/plain message */
	build_ok(b, &out, false);
	check_message(arena, &out, &exp_empty);
	buf_free(&out);

	/* trace fields first; a given MIME-Version; Resent- recipients */
	b = new_builder(arena);
	assert_int_equal(msg_builder_add_header(b, "X-First", "1", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "Received", "from a by b; Mon, 23 Nov 2026 10:00:00 +0000",
						&error), 0);
	assert_int_equal(msg_builder_add_header(b, "Return-Path", "<bounce@example.test>", &error), 0);
	assert_int_equal(msg_builder_add_header(b, "MIME-Version", "1.0 (tern)", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "To", NULL, "old@example.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "Resent-To", NULL, "new@example.test", &error), 0);
	assert_int_equal(msg_builder_add_address(b, "Resent-Bcc", NULL, "secret@example.test", &error), 0);
	build_ok(b, &out, false);
	s = buf_str(&out);
	{
		static const char start[] =
			"Received: from a by b; Mon, 23 Nov 2026 10:00:00 +0000\r\n"
			"Return-Path: <bounce@example.test>\r\nDate: ";
		assert_true(strncmp(s, start, sizeof(start) - 1) == 0);
	}
	assert_non_null(strstr(s, "\r\nMIME-Version: 1.0 (tern)\r\nContent-Type"));
	assert_null(strstr(s, "MIME-Version: 1.0\r\n"));
	assert_null(strstr(s, "secret"));
	rcpts = msg_builder_recipients(b, &count);
	assert_int_equal(count, 2);
	assert_string_equal(rcpts[0], "new@example.test");
	assert_string_equal(rcpts[1], "secret@example.test");

	/* built twice: same Message-ID, new boundaries */
	id = msg_builder_message_id(b);
	msg_builder_set_text(b, "x", 1);
	assert_int_equal(msg_builder_add_attachment(b, "a.txt", NULL, "a", 1, &error), 0);
	buf_free(&out);
	build_ok(b, &out, false);
	build_ok(b, &out2, false);
	assert_string_equal(msg_builder_message_id(b), id);
	assert_string_not_equal(strstr(buf_str(&out), "boundary="), strstr(buf_str(&out2), "boundary="));
	buf_free(&out);
	buf_free(&out2);

	/* an unmatched quote in unstructured text does not stop folding */
	b = new_builder(arena);
	buf_init(&subj, BUF_MAX_UNLIMITED);
	assert_int_equal(buf_append_str(&subj, "He said \"hello"), 0);
	for (i = 0; i < 300; i++)
		assert_int_equal(buf_append_str(&subj, " word"), 0);
	msg_builder_set_subject(b, buf_str(&subj));
	build_ok(b, &out, false);
	{
		struct exp_msg exp = { .subject = buf_str(&subj), .structure = &empty };
		check_message(arena, &out, &exp);
	}
	buf_free(&out);
	buf_free(&subj);
	arena_free(&arena);
}

/* ---- random inputs ---- */

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	/* xorshift32: deterministic across runs */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void random_utf8(buf_t *out, unsigned int max_chars, bool controls)
{
	static const uint32_t ranges[][2] = {
		{ 0x20, 0x7e }, { 0x20, 0x7e }, { 0x20, 0x7e }, { 0xa0, 0x24f },
		{ 0x400, 0x4ff }, { 0x3040, 0x30ff }, { 0x4e00, 0x9fff }, { 0x1f600, 0x1f64f },
	};
	unsigned int n = rnd() % (max_chars + 1), i, r;
	uint32_t cp;

	for (i = 0; i < n; i++) {
		r = rnd() % 20;
		if (r == 0) {
			cp = controls ? rnd() % 32 : ' ';
		} else if (r == 1) {
			cp = (uint32_t)"\"\\=?_ ;,()<>@:"[rnd() % 14];
		} else {
			r = rnd() % N_ELEMENTS(ranges);
			cp = ranges[r][0] + rnd() % (ranges[r][1] - ranges[r][0] + 1);
		}
		if (cp == 0)
			cp = 1;
		assert_int_equal(utf8_append_codepoint(out, cp), 0);
	}
}

static void random_bytes(buf_t *out, unsigned int max)
{
	unsigned int n = rnd() % (max + 1), i;

	for (i = 0; i < n; i++)
		assert_int_equal(buf_append_c(out, (unsigned char)rnd()), 0);
}

static void trim_spaces(buf_t *buf)
{
	while (buf_len(buf) > 0 && buf->data[buf_len(buf) - 1] == ' ')
		buf_truncate(buf, buf_len(buf) - 1);
	while (buf_len(buf) > 0 && buf->data[0] == ' ')
		buf_consume(buf, 1);
}

static void test_random(void **state)
{
	unsigned int iter, i, n_att, n_python = 0, k;
	char *paths[12];

	for (iter = 0; iter < 300; iter++) {
		struct arena *arena = arena_new(0);
		struct msg_builder *b = new_builder(arena);
		buf_t subject, name, text, html, out;
		buf_t fname[3], data[3];
		const char *error;
		struct mime_part *root, *part;
		bool allow8 = rnd() % 4 == 0;

		buf_init(&subject, BUF_MAX_UNLIMITED);
		buf_init(&name, BUF_MAX_UNLIMITED);
		buf_init(&text, BUF_MAX_UNLIMITED);
		buf_init(&html, BUF_MAX_UNLIMITED);
		random_utf8(&subject, rnd() % 8 == 0 ? 600 : 60, false);
		/* whitespace after the colon and at the end is not part of
		   the value for any parser (RFC 5322 2.2.3 unfolding) */
		trim_spaces(&subject);
		random_utf8(&name, 30, false);
		if (rnd() % 2)
			random_utf8(&text, 2000, true);
		else
			random_bytes(&text, 2000);
		if (rnd() % 3 == 0)
			random_utf8(&html, 500, true);
		msg_builder_set_allow_8bit(b, allow8);
		msg_builder_set_subject(b, buf_str(&subject));
		assert_int_equal(msg_builder_add_address(b, "From", buf_str(&name),
							 "sender@example.test", &error), 0);
		msg_builder_set_text(b, (const char *)text.data, buf_len(&text));
		if (buf_len(&html) > 0)
			msg_builder_set_html(b, (const char *)html.data, buf_len(&html));
		n_att = rnd() % 4;
		for (i = 0; i < n_att; i++) {
			buf_init(&fname[i], BUF_MAX_UNLIMITED);
			buf_init(&data[i], BUF_MAX_UNLIMITED);
			random_utf8(&fname[i], rnd() % 5 == 0 ? 200 : 20, false);
			/* readers trim file names (part_text_filename() too) */
			trim_spaces(&fname[i]);
			random_bytes(&data[i], 3000);
			if (buf_len(&fname[i]) == 0)
				assert_int_equal(buf_append_str(&fname[i], "x"), 0);
			assert_int_equal(msg_builder_add_attachment(b, buf_str(&fname[i]), NULL,
				data[i].data, buf_len(&data[i]), &error), 0);
		}
		build_ok(b, &out, true);
		if (!allow8)
			assert_true(all_7bit(&out));

		root = mime_parse(arena, out.data, buf_len(&out), NULL);
		assert_non_null(root);
		/* the subject comes back (U+FFFD-free input, controls excluded) */
		assert_string_equal(header_decoded(arena, root, "Subject"), buf_str(&subject));
		part = n_att > 0 ? root->children : root;
		if (n_att > 0) {
			assert_true(mime_part_is(root, "multipart", "mixed"));
			assert_int_equal(root->child_count, n_att + 1);
			for (i = 0, part = root->children->next; i < n_att; i++, part = part->next) {
				buf_t dec;

				assert_string_equal(part_text_filename(arena, part),
						    buf_str(&fname[i]));
				buf_init(&dec, BUF_MAX_UNLIMITED);
				assert_int_equal(part_text_decode_cte(part, out.data, buf_len(&out), &dec), 0);
				assert_int_equal(buf_len(&dec), buf_len(&data[i]));
				if (buf_len(&dec) > 0)
					assert_memory_equal(dec.data, data[i].data, buf_len(&dec));
				buf_free(&dec);
			}
		}
		assert_int_equal(root->flags & MIME_PART_FLAG_MISSING_END_BOUNDARY, 0);

		/* a few through Python too */
		if (iter % 30 == 0 && n_python < N_ELEMENTS(paths)) {
			struct exp_part parts[4];
			struct exp_part top;
			struct exp_msg exp = { .eight_bit = allow8, .subject = buf_str(&subject),
					       .structure = &top };
			struct exp_part body = { .type = buf_len(&html) > 0 ?
						 "multipart/alternative" : "text/plain" };

			memset(parts, 0, sizeof(parts));
			parts[0] = body;
			for (k = 0; k < n_att; k++) {
				parts[k + 1].type = mime_type_from_filename(buf_str(&fname[k]));
				if (strncmp(parts[k + 1].type, "message/", 8) == 0)
					parts[k + 1].type = MIME_TYPE_DEFAULT;
				parts[k + 1].filename = buf_str(&fname[k]);
				parts[k + 1].payload = data[k].data == NULL ? (const void *)"" :
					data[k].data;
				parts[k + 1].payload_len = buf_len(&data[k]);
			}
			if (n_att > 0) {
				memset(&top, 0, sizeof(top));
				top.type = "multipart/mixed";
				top.parts = parts;
				top.part_count = n_att + 1;
			} else {
				top = body;
			}
			paths[n_python++] = python_write(&out, &exp);
		}

		for (i = 0; i < n_att; i++) {
			buf_free(&fname[i]);
			buf_free(&data[i]);
		}
		buf_free(&out);
		buf_free(&subject);
		buf_free(&name);
		buf_free(&text);
		buf_free(&html);
		arena_free(&arena);
	}
	python_run(paths, n_python);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_types),
		cmocka_unit_test(test_simple_text),
		cmocka_unit_test(test_utf8_headers),
		cmocka_unit_test(test_text_qp),
		cmocka_unit_test(test_allow_8bit),
		cmocka_unit_test(test_alternative),
		cmocka_unit_test(test_attachments),
		cmocka_unit_test(test_related),
		cmocka_unit_test(test_forward),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
