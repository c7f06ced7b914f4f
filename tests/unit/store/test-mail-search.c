/*
 * Search over a view (src/store/mail-search.c): every kind of key, the
 * tree operators, RFC 2047-decoded and case-folded headers, decoded bodies,
 * limits.
 */
#include "store-test.h"
#include "date.h"

static const char *const msgs[] = {
	/* 1 */
	"Date: Mon, 2 Feb 2026 10:00:00 +0100\r\n"
	"From: =?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@example.test>\r\n"
	"To: team@example.test\r\nSubject: =?iso-8859-1?q?R=E9union?= du lundi\r\n"
	"X-Tag: alpha\r\n\r\nBonjour \xc3\x80 tous\r\n",
	/* 2: quoted-printable UTF-8 body in a multipart, with an attached message */
	"Date: Tue, 3 Feb 2026 23:30:00 -0500\r\nFrom: bob@example.test\r\n"
	"Subject: invoice\r\nMIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"
	"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n"
	"\r\nTotal: 42 =E2=82=AC, payable GR=C3=9CN\r\n--x\r\n"
	"Content-Type: message/rfc822\r\n\r\nSubject: nested secret\r\n\r\ninner body\r\n"
	"--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
	"\r\nbmVlZGxlIGluIGJpbmFyeQ==\r\n--x--\r\n",
	/* 3: no Date, base64 text body */
	"From: carol@example.test\r\nSubject: plain\r\nContent-Transfer-Encoding: base64\r\n"
	"\r\nSGVsbG8gV29ybGQgZnJvbSBiYXNlNjQ=\r\n",
	/* 4: Greek and Cyrillic */
	"From: dan@example.test\r\nSubject: \xce\x9a\xce\xb1\xce\xbb\xce\xb7\xce\xbc\xce\xad\xcf\x81\xce\xb1"
	" \xd0\x9c\xd0\x98\xd0\xa0\r\n\r\nbody\r\n",
};

static uint32_t uids_found[16];
static unsigned int n_found;

static int search(struct store_test *t, struct mailbox_view *view, struct mail_search_arg *arg)
{
	uint32_t *uids;
	unsigned int n, i;
	uint64_t hm;

	if (mailbox_search(view, arg, t->arena, &uids, &n, &hm, &t->error) < 0)
		return -1;
	n_found = n;
	for (i = 0; i < n && i < 16; i++)
		uids_found[i] = uids[i];
	return 0;
}

/* The matches as a string "1 3". */
static const char *found(void)
{
	static char out[128];
	unsigned int i;

	out[0] = '\0';
	for (i = 0; i < n_found; i++)
		sprintf(out + strlen(out), "%s%u", i > 0 ? " " : "", uids_found[i]);
	return out;
}

static const char *run1(struct store_test *t, struct mailbox_view *view, struct mail_search_arg arg)
{
	if (search(t, view, &arg) < 0)
		fail_msg("search: %s", t->error.text);
	return found();
}

#define HDR(f, v) ((struct mail_search_arg){ .type = MAIL_SEARCH_HEADER, \
	.value.header = { f, v } })
#define STR(k, s) ((struct mail_search_arg){ .type = k, .value.str = s })
#define DAY(k, y, m, d) ((struct mail_search_arg){ .type = k, \
	.value.day = msg_days_from_civil(y, m, d) })
#define NUM(k, v) ((struct mail_search_arg){ .type = k, .value.number = v })

static void test_search_keys(void **state)
{
	struct store_test *t = *state;
	struct mailbox_view *view;
	struct mail_append_input in;
	uint32_t uidv, uid;
	unsigned int i;
	static const time_t dates[] = { 1769990400 /* 2026-02-02 */, 1770163200, 1770336000,
					1770508800 };

	for (i = 0; i < N_ELEMENTS(msgs); i++) {
		memset(&in, 0, sizeof(in));
		in.data = msgs[i];
		in.size = strlen(msgs[i]);
		in.fd = -1;
		in.flags = i == 0 ? MAIL_SEEN | MAIL_FLAGGED : i == 1 ? MAIL_SEEN : 0;
		in.has_internal_date = true;
		in.internal_date = dates[i];
		in.tz_offset_min = 0;
		assert_int_equal(mail_append(t->user, "INBOX", &in, 1, &uidv, &uid, &t->error), 0);
	}
	view = st_view(t, "INBOX", 0);

	assert_string_equal(run1(t, view, (struct mail_search_arg){ .type = MAIL_SEARCH_ALL }),
			    "1 2 3 4");
	/* headers: decoded, case-insensitive */
	assert_string_equal(run1(t, view, HDR("From", "m\xc3\xbcller")), "1");
	assert_string_equal(run1(t, view, HDR("from", "ZO\xc3\x8b")), "1");
	assert_string_equal(run1(t, view, HDR("Subject", "r\xc3\xa9UNION")), "1");
	assert_string_equal(run1(t, view, HDR("subject", "\xce\xba\xce\x91\xce\xbb")), "4");
	assert_string_equal(run1(t, view, HDR("Subject", "\xd0\xbc\xd0\xb8\xd1\x80")), "4");
	assert_string_equal(run1(t, view, HDR("X-Tag", "")), "1");
	assert_string_equal(run1(t, view, HDR("Date", "")), "1 2");
	assert_string_equal(run1(t, view, HDR("Subject", "secret")), "");
	/* bodies: decoded transfer encodings and charsets */
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "42 \xe2\x82\xac")), "2");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "gr\xc3\xbcn")), "2");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "world FROM base64")), "3");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "\xc3\xa0 TOUS")), "1");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "needle in binary")), "");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "inner body")), "2");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_BODY, "invoice")), "");
	/* TEXT: header and body, attached messages' headers too */
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_TEXT, "invoice")), "2");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_TEXT, "nested SECRET")), "2");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_TEXT, "carol")), "3");
	/* flags, keywords, \Recent */
	assert_string_equal(run1(t, view, (struct mail_search_arg){ .type = MAIL_SEARCH_FLAGS,
							      .value.flags = MAIL_SEEN }), "1 2");
	assert_string_equal(run1(t, view, (struct mail_search_arg){ .type = MAIL_SEARCH_FLAGS,
							      .value.flags = MAIL_SEEN | MAIL_FLAGGED }),
			    "1");
	assert_string_equal(run1(t, view, (struct mail_search_arg){ .type = MAIL_SEARCH_RECENT }),
			    "1 2 3 4");
	assert_string_equal(run1(t, view, STR(MAIL_SEARCH_KEYWORD, "$Forwarded")), "");
	/* sizes, dates */
	assert_string_equal(run1(t, view, NUM(MAIL_SEARCH_LARGER, strlen(msgs[1]) - 1)), "2");
	assert_string_equal(run1(t, view, NUM(MAIL_SEARCH_SMALLER, strlen(msgs[2]) + 1)), "3 4");
	assert_string_equal(run1(t, view, DAY(MAIL_SEARCH_ON, 2026, 2, 4)), "2");
	assert_string_equal(run1(t, view, DAY(MAIL_SEARCH_BEFORE, 2026, 2, 4)), "1");
	assert_string_equal(run1(t, view, DAY(MAIL_SEARCH_SINCE, 2026, 2, 6)), "3 4");
	/* Date: in its own zone: 3 Feb 23:30 -0500 is the 3rd */
	assert_string_equal(run1(t, view, DAY(MAIL_SEARCH_SENTON, 2026, 2, 3)), "2");
	assert_string_equal(run1(t, view, DAY(MAIL_SEARCH_SENTBEFORE, 2026, 2, 3)), "1");
	assert_string_equal(run1(t, view, DAY(MAIL_SEARCH_SENTSINCE, 2026, 1, 1)), "1 2");
	assert_string_equal(run1(t, view, NUM(MAIL_SEARCH_YOUNGER, 60)), "");
	assert_string_equal(run1(t, view, NUM(MAIL_SEARCH_OLDER, 60)), "1 2 3 4");
	assert_string_equal(run1(t, view, NUM(MAIL_SEARCH_MODSEQ, 1)), "1 2 3 4");

	/* trees: OR, NOT, AND, UID sets */
	{
		struct mail_search_arg a = HDR("From", "bob"), b = STR(MAIL_SEARCH_BODY, "bonjour");
		struct mail_search_arg or = { .type = MAIL_SEARCH_OR, .value.children = &a };
		struct mail_search_arg not = { .type = MAIL_SEARCH_NOT, .value.children = &or };
		struct mail_uid_range r = { 2, 4 };
		struct mail_search_arg set = { .type = MAIL_SEARCH_UIDSET,
					       .value.uids = { &r, 1 } };
		struct mail_search_arg and = { .type = MAIL_SEARCH_AND, .value.children = &set };

		a.next = &b;
		assert_string_equal(run1(t, view, or), "1 2");
		assert_string_equal(run1(t, view, not), "3 4");
		set.next = &not;
		assert_string_equal(run1(t, view, and), "3 4");
		not.next = NULL;
		or.next = NULL;
	}
	/* NOT needs one child; depth is bounded */
	{
		struct mail_search_arg a = { .type = MAIL_SEARCH_ALL }, b = a;
		struct mail_search_arg not = { .type = MAIL_SEARCH_NOT, .value.children = &a };
		struct mail_search_arg *deep = calloc(TERN_SEARCH_MAX_DEPTH + 2, sizeof(*deep));

		a.next = &b;
		assert_int_equal(search(t, view, &not), -1);
		assert_int_equal(t->error.code, MAIL_ERROR_PARAMS);
		for (i = 0; i < TERN_SEARCH_MAX_DEPTH + 1; i++) {
			deep[i].type = MAIL_SEARCH_NOT;
			deep[i].value.children = &deep[i + 1];
		}
		deep[i].type = MAIL_SEARCH_ALL;
		assert_int_equal(search(t, view, &deep[0]), -1);
		assert_int_equal(t->error.code, MAIL_ERROR_LIMIT);
		free(deep);
	}
	/* expunged messages match nothing */
	{
		struct mail_flags_change ch = { .op = MAIL_FLAGS_ADD, .flags = MAIL_DELETED };
		struct mail_uid_range one = { 1, 1 };
		struct mail_flags_result *res;
		uint32_t *mod;
		unsigned int nres, nmod;
		struct mailbox_view *other = st_view(t, "INBOX", 0);
		struct mailbox_expunge *ex;

		assert_int_equal(mailbox_store(other, &one, 1, &ch, t->arena, &res, &nres, &mod,
					       &nmod, &t->error), 0);
		assert_int_equal(mailbox_expunge(other, NULL, 0, t->arena, &ex, &nres, &t->error), 0);
		st_sync(t, view, MAILBOX_SYNC_NO_EXPUNGES);
		assert_string_equal(run1(t, view, (struct mail_search_arg){ .type = MAIL_SEARCH_ALL }),
				    "2 3 4");
		mailbox_close(&other);
	}
	mailbox_close(&view);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_search_keys, st_setup, st_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
