/*
 * APPEND (RFC 9051 6.3.12, RFC 3501 6.3.11) with MULTIAPPEND (RFC 3502),
 * UIDPLUS's APPENDUID (RFC 4315 3), APPENDLIMIT (RFC 7889), literal8
 * messages (RFC 3516 4.4) and UTF8 data (RFC 6855 4).
 *
 * A message literal never sits in memory: as it arrives (on the loop) it
 * is written to an unnamed temporary file (O_TMPFILE in data_dir/tmp);
 * the store job then appends from the file (mail_append(): tmp/, fsync,
 * cur/ with a UID), all messages of one command or none.
 */
#include "imap-common.h"
#include "arena.h"
#include "imap-seqset.h"
#include "imap-util.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

struct imap_append_file {
	struct imap_append_file *next;   /* in session->append_files */
	int fd;
	uint64_t size, written;
	bool binary;
	bool has_nul;
	bool failed;                     /* a write failed */
};

struct append_ctx {
	const char *name;
	struct mail_append_input *inputs;
	unsigned int count;
	uint32_t uidvalidity;
	uint32_t *uids;
};

int imap_append_stream_begin(struct imap_session *session, uint64_t size, bool binary,
			     const char **error_r)
{
	struct imap_append_file *file;
	int fd;

	i_assert(session->append_stream == NULL);
	/* unnamed: nothing to clean up after a crash */
	fd = open(session->server->tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_error("imap", "append temporary file failed session=%s dir=%s error=%s",
			  session->base.id, log_str(session->server->tmp_dir),
			  log_str(strerror(errno)));
		*error_r = "[UNAVAILABLE] Cannot store the message now, try again later";
		return -1;
	}
	file = i_malloc(sizeof(*file));
	file->fd = fd;
	file->size = size;
	file->binary = binary;
	file->next = session->append_files;
	session->append_files = file;
	session->append_stream = file;
	return 0;
}

int imap_append_stream_write(struct imap_session *session, const void *data, size_t size,
			     const char **error_r)
{
	struct imap_append_file *file = session->append_stream;
	const unsigned char *p = data;

	if (!file->binary && memchr(data, '\0', size) != NULL)
		file->has_nul = true;
	while (size > 0 && !file->failed) {
		ssize_t n = write(file->fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			file->failed = true;
			*error_r = strerror(errno);
			return -1;
		}
		p += n;
		size -= (size_t)n;
		file->written += (uint64_t)n;
	}
	return 0;
}

void *imap_append_stream_finish(struct imap_session *session)
{
	struct imap_append_file *file = session->append_stream;

	session->append_stream = NULL;
	return file;
}

void imap_append_stream_abort(struct imap_session *session)
{
	session->append_stream = NULL;
	imap_append_files_free(session);
}

void imap_append_files_free(struct imap_session *session)
{
	struct imap_append_file *file;

	while ((file = session->append_files) != NULL) {
		session->append_files = file->next;
		close(file->fd);
		i_free(file);
	}
}

/* APPEND mailbox 1*(SP [flag-list SP] [date-time SP] (literal / literal8 /
   "UTF8" SP "(" literal8 ")")) */
bool cmd_append(struct imap_command *cmd)
{
	struct append_ctx *ctx = arena_new_type(cmd->arena, struct append_ctx);
	const struct imap_arg *args = cmd->args;
	unsigned int n = cmd->arg_count, i = 1, max = n;

	cmd->ctx = ctx;
	if (n < 2) {
		imap_cmd_bad(cmd, "Usage: APPEND mailbox [(flags)] [date-time] literal");
		return false;
	}
	if ((ctx->name = imap_cmd_mailbox_arg(cmd, &args[0])) == NULL)
		return false;
	ctx->inputs = arena_new_array(cmd->arena, struct mail_append_input, max);
	while (i < n) {
		struct mail_append_input *in = &ctx->inputs[ctx->count];
		const struct imap_arg *msg;
		struct imap_append_file *file;

		in->fd = -1;
		if (args[i].type == IMAP_ARG_LIST) {
			struct imap_flags flags;
			const char *error;

			if (imap_flags_parse(cmd->arena, args[i].list, args[i].count, &flags,
					     &error) < 0) {
				imap_cmd_bad(cmd, "%s", error);
				return false;
			}
			in->flags = flags.system;
			in->keywords = flags.keywords;
			in->keyword_count = flags.keyword_count;
			i++;
		}
		if (i < n && args[i].type == IMAP_ARG_QUOTED) {
			time_t t;
			int tz;

			if (imap_datetime_parse(args[i].str, &t, &tz) < 0) {
				imap_cmd_bad(cmd, "Invalid date-time");
				return false;
			}
			in->has_internal_date = true;
			in->internal_date = t;
			in->tz_offset_min = tz / 60;
			i++;
		}
		if (i + 1 < n && imap_arg_atom(&args[i]) != NULL &&
		    i_strcasecmp(args[i].str, "UTF8") == 0 && args[i + 1].type == IMAP_ARG_LIST &&
		    args[i + 1].count == 1) {
			/* RFC 6855 4 */
			msg = &args[i + 1].list[0];
			i += 2;
		} else if (i < n) {
			msg = &args[i++];
		} else {
			imap_cmd_bad(cmd, "Missing message literal");
			return false;
		}
		if (msg->type != IMAP_ARG_EXTERNAL) {
			imap_cmd_bad(cmd, "The message must be a literal");
			return false;
		}
		file = msg->external;
		if (file->failed) {
			imap_cmd_no(cmd, "[UNAVAILABLE] Cannot store the message now, try again later");
			return false;
		}
		if (file->has_nul) {
			/* RFC 9051 9: only a literal8 may carry NUL */
			imap_cmd_bad(cmd, "NUL in a literal: use literal8 (BINARY)");
			return false;
		}
		in->fd = file->fd;
		in->size = file->size;
		ctx->count++;
	}
	if (ctx->count == 0) {
		imap_cmd_bad(cmd, "Missing message literal");
		return false;
	}
	ctx->uids = arena_new_array(cmd->arena, uint32_t, ctx->count);
	return true;
}

enum imap_run_result cmd_append_run(struct imap_command *cmd)
{
	struct append_ctx *ctx = cmd->ctx;
	struct mail_error error;
	buf_t set;

	if (mail_append(cmd->session->mail_user, ctx->name, ctx->inputs, ctx->count,
			&ctx->uidvalidity, ctx->uids, &error) < 0) {
		if (error.code == MAIL_ERROR_NOTFOUND)
			/* RFC 9051 6.3.12: the client may CREATE and retry */
			imap_cmd_no(cmd, "[TRYCREATE] %s", error.text);
		else
			imap_cmd_mail_error(cmd, &error);
		return IMAP_RUN_DONE;
	}
	/* RFC 4315 3: APPENDUID uidvalidity uid-set */
	buf_init(&set, BUF_MAX_UNLIMITED);
	if (imap_seqset_write_numbers(&set, ctx->uids, ctx->count) < 0)
		i_panic("imap: output buffer full");
	imap_cmd_ok(cmd, "[APPENDUID %u %s] APPEND completed", ctx->uidvalidity, buf_str(&set));
	buf_free(&set);
	return IMAP_RUN_DONE;
}
