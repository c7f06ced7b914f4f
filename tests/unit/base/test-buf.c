#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "buf.h"
#include "arena.h"

static void test_buf_limit(void **state)
{
	buf_t b;

	buf_init(&b, 10);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_append(&b, "world", 5), 0);
	assert_int_equal(buf_len(&b), 10);
	/* past the maximum: refused, buffer unchanged */
	assert_int_equal(buf_append_c(&b, '!'), -1);
	assert_int_equal(buf_len(&b), 10);
	assert_string_equal(buf_str(&b), "helloworld");
	buf_consume(&b, 5);
	assert_string_equal(buf_str(&b), "world");
	assert_int_equal(buf_printf(&b, "%d", 12345), 0);
	assert_int_equal(buf_printf(&b, "%d", 1), -1);
	assert_string_equal(buf_str(&b), "world12345");
	buf_free(&b);
}

static void test_buf_binary(void **state)
{
	buf_t b;
	unsigned char *p;
	size_t len;
	char *s;

	buf_init(&b, BUF_MAX_UNLIMITED);
	assert_string_equal(buf_str(&b), "");
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(buf_len(&b), 3);
	p = buf_reserve(&b, 4096);
	assert_non_null(p);
	memset(p, 'x', 4096);
	buf_commit(&b, 4096);
	assert_int_equal(buf_len(&b), 4099);
	assert_int_equal(b.data[4099], '\0');
	buf_truncate(&b, 2);
	s = buf_steal(&b, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(s, "a\0", 3);
	free(s);
	assert_int_equal(buf_len(&b), 0);
	buf_free(&b);
}

static void test_arena(void **state)
{
	struct arena *a = arena_new(256);
	char *big, *s;
	int i;

	for (i = 0; i < 1000; i++) {
		s = arena_printf(a, "item %d", i);
		assert_string_equal(s, arena_strdup(a, s));
		assert_int_equal(((uintptr_t)s) % 16, 0);
	}
	big = arena_alloc(a, 100000);
	memset(big, 1, 100000);
	arena_set_limit(a, 1000);
	assert_true(arena_over_limit(a));
	arena_clear(a);
	assert_false(arena_over_limit(a));
	s = arena_strndup(a, "abcdef", 3);
	assert_string_equal(s, "abc");
	arena_free(&a);
	assert_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_buf_binary),
		cmocka_unit_test(test_arena),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
