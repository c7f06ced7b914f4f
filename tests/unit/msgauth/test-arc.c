/* ARC: chains sealed by dkimpy (tests/data/msgauth/gen-dkim-fixtures.py)
   validated, tampering found, tern's own seals validated (on top of
   dkimpy's too); Authentication-Results parsing and forgery removal. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "arc.h"
#include "authres.h"
#include "tag-list.h"
#include "header-parser.h"
#include "fake-dns.h"

#include <openssl/pem.h>

#define DATA TERN_TEST_DATA "/msgauth/"

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

static int setup(void **state)
{
	size_t size;
	char *keys = read_file("dkim-keys.txt", &size), *line, *save = NULL;

	for (line = strtok_r(keys, "\n", &save); line != NULL && key_rr_count < 8;
	     line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');

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

static void done_cb(void *ctx)
{
	*(bool *)ctx = true;
}

static enum msgauth_result validate(const char *msg, size_t size, unsigned int *n_r)
{
	struct arena *arena = arena_new(0);
	struct fake_dns f;
	struct msgauth_dns dns;
	struct msg_header hdr;
	struct arc_verifier *v;
	size_t hend = dkim_header_end((const unsigned char *)msg, size);
	const char *reason, *sealer;
	enum msgauth_result r;
	bool called = false;
	unsigned int n;

	fake_dns_init(&f, &dns, key_rrs, key_rr_count);
	v = arc_verifier_new(arena, &dns, 1800000200, done_cb, &called);
	msg_header_parse_block(arena, msg, hend, 0, 1000, false, &hdr);
	arc_verifier_header(v, &hdr, msg);
	for (size_t i = hend; i < size; i += 3)
		arc_verifier_body(v, msg + i, I_MIN(3, size - i));
	if (!arc_verifier_body_end(v)) {
		fake_dns_run(&f);
		assert_true(called);
	}
	r = arc_verifier_result(v, &reason, &n, &sealer);
	if (r != MSGAUTH_PASS && r != MSGAUTH_NONE)
		print_message("arc: %s (%s)\n", msgauth_result_name(r), reason);
	if (n_r != NULL)
		*n_r = n;
	arc_verifier_free(&v);
	fake_dns_clear(&f);
	arena_free(&arena);
	return r;
}

static enum msgauth_result validate_file(const char *name, unsigned int *n_r)
{
	size_t size;
	char *msg = read_file(name, &size);
	enum msgauth_result r = validate(msg, size, n_r);

	free(msg);
	return r;
}

static enum msgauth_result validate_tampered(const char *name, const char *from, const char *to)
{
	size_t size;
	char *msg = read_file(name, &size), *p = strstr(msg, from), *copy;
	enum msgauth_result r;

	assert_non_null(p);
	copy = malloc(size + strlen(to) + 1);
	memcpy(copy, msg, (size_t)(p - msg));
	strcpy(copy + (p - msg), to);
	strcat(copy, p + strlen(from));
	r = validate(copy, strlen(copy), NULL);
	free(copy);
	free(msg);
	return r;
}

static void test_dkimpy_chains(void **state)
{
	unsigned int n;

	assert_int_equal(validate_file("arc-1.eml", &n), MSGAUTH_PASS);
	assert_int_equal(n, 1);
	assert_int_equal(validate_file("arc-2.eml", &n), MSGAUTH_PASS);
	assert_int_equal(n, 2);
	assert_int_equal(validate_file("dkim-rsa-relaxed.eml", &n), MSGAUTH_NONE);
	assert_int_equal(n, 0);
}

static void test_tampered(void **state)
{
	/* the body: the newest AMS */
	assert_int_equal(validate_tampered("arc-2.eml", "Hello Bob", "Hello Eve"), MSGAUTH_FAIL);
	/* what the first hop recorded: the seals */
	assert_int_equal(validate_tampered("arc-2.eml", "i=1; relay.example.org; spf=pass",
					   "i=1; relay.example.org; spf=fail"), MSGAUTH_FAIL);
	/* a set taken away */
	assert_int_equal(validate_tampered("arc-2.eml", "ARC-Authentication-Results: i=2;",
					   "X-Gone: i=2;"), MSGAUTH_FAIL);
	/* a seal claiming a broken chain */
	assert_int_equal(validate_tampered("arc-2.eml", "i=2; cv=pass", "i=2; cv=fail"),
			 MSGAUTH_FAIL);
	/* the first seal must say cv=none */
	assert_int_equal(validate_tampered("arc-1.eml", "cv=none", "cv=pass"), MSGAUTH_FAIL);
	/* no key */
	assert_int_equal(validate_tampered("arc-1.eml", "s=rsa; t=1800000000;\r\n b=",
					   "s=gone; t=1800000000;\r\n b="), MSGAUTH_FAIL);
}

static EVP_PKEY *load_key(const char *name)
{
	FILE *f = fopen(DATA "rsa2048.pem", "r");
	EVP_PKEY *pkey;

	(void)name;
	assert_non_null(f);
	pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(pkey);
	return pkey;
}

/* tern seals msg (with the chain status it found) and validates it again */
static enum msgauth_result seal_and_validate(const char *msg, size_t size, enum arc_cv chain,
					     unsigned int *n_r, buf_t *sealed)
{
	struct dkim_signer signer = { "example.org", "rsa", DKIM_ALG_RSA_SHA256,
				      load_key("rsa2048.pem") };
	const char *error;

	assert_int_equal(arc_seal_message(&signer, (const unsigned char *)msg, size, chain,
					  "mx.example.net;\r\n\tspf=pass smtp.mailfrom=example.org",
					  1800000150, sealed, &error), 0);
	assert_int_equal(buf_append(sealed, msg, size), 0);
	EVP_PKEY_free(signer.pkey);
	return validate((const char *)sealed->data, sealed->used, n_r);
}

static void test_tern_seal(void **state)
{
	size_t size;
	char *msg;
	unsigned int n;
	buf_t sealed;

	buf_init(&sealed, BUF_MAX_UNLIMITED);
	/* a message without a chain: i=1, cv=none */
	msg = read_file("dkim-rsa-relaxed.eml", &size);
	assert_int_equal(seal_and_validate(msg, size, ARC_CV_NONE, &n, &sealed), MSGAUTH_PASS);
	assert_int_equal(n, 1);
	assert_non_null(strstr((char *)sealed.data, "cv=none"));
	free(msg);
	buf_reset(&sealed);
	/* on top of dkimpy's two sets: i=3, cv=pass */
	msg = read_file("arc-2.eml", &size);
	assert_int_equal(seal_and_validate(msg, size, ARC_CV_PASS, &n, &sealed), MSGAUTH_PASS);
	assert_int_equal(n, 3);
	assert_non_null(strstr((char *)sealed.data, "i=3; a=rsa-sha256"));
	buf_reset(&sealed);
	/* a chain found broken stays broken: cv=fail, and validation says fail */
	assert_int_equal(seal_and_validate(msg, size, ARC_CV_FAIL, &n, &sealed), MSGAUTH_FAIL);
	assert_non_null(strstr((char *)sealed.data, "cv=fail"));
	free(msg);
	buf_free(&sealed);
}

static void test_seal_parse(void **state)
{
	struct arena *arena = arena_new(0);
	struct arc_seal s;
	const char *error, *v;
	size_t payload;

	v = " i=2; a=rsa-sha256; cv=pass; d=Example.ORG; s=Sel;\r\n t=1800000000; b=YW Jj";
	assert_int_equal(arc_seal_parse(arena, v, strlen(v), &s, &error), 0);
	assert_int_equal(s.instance, 2);
	assert_int_equal(s.cv, ARC_CV_PASS);
	assert_string_equal(s.domain, "example.org");
	assert_string_equal(s.selector, "sel");
	assert_int_equal(s.timestamp, 1800000000);
	assert_int_equal(s.b_len, 3);
	assert_memory_equal(v + s.b_start, "YW Jj", 5);
#define SEAL_BAD(t) assert_int_equal(arc_seal_parse(arena, t, strlen(t), &s, &error), -1)
	SEAL_BAD("i=0; a=rsa-sha256; cv=none; d=x.test; s=s; b=YQ==");
	SEAL_BAD("i=51; a=rsa-sha256; cv=none; d=x.test; s=s; b=YQ==");
	SEAL_BAD("i=1; a=rsa-sha256; cv=maybe; d=x.test; s=s; b=YQ==");
	SEAL_BAD("i=1; a=rsa-sha256; cv=none; d=x.test; s=s; b=YQ==; h=from");
	SEAL_BAD("i=1; a=dsa; cv=none; d=x.test; s=s; b=YQ==");
	SEAL_BAD("i=1; a=rsa-sha256; cv=none; d=x.test; s=s");
	SEAL_BAD("i=1; a=rsa-sha256; cv=none; s=s; b=YQ==");
	/* the instance of an ARC-Authentication-Results value */
	assert_int_equal(arc_aar_instance(" i = 7 ; mx.x; spf=pass", 23, &payload), 7);
	assert_int_equal(payload, 8);
	assert_int_equal(arc_aar_instance("mx.x; i=1", 9, &payload), 0);
	assert_int_equal(arc_aar_instance("i=77; x", 7, &payload), 0);
	arena_free(&arena);
}

static void test_tag_list(void **state)
{
	struct arena *arena = arena_new(0);
	struct msgauth_tag_list l;
	const char *error, *v;

	v = " a = 1 ;\r\n\tb=two words ;; c= ; D_9=x ";
	assert_int_equal(msgauth_tag_list_parse(arena, v, strlen(v), &l, &error), 0);
	assert_int_equal(l.count, 4);
	assert_string_equal(msgauth_tag_get(&l, "a")->value, "1");
	assert_string_equal(msgauth_tag_get(&l, "b")->value, "two words");
	assert_int_equal(msgauth_tag_get(&l, "c")->value_len, 0);
	assert_string_equal(msgauth_tag_get(&l, "D_9")->value, "x");
	assert_null(msgauth_tag_get(&l, "d_9"));      /* names are case-sensitive */
#define TAGS_BAD(t) assert_int_equal(msgauth_tag_list_parse(arena, t, strlen(t), &l, &error), -1)
	TAGS_BAD("a=1; a=2");            /* a tag twice: the whole list is bad (3.2) */
	TAGS_BAD("1a=x");
	TAGS_BAD("a");
	TAGS_BAD("a=x\x01y");
	TAGS_BAD("a=\xc3\xa9");
	arena_free(&arena);
}

static void test_authres_parse(void **state)
{
	struct arena *arena = arena_new(0);
	struct authres ar;
	const char *error, *v;

	v = " mx.example.net (comment) 1;\r\n\tspf=pass (good) smtp.mailfrom=a@example.org;\r\n"
	    "\tdkim=fail reason=\"bad sig\" header.d=example.org header.s=sel;\r\n"
	    "\tdmarc=none header.from=\"example.org\"; arc=pass";
	assert_int_equal(authres_parse(arena, v, strlen(v), &ar, &error), 0);
	assert_string_equal(ar.authserv_id, "mx.example.net");
	assert_int_equal(ar.version, 1);
	assert_int_equal(ar.count, 4);
	assert_string_equal(ar.entries[0].method, "spf");
	assert_string_equal(ar.entries[0].props[0].ptype, "smtp");
	assert_string_equal(ar.entries[0].props[0].property, "mailfrom");
	assert_string_equal(ar.entries[0].props[0].value, "a@example.org");
	assert_string_equal(ar.entries[1].reason, "bad sig");
	assert_int_equal(ar.entries[1].prop_count, 2);
	assert_string_equal(ar.entries[2].props[0].value, "example.org");
	assert_int_equal(authres_find(&ar, "arc"), MSGAUTH_PASS);
	assert_int_equal(authres_find(&ar, "iprev"), -1);
	v = "\"quoted.id\"; none";
	assert_int_equal(authres_parse(arena, v, strlen(v), &ar, &error), 0);
	assert_string_equal(ar.authserv_id, "quoted.id");
	assert_int_equal(ar.count, 0);
	assert_int_equal(authres_parse(arena, " ;", 2, &ar, &error), -1);
	arena_free(&arena);
}

static void test_authres_write(void **state)
{
	buf_t b;

	buf_init(&b, 4096);
	authres_begin(&b, "mx.example.net");
	authres_add(&b, "spf", MSGAUTH_PASS, "a (nested) comment", "smtp.mailfrom", "a@b.test",
		    NULL);
	authres_add(&b, "dkim", MSGAUTH_FAIL, NULL, "header.d", "b.test", "header.b", NULL, NULL);
	authres_add(&b, "dmarc", MSGAUTH_NONE, NULL, "header.from", "odd value", NULL);
	authres_finish(&b);
	assert_string_equal(buf_str(&b), "mx.example.net;\r\n"
			    "\tspf=pass (a [nested] comment) smtp.mailfrom=a@b.test;\r\n"
			    "\tdkim=fail header.d=b.test;\r\n"
			    "\tdmarc=none header.from=\"odd value\"");
	buf_reset(&b);
	authres_begin(&b, "mx.example.net");
	authres_finish(&b);
	assert_string_equal(buf_str(&b), "mx.example.net; none");
	buf_free(&b);
}

static void test_authres_forged(void **state)
{
	static const char header[] =
		"Received: by x\r\n"
		"Authentication-Results: MX.example.net; spf=pass\r\n"
		"Authentication-Results: other.example; dkim=pass\r\n"
		"Authentication-Results: (c) mx.example.net;\r\n\tdkim=pass\r\n"
		"AUTHENTICATION-ReSuLtS: mx.example.net; dmarc=pass\r\n"
		"Subject: hi\r\n"
		"\r\n";
	buf_t out;

	buf_init(&out, 4096);
	assert_int_equal(authres_remove_forged(header, strlen(header), "mx.example.net", &out), 3);
	assert_string_equal(buf_str(&out), "Received: by x\r\n"
			    "Authentication-Results: other.example; dkim=pass\r\n"
			    "Subject: hi\r\n\r\n");
	buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dkimpy_chains),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_tern_seal),
		cmocka_unit_test(test_seal_parse),
		cmocka_unit_test(test_tag_list),
		cmocka_unit_test(test_authres_parse),
		cmocka_unit_test(test_authres_write),
		cmocka_unit_test(test_authres_forged),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
