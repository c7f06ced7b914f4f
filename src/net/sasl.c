/*
 * Server-side SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login).
 */
#include "sasl.h"
#include "base64.h"

#include <string.h>

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
};

enum sasl_state {
	STATE_START,          /* nothing received yet */
	STATE_PLAIN_WAIT,     /* PLAIN: empty challenge sent, waiting */
	STATE_LOGIN_USER,     /* LOGIN: "Username:" sent */
	STATE_LOGIN_PASS,     /* LOGIN: "Password:" sent */
	STATE_DONE,
	STATE_FAILED,
};

struct sasl_server {
	enum sasl_mech mech;
	enum sasl_state state;
	char *authzid;
	char *authcid;
	char *password;
	size_t password_size;
};

/* base64 of "Username:" and "Password:" */
#define LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

static int decode_response(const char *text, size_t len, buf_t *out);
static enum sasl_result plain_message(struct sasl_server *s, const buf_t *msg);
static char *dup_secret(const void *data, size_t len, size_t *size_r);
static void free_secret(char **secret, size_t size);

static const unsigned char b64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33,
	['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
	['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59,
	['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

int sasl_base64_decode_strict(const char *text, size_t len, buf_t *dest)
{
	size_t i, pad = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '=') {
			/* padding: only the last one or two characters */
			if (i < len - 2)
				return -1;
			pad++;
			continue;
		}
		if (pad > 0 || b64_value[c] == 0)
			return -1;
	}
	return base64_decode(text, len, dest);
}

struct sasl_server *sasl_server_new(const char *mech)
{
	struct sasl_server *s;
	enum sasl_mech m;

	if (i_strcasecmp(mech, "PLAIN") == 0)
		m = SASL_MECH_PLAIN;
	else if (i_strcasecmp(mech, "LOGIN") == 0)
		m = SASL_MECH_LOGIN;
	else
		return NULL;
	s = i_malloc(sizeof(*s));
	s->mech = m;
	s->state = STATE_START;
	return s;
}

static char *dup_secret(const void *data, size_t len, size_t *size_r)
{
	char *p = i_malloc(len + 1); /* len <= SASL_MAX_RESPONSE */

	memcpy(p, data, len);
	*size_r = len + 1;
	return p;
}

static void free_secret(char **secret, size_t size)
{
	if (*secret == NULL)
		return;
	explicit_bzero(*secret, size);
	i_free(*secret);
}

void sasl_server_free(struct sasl_server **sp)
{
	struct sasl_server *s = *sp;

	if (s == NULL)
		return;
	free_secret(&s->password, s->password_size);
	i_free(s->authzid);
	i_free(s->authcid);
	i_free(s);
	*sp = NULL;
}

const char *sasl_server_mech(const struct sasl_server *s)
{
	return s->mech == SASL_MECH_PLAIN ? "PLAIN" : "LOGIN";
}

/* Decode a response into out (bounded); "=" alone is empty. */
static int decode_response(const char *text, size_t len, buf_t *out)
{
	if (len > SASL_MAX_RESPONSE)
		return -1;
	if (len == 1 && text[0] == '=')
		return 0;
	return sasl_base64_decode_strict(text, len, out);
}

/* RFC 4616 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd */
static enum sasl_result plain_message(struct sasl_server *s, const buf_t *msg)
{
	const unsigned char *p = msg->data, *nul1, *nul2, *end;

	if (msg->used == 0)
		return SASL_MALFORMED;
	end = p + msg->used;
	nul1 = memchr(p, '\0', msg->used);
	if (nul1 == NULL)
		return SASL_MALFORMED;
	nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
	if (nul2 == NULL || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)) != NULL)
		return SASL_MALFORMED;
	if ((size_t)(nul1 - p) > SASL_MAX_NAME || (size_t)(nul2 - nul1 - 1) > SASL_MAX_NAME ||
	    (size_t)(end - nul2 - 1) > SASL_MAX_PASSWORD)
		return SASL_MALFORMED;
	/* authcid and passwd are 1*SAFE */
	if (nul2 == nul1 + 1 || end == nul2 + 1)
		return SASL_MALFORMED;
	s->authzid = i_strndup(p, (size_t)(nul1 - p));
	s->authcid = i_strndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
	s->password = dup_secret(nul2 + 1, (size_t)(end - nul2 - 1), &s->password_size);
	return SASL_DONE;
}

enum sasl_result sasl_server_step(struct sasl_server *s, const char *response, size_t len,
				  const char **challenge_r)
{
	enum sasl_result ret = SASL_MALFORMED;
	buf_t msg;

	*challenge_r = NULL;
	if (s->state == STATE_DONE || s->state == STATE_FAILED)
		return SASL_MALFORMED;
	/* RFC 4954 4: "*" cancels the exchange (not as the initial response) */
	if (response != NULL && s->state != STATE_START && len == 1 && response[0] == '*') {
		s->state = STATE_FAILED;
		return SASL_CANCELLED;
	}
	if (response == NULL) {
		i_assert(s->state == STATE_START);
		if (s->mech == SASL_MECH_PLAIN) {
			/* RFC 4616 / RFC 4954: empty challenge, client sends the message */
			s->state = STATE_PLAIN_WAIT;
			*challenge_r = "";
		} else {
			s->state = STATE_LOGIN_USER;
			*challenge_r = LOGIN_USER_PROMPT;
		}
		return SASL_CONTINUE;
	}

	/* the decoded message holds secrets: wipe it before freeing */
	buf_init(&msg, SASL_MAX_RESPONSE);
	/* allocate once (decoded <= encoded): no realloc leaves copies behind */
	if (len > SASL_MAX_RESPONSE || buf_reserve(&msg, len) == NULL)
		goto out;
	buf_commit(&msg, 0);
	if (decode_response(response, len, &msg) < 0)
		goto out;
	switch (s->state) {
	case STATE_START:
	case STATE_PLAIN_WAIT:
		if (s->mech == SASL_MECH_PLAIN) {
			ret = plain_message(s, &msg);
			break;
		}
		/* LOGIN with an initial response: the user name */
		/* fall through */
	case STATE_LOGIN_USER:
		if (msg.used == 0 || msg.used > SASL_MAX_NAME ||
		    memchr(msg.data, '\0', msg.used) != NULL)
			break;
		s->authcid = i_strndup(msg.data, msg.used);
		s->state = STATE_LOGIN_PASS;
		*challenge_r = LOGIN_PASS_PROMPT;
		ret = SASL_CONTINUE;
		break;
	case STATE_LOGIN_PASS:
		if (msg.used == 0 || msg.used > SASL_MAX_PASSWORD ||
		    memchr(msg.data, '\0', msg.used) != NULL)
			break;
		s->password = dup_secret(msg.data, msg.used, &s->password_size);
		ret = SASL_DONE;
		break;
	case STATE_DONE:
	case STATE_FAILED:
		break;
	}
out:
	if (msg.data != NULL)
		explicit_bzero(msg.data, msg.alloc);
	buf_free(&msg);
	if (ret == SASL_DONE)
		s->state = STATE_DONE;
	else if (ret == SASL_MALFORMED)
		s->state = STATE_FAILED;
	return ret;
}

const char *sasl_server_authcid(const struct sasl_server *s)
{
	return s->authcid != NULL ? s->authcid : "";
}

const char *sasl_server_password(const struct sasl_server *s)
{
	return s->password != NULL ? s->password : "";
}

const char *sasl_server_authzid(const struct sasl_server *s)
{
	return s->authzid != NULL ? s->authzid : "";
}

bool sasl_server_authzid_ok(const struct sasl_server *s)
{
	/* RFC 4616 2: an empty authzid means "derive it from authcid" */
	return s->authzid == NULL || s->authzid[0] == '\0' ||
	       i_strcasecmp(s->authzid, sasl_server_authcid(s)) == 0;
}
