#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arena.h"
#include "accounts.h"
#include "password.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/tern-test-accounts-XXXXXX";
static const char *const config_domains[] = { "example.test" };

static struct accounts *open_acc(void)
{
	struct accounts *acc;
	const char *error;

	assert_int_equal(accounts_open(tmpdir, config_domains, 1, &acc, &error), 0);
	return acc;
}

static void test_password(void **state)
{
	char *h1 = password_hash("secret"), *h2 = password_hash("secret");

	assert_non_null(h1);
	assert_true(strncmp(h1, "$y$", 3) == 0);
	/* salted: two hashes of one password differ */
	assert_string_not_equal(h1, h2);
	assert_int_equal(password_verify("secret", h1), 1);
	assert_int_equal(password_verify("secret", h2), 1);
	assert_int_equal(password_verify("Secret", h1), 0);
	assert_int_equal(password_verify("secret", ""), 0);
	assert_int_equal(password_verify("secret", "!locked"), 0);
	assert_int_equal(password_verify("secret", "garbage"), 0);
	free(h1);
	free(h2);
}

static void test_users(void **state)
{
	struct accounts *acc = open_acc();
	struct arena *arena = arena_new(0);
	const char *error, *secret;

	assert_int_equal(accounts_user_add(acc, "Alice@Example.TEST", "pw1", false, &error), 0);
	assert_int_equal(accounts_user_add(acc, "alice@example.test", "pw2", false, &error), -1);
	assert_non_null(strstr(error, "exists"));
	assert_int_equal(accounts_user_add(acc, "bob@elsewhere.test", "pw", false, &error), -1);
	assert_non_null(strstr(error, "not in a local domain"));
	assert_int_equal(accounts_user_add(acc, "no-at-sign", "pw", false, &error), -1);
	assert_int_equal(accounts_user_add(acc, "../evil@example.test", "pw", false, &error), -1);
	assert_int_equal(accounts_user_exists(acc, "ALICE@example.test"), 1);
	assert_int_equal(accounts_user_verify(acc, "alice@example.test", "pw1"), 1);
	assert_int_equal(accounts_user_verify(acc, "alice@example.test", "pw2"), 0);
	assert_int_equal(accounts_user_verify(acc, "nobody@example.test", "pw1"), 0);
	assert_int_equal(accounts_user_apop_secret(acc, arena, "alice@example.test", &secret), 0);

	assert_int_equal(accounts_user_passwd(acc, "alice@example.test", "new", &error), 0);
	assert_int_equal(accounts_user_verify(acc, "alice@example.test", "pw1"), 0);
	assert_int_equal(accounts_user_verify(acc, "alice@example.test", "new"), 1);

	assert_int_equal(accounts_user_add(acc, "pop@example.test", "apoppw", true, &error), 0);
	assert_int_equal(accounts_user_apop_secret(acc, arena, "pop@example.test", &secret), 1);
	assert_string_equal(secret, "apoppw");

	assert_int_equal(accounts_user_del(acc, "pop@example.test", &error), 0);
	assert_int_equal(accounts_user_del(acc, "pop@example.test", &error), -1);
	assert_int_equal(accounts_user_exists(acc, "pop@example.test"), 0);
	arena_free(&arena);
	accounts_close(&acc);
}

static void test_domains(void **state)
{
	struct accounts *acc = open_acc();
	const char *error;

	assert_true(accounts_domain_is_local(acc, "EXAMPLE.test"));
	assert_false(accounts_domain_is_local(acc, "other.test"));
	assert_int_equal(accounts_domain_add(acc, "Other.TEST", &error), 0);
	assert_true(accounts_domain_is_local(acc, "other.test"));
	assert_int_equal(accounts_domain_add(acc, "bad domain", &error), -1);
	assert_int_equal(accounts_domain_del(acc, "example.test", &error), -1);
	assert_non_null(strstr(error, "config"));
	assert_int_equal(accounts_domain_del(acc, "other.test", &error), 0);
	assert_false(accounts_domain_is_local(acc, "other.test"));
	accounts_close(&acc);
}

static unsigned int resolve(struct accounts *acc, struct arena *arena, const char *addr,
			    const char *expect)
{
	struct accounts_target *t;
	unsigned int i, count;
	const char *error;
	char got[1024] = "";
	int ret = accounts_resolve(acc, arena, addr, &t, &count, &error);

	assert_true(ret >= 0);
	for (i = 0; i < count; i++) {
		strcat(got, t[i].local ? "L:" : "R:");
		strcat(got, t[i].address);
		strcat(got, " ");
	}
	assert_string_equal(got, expect);
	return count;
}

static void test_aliases(void **state)
{
	struct accounts *acc = open_acc();
	struct arena *arena = arena_new(0);
	const char *error;
	const char *list[] = { "alice@example.test", "bob@example.test", "ext@remote.test" };
	const char *nested[] = { "list@example.test", "alice@example.test" };
	const char *to_bob[] = { "bob@example.test" };
	const char *loop_a[] = { "loopb@example.test" };
	const char *loop_b[] = { "loopa@example.test" };
	const char *self[] = { "bob@example.test", "ext@remote.test" };
	const char *catchall[] = { "bob@example.test" };

	assert_int_equal(accounts_user_add(acc, "bob@example.test", "pw", false, &error), 0);
	assert_int_equal(accounts_alias_add(acc, "list@example.test", list, 3, &error), 0);
	assert_int_equal(accounts_alias_add(acc, "all@example.test", nested, 2, &error), 0);
	/* a loop with a way out: loopa -> loopb -> {bob, loopa} */
	assert_int_equal(accounts_alias_add(acc, "loopb@example.test", to_bob, 1, &error), 0);
	assert_int_equal(accounts_alias_add(acc, "loopa@example.test", loop_a, 1, &error), 0);
	assert_int_equal(accounts_alias_add(acc, "loopb@example.test", loop_b, 1, &error), 0);
	assert_int_equal(accounts_alias_add(acc, "x@remote.test", list, 1, &error), -1);

	resolve(acc, arena, "alice@example.test", "L:alice@example.test ");
	resolve(acc, arena, "LIST@example.test",
		"L:alice@example.test L:bob@example.test R:ext@remote.test ");
	/* nested and duplicate: alice once */
	resolve(acc, arena, "all@example.test",
		"L:alice@example.test L:bob@example.test R:ext@remote.test ");
	/* loops terminate */
	resolve(acc, arena, "loopa@example.test", "L:bob@example.test ");
	resolve(acc, arena, "nobody@example.test", "");
	resolve(acc, arena, "someone@remote.test", "R:someone@remote.test ");
	/* subaddressing */
	resolve(acc, arena, "bob+lists@example.test", "L:bob@example.test ");
	/* without an administrator (accounts_set_system) postmaster is nobody's */
	resolve(acc, arena, "Postmaster@example.test", "");
	/* an alias naming itself keeps a local copy */
	assert_int_equal(accounts_alias_add(acc, "bob@example.test", self, 2, &error), 0);
	resolve(acc, arena, "bob@example.test", "L:bob@example.test R:ext@remote.test ");
	assert_int_equal(accounts_alias_del(acc, "bob@example.test", NULL, &error), 0);
	/* catch-all */
	assert_int_equal(accounts_alias_add(acc, "@example.test", catchall, 1, &error), 0);
	resolve(acc, arena, "nobody@example.test", "L:bob@example.test ");
	resolve(acc, arena, "alice@example.test", "L:alice@example.test ");

	/* sending as: own address, an alias leading here, not via catch-all */
	assert_int_equal(accounts_user_may_send_as(acc, "bob@example.test", "Bob@example.test"), 1);
	assert_int_equal(accounts_user_may_send_as(acc, "bob@example.test", "list@example.test"), 1);
	assert_int_equal(accounts_user_may_send_as(acc, "bob@example.test", "bob+x@example.test"), 1);
	assert_int_equal(accounts_user_may_send_as(acc, "bob@example.test", "anyone@example.test"), 0);
	assert_int_equal(accounts_user_may_send_as(acc, "bob@example.test", "alice@example.test"), 0);
	assert_int_equal(accounts_user_may_send_as(acc, "bob@example.test", "x@remote.test"), 0);
	assert_int_equal(accounts_alias_del(acc, "@example.test", NULL, &error), 0);

	assert_int_equal(accounts_alias_del(acc, "list@example.test", "bob@example.test", &error), 0);
	resolve(acc, arena, "list@example.test", "L:alice@example.test R:ext@remote.test ");
	arena_free(&arena);
	accounts_close(&acc);
}

/* Aliases that lead nowhere are refused with a message naming the culprit. */
static void test_alias_mistakes(void **state)
{
	struct accounts *acc = open_acc();
	const char *error;
	const char *self[] = { "self@example.test" };
	const char *dangling[] = { "alice@example.test", "nosuch@example.test" };
	const char *to_bob[] = { "bob@example.test" };
	const char *to_lc[] = { "lc@example.test" };
	const char *to_ld[] = { "ld@example.test" };
	const char *remote[] = { "far@remote.test" };

	assert_int_equal(accounts_alias_add(acc, "self@example.test", self, 1, &error), -1);
	assert_string_equal(error, "alias self@example.test cannot point to itself (only an "
			    "account of that name can keep a copy)");
	assert_int_equal(accounts_alias_add(acc, "d@example.test", dangling, 2, &error), -1);
	assert_string_equal(error, "alias d@example.test: target nosuch@example.test does not "
			    "exist (no account, alias or catch-all for it)");
	/* nothing of a refused alias is kept */
	assert_int_equal(accounts_user_may_send_as(acc, "alice@example.test", "d@example.test"), 0);
	/* a loop without a way out: ld -> lc -> ld */
	assert_int_equal(accounts_alias_add(acc, "ld@example.test", to_bob, 1, &error), 0);
	assert_int_equal(accounts_alias_add(acc, "lc@example.test", to_ld, 1, &error), 0);
	assert_int_equal(accounts_alias_del(acc, "ld@example.test", "bob@example.test", &error), 0);
	assert_int_equal(accounts_alias_add(acc, "ld@example.test", to_lc, 1, &error), -1);
	assert_string_equal(error, "alias ld@example.test: target lc@example.test does not "
			    "exist (no account, alias or catch-all for it; its aliases loop)");
	/* remote targets are the caller's to warn about */
	assert_int_equal(accounts_alias_add(acc, "fwd@example.test", remote, 1, &error), 0);
	assert_false(accounts_address_is_local(acc, "far@remote.test"));
	assert_true(accounts_address_is_local(acc, "fwd@example.test"));
	assert_int_equal(accounts_alias_del(acc, "fwd@example.test", NULL, &error), 0);
	assert_int_equal(accounts_alias_del(acc, "lc@example.test", NULL, &error), 0);
	accounts_close(&acc);
}

/* RFC 5321 4.5.1: postmaster of every local domain and of the hostname,
   and root, MAILER-DAEMON and Unix accounts at the hostname, reach the
   administrator unless an alias or an account says otherwise. */
static void test_system_addresses(void **state)
{
	struct accounts *acc = open_acc();
	struct arena *arena = arena_new(0);
	const char *error;
	const char *to_bob[] = { "bob@example.test" };
	const char *to_pm[] = { "postmaster@example.test" };

	accounts_set_system(acc, "MX.example.test", "Alice@example.test");
	resolve(acc, arena, "postmaster@example.test", "L:alice@example.test ");
	{
		/* the targets live in the arena, not in the handle (a DSN's
		   recipients outlive it) */
		struct accounts_target *t;
		unsigned int n;

		assert_int_equal(accounts_resolve(acc, arena, "postmaster@example.test", &t, &n,
						  &error), 1);
		accounts_set_system(acc, "mx.example.test", "Other@example.test");
		assert_string_equal(t[0].address, "alice@example.test");
		accounts_set_system(acc, "MX.example.test", "Alice@example.test");
	}
	resolve(acc, arena, "POSTMASTER@mx.example.test", "L:alice@example.test ");
	resolve(acc, arena, "root@mx.example.test", "L:alice@example.test ");
	resolve(acc, arena, "MAILER-DAEMON@mx.example.test", "L:alice@example.test ");
	resolve(acc, arena, "noreply-dmarc@mx.example.test", "L:alice@example.test ");
	assert_true(accounts_address_is_local(acc, "root@mx.example.test"));
	/* root is the machine's, not every domain's */
	resolve(acc, arena, "root@example.test", "");
	/* any other name at the hostname is what it always was */
	resolve(acc, arena, "no-such-unix-user-tern@mx.example.test",
		"R:no-such-unix-user-tern@mx.example.test ");
	assert_false(accounts_address_is_local(acc, "no-such-unix-user-tern@mx.example.test"));
	assert_false(accounts_address_is_local(acc, "postmaster@remote.test"));
	resolve(acc, arena, "postmaster@remote.test", "R:postmaster@remote.test ");
	if (getpwnam("nobody") != NULL) {
		/* a Unix account at the hostname: sendmail's sender, a bounce's target */
		resolve(acc, arena, "nobody@mx.example.test", "L:alice@example.test ");
	}
	/* an alias says otherwise */
	assert_int_equal(accounts_alias_add(acc, "root@mx.example.test", to_bob, 1, &error), 0);
	resolve(acc, arena, "root@mx.example.test", "L:bob@example.test ");
	assert_int_equal(accounts_alias_add(acc, "postmaster@example.test", to_bob, 1, &error), 0);
	resolve(acc, arena, "postmaster@example.test", "L:bob@example.test ");
	resolve(acc, arena, "postmaster@mx.example.test", "L:alice@example.test ");
	assert_int_equal(accounts_alias_del(acc, "postmaster@example.test", NULL, &error), 0);
	assert_int_equal(accounts_alias_del(acc, "root@mx.example.test", NULL, &error), 0);
	/* an alias to postmaster is fine while the administrator exists */
	assert_int_equal(accounts_alias_add(acc, "abuse@example.test", to_pm, 1, &error), 0);
	resolve(acc, arena, "abuse@example.test", "L:alice@example.test ");
	assert_int_equal(accounts_alias_del(acc, "abuse@example.test", NULL, &error), 0);
	/* an administrator that is postmaster itself leads nowhere */
	accounts_set_system(acc, "mx.example.test", "postmaster@example.test");
	resolve(acc, arena, "postmaster@example.test", "");
	resolve(acc, arena, "root@mx.example.test", "");
	/* a remote administrator */
	accounts_set_system(acc, "mx.example.test", "admin@remote.test");
	resolve(acc, arena, "root@mx.example.test", "R:admin@remote.test ");
	/* none */
	accounts_set_system(acc, "mx.example.test", "");
	resolve(acc, arena, "postmaster@example.test", "");
	arena_free(&arena);
	accounts_close(&acc);
}

static int setup(void **state)
{
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	return 0;
}

static bool exists(const char *suffix)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/accounts.db%s", tmpdir, suffix);
	return access(path, F_OK) == 0;
}

/* accounts_open_readonly() (tern serve --check) reads what is there and
   makes nothing: no accounts.db, no -wal or -shm beside it. */
static void test_open_readonly(void **state)
{
	struct accounts *acc, *ro;
	struct arena *arena = arena_new(0);
	struct accounts_target *targets;
	unsigned int count;
	const char *error;

	/* no database: ENOENT */
	assert_int_equal(accounts_open_readonly("/nonexistent-tern-dir", config_domains, 1, &ro,
						&error), -1);
	assert_int_equal(errno, ENOENT);
	acc = open_acc();
	assert_int_equal(accounts_user_add(acc, "ro@example.test", "pw", false, &error), 0);
	/* a writer holds the database: read through its -wal */
	assert_true(exists("-wal"));
	assert_int_equal(accounts_open_readonly(tmpdir, config_domains, 1, &ro, &error), 0);
	assert_int_equal(accounts_resolve(ro, arena, "ro@example.test", &targets, &count, &error), 1);
	assert_int_equal(accounts_resolve(ro, arena, "nobody@example.test", &targets, &count,
					  &error), 0);
	assert_int_equal(accounts_user_add(ro, "no@example.test", "pw", false, &error), -1);
	accounts_close(&ro);
	accounts_close(&acc);
	/* closed cleanly: no -wal, and reading makes none */
	assert_false(exists("-wal"));
	assert_int_equal(accounts_open_readonly(tmpdir, config_domains, 1, &ro, &error), 0);
	assert_int_equal(accounts_resolve(ro, arena, "ro@example.test", &targets, &count, &error), 1);
	accounts_close(&ro);
	assert_false(exists("-wal"));
	assert_false(exists("-shm"));
	arena_free(&arena);
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_users),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_alias_mistakes),
		cmocka_unit_test(test_system_addresses),
		cmocka_unit_test(test_open_readonly),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
