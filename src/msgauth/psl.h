#ifndef TERN_PSL_H
#define TERN_PSL_H

#include "lib.h"

/*
 * The Public Suffix List (https://publicsuffix.org/list/, Debian's
 * publicsuffix package) and the Organizational Domain of DMARC (RFC 7489
 * 3.2): the public suffix that matches most labels, plus one label. Read
 * once at start; lookups are read-only and thread-safe.
 *
 * Rules written as Unicode (U-labels) are stored as their A-labels
 * (punycode, RFC 3492), so "xn--" names in mail match them.
 */

#define PSL_DEFAULT_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct arena;
struct psl;

/* Read a list in the publicsuffix.org format. NULL with *error_r
   (static, or strerror) when the file cannot be read or holds no rule. */
struct psl *psl_load(const char *path, const char **error_r);
/* The same from memory (tests). */
struct psl *psl_parse(const char *data, size_t len);
void psl_free(struct psl **psl);
unsigned int psl_rule_count(const struct psl *psl);

/* The Organizational Domain of domain (any case, a trailing dot allowed):
   lowercase, in arena. A domain that is itself a public suffix is its own
   organizational domain. NULL for an empty or malformed name. */
const char *psl_org_domain(const struct psl *psl, struct arena *arena, const char *domain);

/* The A-label of one UTF-8 label ("xn--" + punycode, RFC 3492 / 5891), or
   a lowercase copy of an ASCII label. NULL when the label is not valid
   UTF-8 or too long. In arena. */
const char *psl_to_alabel(struct arena *arena, const char *label, size_t len);

#endif
