/*
 * The Public Suffix List in a hash set, and the Organizational Domain of
 * RFC 7489 3.2 by the list's algorithm (publicsuffix.org/list: the
 * matching rule with the most labels prevails, an exception rule over all,
 * "*" when none matches). See psl.h.
 */
#include "psl.h"
#include "arena.h"
#include "buf.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define PSL_MAX_FILE (16 * 1024 * 1024)
#define PSL_MAX_LABELS 127

enum rule_kind { RULE_NORMAL = 1, RULE_WILDCARD = 2, RULE_EXCEPTION = 4 };

struct psl_entry {
	const char *name;          /* the suffix the rule is about ("ck" for "*.ck") */
	unsigned int kinds;        /* rule_kind bits */
};

struct psl {
	struct arena *arena;
	struct psl_entry *table;   /* open addressing */
	unsigned int size, count, rules;
};

static unsigned int hash_name(const char *s, size_t len)
{
	unsigned int h = 2166136261u;   /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct psl_entry *find(const struct psl *psl, const char *name, size_t len)
{
	unsigned int i = hash_name(name, len) & (psl->size - 1);

	while (psl->table[i].name != NULL) {
		if (strlen(psl->table[i].name) == len && memcmp(psl->table[i].name, name, len) == 0)
			return &psl->table[i];
		i = (i + 1) & (psl->size - 1);
	}
	return NULL;
}

static void grow(struct psl *psl)
{
	struct psl_entry *old = psl->table;
	unsigned int old_size = psl->size, i;

	psl->size = old_size == 0 ? 4096 : old_size * 2;
	psl->table = i_malloc(sizeof(*psl->table) * psl->size);
	for (i = 0; i < old_size; i++) {
		if (old[i].name != NULL) {
			unsigned int j = hash_name(old[i].name, strlen(old[i].name)) & (psl->size - 1);

			while (psl->table[j].name != NULL)
				j = (j + 1) & (psl->size - 1);
			psl->table[j] = old[i];
		}
	}
	free(old);
}

static void add(struct psl *psl, const char *name, unsigned int kind)
{
	struct psl_entry *e;
	unsigned int i;

	if ((psl->count + 1) * 2 > psl->size)
		grow(psl);
	e = find(psl, name, strlen(name));
	if (e == NULL) {
		i = hash_name(name, strlen(name)) & (psl->size - 1);
		while (psl->table[i].name != NULL)
			i = (i + 1) & (psl->size - 1);
		e = &psl->table[i];
		e->name = arena_strdup(psl->arena, name);
		psl->count++;
	}
	e->kinds |= kind;
	psl->rules++;
}

/* RFC 3492 6.3, with the parameters of 5. */
static char digit(uint32_t d)
{
	return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

static uint32_t adapt(uint32_t delta, uint32_t numpoints, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / numpoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 - 1 + 1) * delta / (delta + 38);
}

const char *psl_to_alabel(struct arena *arena, const char *label, size_t len)
{
	uint32_t cps[64], n = 128, delta = 0, bias = 72, h, b = 0, m, q, k, t;
	unsigned int count = 0, i;
	bool ascii = true;
	buf_t out;
	const char *result;

	for (i = 0; i < len; i++) {
		if ((unsigned char)label[i] >= 0x80)
			ascii = false;
	}
	if (ascii) {
		char *copy = arena_strndup(arena, label, len);

		i_str_lower(copy);
		return copy;
	}
	if (!utf8_is_valid(label, len))
		return NULL;
	for (size_t pos = 0; pos < len;) {
		uint32_t cp;

		if (count == N_ELEMENTS(cps))
			return NULL;
		pos += utf8_decode_char((const unsigned char *)label + pos, len - pos, &cp);
		/* ASCII letters fold; the rest is taken as written (the list
		   and IDNA-mapped mail are already lowercase) */
		if (cp >= 'A' && cp <= 'Z')
			cp += 32;
		cps[count++] = cp;
	}
	buf_init(&out, 63);
	if (buf_append_str(&out, "xn--") < 0)
		return NULL;
	for (i = 0; i < count; i++) {
		if (cps[i] < 0x80) {
			if (buf_append_c(&out, (unsigned char)cps[i]) < 0)
				goto fail;
			b++;
		}
	}
	h = b;
	if (b > 0 && buf_append_c(&out, '-') < 0)
		goto fail;
	while (h < count) {
		m = UINT32_MAX;
		for (i = 0; i < count; i++) {
			if (cps[i] >= n && cps[i] < m)
				m = cps[i];
		}
		if ((m - n) > (UINT32_MAX - delta) / (h + 1))
			goto fail;
		delta += (m - n) * (h + 1);
		n = m;
		for (i = 0; i < count; i++) {
			if (cps[i] < n)
				delta++;
			if (cps[i] == n) {
				q = delta;
				for (k = 36;; k += 36) {
					t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
					if (q < t)
						break;
					if (buf_append_c(&out, (unsigned char)digit(t + (q - t) % (36 - t))) < 0)
						goto fail;
					q = (q - t) / (36 - t);
				}
				if (buf_append_c(&out, (unsigned char)digit(q)) < 0)
					goto fail;
				bias = adapt(delta, h + 1, h == b);
				delta = 0;
				h++;
			}
		}
		delta++;
		n++;
	}
	result = arena_strndup(arena, out.data, out.used);
	buf_free(&out);
	return result;
fail:
	buf_free(&out);
	return NULL;
}

/* A name with every label as its A-label, lowercase; NULL if one is bad. */
static const char *to_ascii(struct arena *arena, const char *name, size_t len)
{
	buf_t out;
	size_t start = 0, i;
	const char *result;

	buf_init(&out, 1024);
	for (i = 0; i <= len; i++) {
		if (i == len || name[i] == '.') {
			const char *label = psl_to_alabel(arena, name + start, i - start);

			if (i == start || label == NULL ||
			    (out.used > 0 && buf_append_c(&out, '.') < 0) ||
			    buf_append_str(&out, label) < 0) {
				buf_free(&out);
				return NULL;
			}
			start = i + 1;
		}
	}
	result = arena_strndup(arena, out.data, out.used);
	buf_free(&out);
	return result;
}

struct psl *psl_parse(const char *data, size_t len)
{
	struct psl *psl = i_malloc(sizeof(*psl));
	const char *p = data, *end = data + len;

	psl->arena = arena_new(64 * 1024);
	grow(psl);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = nl != NULL ? nl : end, *rule = p, *rule_end;
		unsigned int kind = RULE_NORMAL;
		const char *ascii;

		p = nl != NULL ? nl + 1 : end;
		while (rule < line_end && (*rule == ' ' || *rule == '\t'))
			rule++;
		/* the rule is the first word of the line; "//" starts a comment */
		rule_end = rule;
		while (rule_end < line_end && *rule_end != ' ' && *rule_end != '\t' &&
		       *rule_end != '\r')
			rule_end++;
		if (rule_end == rule || (rule_end - rule >= 2 && rule[0] == '/' && rule[1] == '/'))
			continue;
		if (*rule == '!') {
			kind = RULE_EXCEPTION;
			rule++;
		} else if (rule_end - rule >= 2 && rule[0] == '*' && rule[1] == '.') {
			kind = RULE_WILDCARD;
			rule += 2;
		}
		if (rule == rule_end)
			continue;
		ascii = to_ascii(psl->arena, rule, (size_t)(rule_end - rule));
		if (ascii != NULL)
			add(psl, ascii, kind);
	}
	return psl;
}

struct psl *psl_load(const char *path, const char **error_r)
{
	static __thread char error[512];
	struct psl *psl;
	struct stat st;
	char *data;
	size_t done = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(error, sizeof(error), "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		*error_r = error;
		return NULL;
	}
	if (st.st_size <= 0 || st.st_size > PSL_MAX_FILE) {
		snprintf(error, sizeof(error), "%s: not a public suffix list (size)", path);
		close(fd);
		*error_r = error;
		return NULL;
	}
	data = i_malloc((size_t)st.st_size);
	while (done < (size_t)st.st_size) {
		ssize_t ret = read(fd, data + done, (size_t)st.st_size - done);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret <= 0)
			break;
		done += (size_t)ret;
	}
	close(fd);
	psl = psl_parse(data, done);
	free(data);
	if (psl->rules == 0) {
		psl_free(&psl);
		snprintf(error, sizeof(error), "%s: no public suffix rules in it", path);
		*error_r = error;
		return NULL;
	}
	return psl;
}

void psl_free(struct psl **pslp)
{
	struct psl *psl = *pslp;

	if (psl == NULL)
		return;
	*pslp = NULL;
	free(psl->table);
	arena_free(&psl->arena);
	free(psl);
}

unsigned int psl_rule_count(const struct psl *psl)
{
	return psl->rules;
}

const char *psl_org_domain(const struct psl *psl, struct arena *arena, const char *domain)
{
	const char *name, *starts[PSL_MAX_LABELS];
	unsigned int labels = 0, suffix = 1, k;
	size_t len = strlen(domain), i;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0)
		return NULL;
	name = to_ascii(arena, domain, len);
	if (name == NULL)
		return NULL;
	len = strlen(name);
	/* label start offsets, left to right */
	starts[labels++] = name;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (labels == PSL_MAX_LABELS || i + 1 == len)
				return NULL;
			starts[labels++] = name + i + 1;
		}
	}
	/* the public suffix: how many labels from the right (default "*": 1) */
	for (k = 1; k <= labels; k++) {
		const char *s = starts[labels - k];
		const struct psl_entry *e = find(psl, s, len - (size_t)(s - name));

		if (e != NULL && (e->kinds & RULE_EXCEPTION) != 0) {
			/* an exception prevails: the suffix is one label shorter */
			suffix = k - 1;
			break;
		}
		if (e != NULL && (e->kinds & RULE_NORMAL) != 0 && k > suffix)
			suffix = k;
		if (e != NULL && (e->kinds & RULE_WILDCARD) != 0 && k + 1 <= labels &&
		    k + 1 > suffix) {
			const struct psl_entry *x;

			suffix = k + 1;
			/* "!www.ck" under "*.ck": checked when k reaches it */
			x = find(psl, starts[labels - k - 1], len - (size_t)(starts[labels - k - 1] - name));
			if (x != NULL && (x->kinds & RULE_EXCEPTION) != 0) {
				suffix = k;
				break;
			}
		}
	}
	if (suffix >= labels)
		return name;   /* a public suffix itself */
	return starts[labels - suffix - 1];
}
