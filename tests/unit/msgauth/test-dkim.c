/* DKIM: records, canonicalisation (RFC 6376 3.4.6), signing and verifying,
   against messages signed by dkimpy (tests/data/msgauth/gen-dkim-fixtures.py). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "dkim.h"
#include "dkim-verify.h"
#include "header-parser.h"
#include "fake-dns.h"
#include "tern-limits.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#define DATA TERN_TEST_DATA "/msgauth/"
#define NOW 1800000000

static struct fake_rr key_rrs[8];
static unsigned int key_rr_count;
static char key_lines[8][1024];

static char *read_file(const char *name, size_t *size_r)
{
	char path[512];
	FILE *f;
	char *data;
	long size;

	snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = malloc((size_t)size + 1);
	assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
	data[size] = '\0';
	fclose(f);
	*size_r = (size_t)size;
	return data;
}

static EVP_PKEY *load_key(const char *name)
{
	char path[512];
	FILE *f;
	EVP_PKEY *pkey;

	snprintf(path, sizeof(path), DATA "%s", name);
	f = fopen(path, "r");
	assert_non_null(f);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pkey);
	return pkey;
}

static int setup(void **state)
{
	size_t size;
	char *keys = read_file("dkim-keys.txt", &size), *line, *save = NULL;

	for (line = strtok_r(keys, "\n", &save); line != NULL && key_rr_count < 8;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

		assert_non_null(sp);
		snprintf(key_lines[key_rr_count], sizeof(key_lines[0]), "%s", line);
		key_lines[key_rr_count][sp - line] = '\0';
		key_rrs[key_rr_count].type = DNS_TYPE_TXT;
		key_rrs[key_rr_count].name = key_lines[key_rr_count];
		key_rrs[key_rr_count].data = key_lines[key_rr_count] + (sp - line) + 1;
		key_rrs[key_rr_count].status = DNS_FOUND;
		key_rr_count++;
	}
	free(keys);
	return 0;
}

/* ---- canonicalisation: RFC 6376 3.4.6 ---- */

static const char example_header[] = "A: X\r\nB : Y\t\r\n\tZ  \r\n";
static const char example_body[] = " C \r\nD \t E\r\n\r\n\r\n";

static void canon_fields(enum dkim_canon canon, buf_t *out)
{
	struct arena *arena = arena_new(0);
	struct msg_header hdr;
	unsigned int i;

	msg_header_parse_block(arena, example_header, strlen(example_header), 0, 100, false, &hdr);
	assert_int_equal(hdr.count, 2);
	for (i = 0; i < hdr.count; i++)
		assert_int_equal(dkim_canon_header(canon, example_header + hdr.fields[i].offset,
						   hdr.fields[i].size, out), 0);
	arena_free(&arena);
}

static void test_canon_header(void **state)
{
	buf_t out;

	buf_init(&out, 4096);
	canon_fields(DKIM_CANON_RELAXED, &out);
	assert_string_equal(buf_str(&out), "a:X\r\nb:Y Z\r\n");
	buf_reset(&out);
	canon_fields(DKIM_CANON_SIMPLE, &out);
	assert_string_equal(buf_str(&out), example_header);
	buf_free(&out);
}

/* The body hash of data fed in pieces of chunk bytes. */
static void body_digest(enum dkim_canon canon, const char *data, size_t len, size_t chunk,
			uint64_t limit, unsigned char *out, uint64_t *total_r)
{
	struct dkim_body_hasher h;
	unsigned int out_len;
	size_t i;

	dkim_body_hasher_init(&h, canon, false, limit);
	for (i = 0; i < len; i += chunk)
		dkim_body_hasher_feed(&h, data + i, I_MIN(chunk, len - i));
	dkim_body_hasher_finish(&h, out, &out_len, total_r);
	assert_int_equal(out_len, 32);
}

static void sha256(const char *data, size_t len, unsigned char *out)
{
	unsigned int n;

	assert_int_equal(EVP_Digest(data, len, out, &n, EVP_sha256(), NULL), 1);
}

static void check_body(enum dkim_canon canon, const char *body, const char *canonical)
{
	unsigned char want[32], got[32];
	uint64_t total;
	size_t chunk;

	sha256(canonical, strlen(canonical), want);
	/* the same digest however the body is cut, one byte at a time too */
	for (chunk = 1; chunk <= strlen(body) + 1; chunk++) {
		body_digest(canon, body, strlen(body), chunk, UINT64_MAX, got, &total);
		assert_memory_equal(got, want, 32);
		assert_int_equal(total, strlen(canonical));
	}
}

static void test_canon_body(void **state)
{
	/* RFC 6376 3.4.6 */
	check_body(DKIM_CANON_RELAXED, example_body, " C\r\nD E\r\n");
	check_body(DKIM_CANON_SIMPLE, example_body, " C \r\nD \t E\r\n");
	/* 3.4.3: an empty body is CRLF in simple; 3.4.4: nothing in relaxed */
	check_body(DKIM_CANON_SIMPLE, "", "\r\n");
	check_body(DKIM_CANON_SIMPLE, "\r\n\r\n", "\r\n");
	check_body(DKIM_CANON_RELAXED, "", "");
	check_body(DKIM_CANON_RELAXED, "  \r\n\t\r\n", "");
	/* a body without a final CRLF gets one */
	check_body(DKIM_CANON_SIMPLE, "abc", "abc\r\n");
	check_body(DKIM_CANON_RELAXED, "abc  ", "abc\r\n");
	/* a lone CR is content; a line of WSP is not empty in simple */
	check_body(DKIM_CANON_SIMPLE, "a\rb\r\n \r\n", "a\rb\r\n \r\n");
	check_body(DKIM_CANON_RELAXED, "a\rb \r\n \r\n\r", "a\rb\r\n\r\n\r\r\n");
}

static void test_body_length(void **state)
{
	unsigned char want[32], got[32];
	uint64_t total;

	/* l=5: only "hello" is hashed, all 14 canonical bytes counted */
	sha256("hello", 5, want);
	body_digest(DKIM_CANON_SIMPLE, "hello\r\nworld\r\n", 14, 3, 5, got, &total);
	assert_memory_equal(got, want, 32);
	assert_int_equal(total, 14);
}

/* ---- records ---- */

static void test_signature_parse(void **state)
{
	struct arena *arena = arena_new(0);
	struct dkim_signature sig;
	const char *error, *v;

	v = " v=1; a=rsa-sha256; c=relaxed; d=Example.ORG.; s=Sel;\r\n\th=From : To;"
	    " bh=YWJj; b=ZG Vm\r\n\tZw==; l=12; t=100; x=200";
	assert_int_equal(dkim_signature_parse(arena, v, strlen(v), false, &sig, &error), 0);
	assert_int_equal(sig.alg, DKIM_ALG_RSA_SHA256);
	assert_int_equal(sig.header_canon, DKIM_CANON_RELAXED);
	assert_int_equal(sig.body_canon, DKIM_CANON_SIMPLE);
	assert_string_equal(sig.domain, "example.org");
	assert_string_equal(sig.selector, "sel");
	assert_string_equal(sig.auid, "@example.org");
	assert_int_equal(sig.header_count, 2);
	assert_string_equal(sig.headers[1], "To");
	assert_int_equal(sig.b_len, 4);
	assert_memory_equal(sig.b, "defg", 4);
	assert_string_equal(sig.b_text, "ZGVmZw==");
	assert_true(sig.has_length);
	assert_int_equal(sig.length, 12);
	/* the b= value's place, for removing it from the signed copy */
	assert_memory_equal(v + sig.b_start, "ZG Vm\r\n\tZw==", sig.b_end - sig.b_start);

#define BAD(text, arc) \
	assert_int_equal(dkim_signature_parse(arena, text, strlen(text), arc, &sig, &error), -1)
	BAD("a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==", false);       /* no v= */
	BAD("v=2; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==", false);
	BAD("v=1; a=rsa-md5; d=x.org; s=s; h=from; bh=YQ==; b=YQ==", false);
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=to; bh=YQ==; b=YQ==", false);    /* From unsigned */
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=Y!Q==", false);
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==; i=a@y.org", false);
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==; t=5; x=4", false);
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==; q=http", false);
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==; d=y.org", false);
	BAD("v=1; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==; c=fancy", false);
	BAD("v=1; a=rsa-sha256; d=x..org; s=s; h=from; bh=YQ==; b=YQ==", false);
	BAD("i=51; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==", true);  /* ARC i= > 50 */
	/* i= a subdomain of d= is fine; an ARC instance has no v= */
	v = "v=1; a=ed25519-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==; i=a@b.x.org";
	assert_int_equal(dkim_signature_parse(arena, v, strlen(v), false, &sig, &error), 0);
	v = "i=3; a=rsa-sha256; d=x.org; s=s; h=from; bh=YQ==; b=YQ==";
	assert_int_equal(dkim_signature_parse(arena, v, strlen(v), true, &sig, &error), 0);
	assert_int_equal(sig.arc_instance, 3);
	arena_free(&arena);
}

static void test_key_parse(void **state)
{
	struct arena *arena = arena_new(0);
	struct dkim_key key;
	const char *error;

#define KEY_OK(text) \
	assert_int_equal(dkim_key_parse(arena, text, strlen(text), &key, &error), 0)
	KEY_OK("v=DKIM1; k=ed25519; p=YWJj; t=y:s; s=email; h=sha256");
	assert_int_equal(key.type, DKIM_KEY_ED25519);
	assert_true(key.testing);
	assert_true(key.strict);
	assert_true(key.email_allowed);
	assert_true(key.sha256_allowed);
	KEY_OK("p=");
	assert_true(key.revoked);
	KEY_OK("k=rsa; h=sha1; s=tlsrpt; p=YWJj");
	assert_false(key.sha256_allowed);
	assert_false(key.email_allowed);
#define KEY_BAD(text) \
	assert_int_equal(dkim_key_parse(arena, text, strlen(text), &key, &error), -1)
	KEY_BAD("k=rsa; v=DKIM1; p=YWJj");     /* v= not first */
	KEY_BAD("v=DKIM2; p=YWJj");
	KEY_BAD("v=DKIM1; k=dsa; p=YWJj");
	KEY_BAD("v=DKIM1; k=rsa");
	KEY_BAD("v=DKIM1; p=YW Jj; p=YWJj");   /* a tag twice */
	arena_free(&arena);
}

/* ---- verifying ---- */

struct verify_run {
	unsigned int count;
	struct dkim_verify_result results[TERN_DKIM_MAX_SIGNATURES];
	char reason[TERN_DKIM_MAX_SIGNATURES][128];   /* results[].reason, kept */
	bool done_called;
};

static void done_cb(void *ctx)
{
	((struct verify_run *)ctx)->done_called = true;
}

/* Verify msg fed in pieces of chunk bytes; DNS answers after the header. */
static void verify(const char *msg, size_t size, size_t chunk, struct verify_run *run)
{
	struct arena *arena = arena_new(0);
	struct fake_dns f;
	struct msgauth_dns dns;
	struct msg_header hdr;
	struct dkim_verifier *v;
	const struct dkim_verify_result *res;
	size_t hend = dkim_header_end((const unsigned char *)msg, size), i;

	memset(run, 0, sizeof(*run));
	fake_dns_init(&f, &dns, key_rrs, key_rr_count);
	v = dkim_verifier_new(arena, &dns, NOW, done_cb, run);
	msg_header_parse_block(arena, msg, hend, 0, 1000, false, &hdr);
	dkim_verifier_header(v, &hdr, msg);
	for (i = hend; i < size; i += chunk)
		dkim_verifier_body(v, msg + i, I_MIN(chunk, size - i));
	if (chunk == 1) {
		/* keys after the body: done is called */
		if (!dkim_verifier_body_end(v)) {
			fake_dns_run(&f);
			assert_true(run->done_called);
		}
	} else {
		fake_dns_run(&f);
		assert_true(dkim_verifier_body_end(v));
	}
	run->count = dkim_verifier_results(v, &res);
	memcpy(run->results, res, sizeof(*res) * run->count);
	for (i = 0; i < run->count; i++) {
		/* strings live in the arena: keep what the tests look at */
		run->results[i].domain = run->results[i].domain == NULL ? NULL : "set";
		snprintf(run->reason[i], sizeof(run->reason[i]), "%s",
			 run->results[i].reason == NULL ? "" : run->results[i].reason);
		run->results[i].reason = NULL;
	}
	dkim_verifier_free(&v);
	fake_dns_clear(&f);
	arena_free(&arena);
}

static enum msgauth_result verify_file(const char *name, size_t chunk)
{
	struct verify_run run;
	size_t size;
	char *msg = read_file(name, &size);

	verify(msg, size, chunk, &run);
	free(msg);
	assert_int_equal(run.count, 1);
	if (run.results[0].result != MSGAUTH_PASS)
		print_message("%s: %s (%s)\n", name, msgauth_result_name(run.results[0].result),
			      run.reason[0]);
	return run.results[0].result;
}

static void test_verify_dkimpy(void **state)
{
	static const char *const files[] = {
		"dkim-rsa-relaxed.eml", "dkim-rsa-simple.eml", "dkim-rsa-relaxed-simple.eml",
		"dkim-ed-relaxed.eml", "dkim-ed-simple.eml", "dkim-rsa-reordered.eml",
		"dkim-rsa-length.eml", "dkim-rsa1024.eml",
	};
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(files); i++) {
		assert_int_equal(verify_file(files[i], 65536), MSGAUTH_PASS);
		assert_int_equal(verify_file(files[i], 1), MSGAUTH_PASS);
		assert_int_equal(verify_file(files[i], 7), MSGAUTH_PASS);
	}
}

/* Change the first occurrence of from in the file's text and verify. */
static struct verify_run tampered(const char *name, const char *from, const char *to)
{
	struct verify_run run;
	size_t size;
	char *msg = read_file(name, &size), *p = strstr(msg, from), *copy;

	assert_non_null(p);
	copy = malloc(size + strlen(to) + 1);
	memcpy(copy, msg, (size_t)(p - msg));
	strcpy(copy + (p - msg), to);
	strcat(copy, p + strlen(from));
	verify(copy, strlen(copy), 4096, &run);
	free(copy);
	free(msg);
	assert_int_equal(run.count, 1);
	return run;
}

static void test_verify_tampered(void **state)
{
	struct verify_run r;

	r = tampered("dkim-rsa-relaxed.eml", "Hello Bob", "Hello Eve");
	assert_int_equal(r.results[0].result, MSGAUTH_FAIL);
	assert_string_equal(r.reason[0], "body hash mismatch");
	r = tampered("dkim-ed-relaxed.eml", "A folded", "A forged");
	assert_int_equal(r.results[0].result, MSGAUTH_FAIL);
	assert_string_equal(r.reason[0], "signature did not verify");
	/* relaxed ignores whitespace changes; simple does not */
	r = tampered("dkim-rsa-relaxed.eml", "Hello Bob,  ", "Hello   Bob,");
	assert_int_equal(r.results[0].result, MSGAUTH_PASS);
	r = tampered("dkim-rsa-simple.eml", "Hello Bob,  ", "Hello   Bob,");
	assert_int_equal(r.results[0].result, MSGAUTH_FAIL);
	/* a second From above the signed one: over-signing catches it */
	r = tampered("dkim-rsa-relaxed.eml", "From: Alice", "From: Mallory <m@evil.test>\r\nFrom: Alice");
	assert_int_equal(r.results[0].result, MSGAUTH_FAIL);
	/* a field the signature does not cover may change */
	r = tampered("dkim-rsa-relaxed.eml", "Received: from relay", "Received: from other");
	assert_int_equal(r.results[0].result, MSGAUTH_PASS);
	/* l=: content appended after the signed length is never a pass */
	r = tampered("dkim-rsa-length.eml", ".a line with a dot\r\n", ".a line with a dot\r\nBUY NOW\r\n");
	assert_int_equal(r.results[0].result, MSGAUTH_POLICY);
	/* a body shorter than l= fails */
	r = tampered("dkim-rsa-length.eml", ".a line with a dot\r\n", "");
	assert_int_equal(r.results[0].result, MSGAUTH_FAIL);
	/* an unknown selector: no key */
	r = tampered("dkim-rsa-relaxed.eml", "s=rsa", "s=nokey");
	assert_int_equal(r.results[0].result, MSGAUTH_PERMERROR);
	/* rsa-sha1 never passes (RFC 8301) */
	r = tampered("dkim-rsa-relaxed.eml", "a=rsa-sha256", "a=rsa-sha1");
	assert_int_equal(r.results[0].result, MSGAUTH_NEUTRAL);
	/* the key of another algorithm */
	r = tampered("dkim-rsa-relaxed.eml", "s=rsa", "s=ed");
	assert_int_equal(r.results[0].result, MSGAUTH_PERMERROR);
}

static const char plain_msg[] =
	"Received: by x\r\n"
	"From: Alice <alice@example.org>\r\n"
	"To: bob@example.net\r\n"
	"Subject: signed by tern\r\n"
	"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
	"\r\n"
	"Body line\r\n"
	"\r\n";

static struct verify_run sign_and_verify(const char *pem, const char *selector,
					 enum dkim_alg alg, const char *append_header)
{
	struct dkim_signer signer = { "example.org", selector, alg, load_key(pem) };
	struct verify_run run;
	const char *error;
	buf_t out;

	buf_init(&out, BUF_MAX_UNLIMITED);
	if (append_header != NULL)
		assert_int_equal(buf_append_str(&out, append_header), 0);
	assert_int_equal(dkim_sign_message(&signer, (const unsigned char *)plain_msg,
					   strlen(plain_msg), dkim_default_signed_headers, 0,
					   NOW - 10, &out, &error), 0);
	assert_int_equal(buf_append_str(&out, plain_msg), 0);
	verify((const char *)out.data, out.used, 5, &run);
	buf_free(&out);
	EVP_PKEY_free(signer.pkey);
	assert_int_equal(run.count, 1);
	return run;
}

static void test_sign_roundtrip(void **state)
{
	struct verify_run r;

	r = sign_and_verify("rsa2048.pem", "rsa", DKIM_ALG_RSA_SHA256, NULL);
	assert_int_equal(r.results[0].result, MSGAUTH_PASS);
	assert_int_equal(r.results[0].key_bits, 2048);
	r = sign_and_verify("ed25519.pem", "ed", DKIM_ALG_ED25519_SHA256, NULL);
	assert_int_equal(r.results[0].result, MSGAUTH_PASS);
	/* RFC 8301 3.2: a 512-bit RSA key never verifies */
	r = sign_and_verify("rsa512.pem", "tiny", DKIM_ALG_RSA_SHA256, NULL);
	assert_int_equal(r.results[0].result, MSGAUTH_PERMERROR);
}

static void test_sign_oversigned(void **state)
{
	struct dkim_signer signer = { "example.org", "rsa", DKIM_ALG_RSA_SHA256,
				      load_key("rsa2048.pem") };
	struct verify_run run;
	const char *error;
	char *p;
	buf_t out;

	buf_init(&out, BUF_MAX_UNLIMITED);
	assert_int_equal(dkim_sign_message(&signer, (const unsigned char *)plain_msg,
					   strlen(plain_msg), dkim_default_signed_headers, 0,
					   NOW, &out, &error), 0);
	/* the signature names Cc (absent) so none can be added */
	assert_non_null(strstr(buf_str(&out), ":Cc:"));
	assert_int_equal(buf_append_str(&out, plain_msg), 0);
	p = strstr((char *)out.data, "\r\n\r\nBody");
	assert_non_null(p);
	{
		buf_t added;

		buf_init(&added, BUF_MAX_UNLIMITED);
		assert_int_equal(buf_append(&added, out.data, (size_t)(p - (char *)out.data) + 2), 0);
		assert_int_equal(buf_append_str(&added, "Cc: eve@evil.test\r\n"), 0);
		assert_int_equal(buf_append_str(&added, p + 2), 0);
		verify((const char *)added.data, added.used, 4096, &run);
		assert_int_equal(run.results[0].result, MSGAUTH_FAIL);
		buf_free(&added);
	}
	buf_free(&out);
	EVP_PKEY_free(signer.pkey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon_header),
		cmocka_unit_test(test_canon_body),
		cmocka_unit_test(test_body_length),
		cmocka_unit_test(test_signature_parse),
		cmocka_unit_test(test_key_parse),
		cmocka_unit_test(test_verify_dkimpy),
		cmocka_unit_test(test_verify_tampered),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_sign_oversigned),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
