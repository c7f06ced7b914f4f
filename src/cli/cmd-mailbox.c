/*
 * tern mailbox rebuild|list: a user's mailboxes as an administrator sees
 * them, through the mailbox store (src/store/mailbox.h). rebuild makes the
 * index again from the Maildir alone (docs/store.md "Rebuild"); list shows
 * the folders with their counts. Both work while the server runs: the
 * index is shared through SQLite's locking and a running server's sessions
 * notice a rebuild at their next command.
 */
#include "lib.h"
#include "cli.h"
#include "cli-common.h"
#include "accounts.h"
#include "arena.h"
#include "buf.h"
#include "fs.h"
#include "json.h"
#include "mailbox.h"
#include "maildir.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char usage_text[] =
	"usage: tern mailbox rebuild [-c FILE | --dev] ADDRESS\n"
	"           rebuild the user's mailbox index from the Maildir (all folders),\n"
	"           keeping UIDs where the Maildir's file names allow\n"
	"       tern mailbox list [-c FILE | --dev] [--json] ADDRESS\n"
	"           the user's folders: messages, unseen, size, UIDVALIDITY, UIDNEXT\n";

static int exit_code(const struct mail_error *error)
{
	fprintf(stderr, "tern: %s\n", error->text);
	return error->code == MAIL_ERROR_NOTFOUND ? EX_NOUSER :
		error->code == MAIL_ERROR_PARAMS ? EX_USAGE : 1;
}

static int mailbox_rebuild(struct mail_store *store, const char *address)
{
	struct mail_rebuild_stats stats;
	struct mail_error error;

	if (mail_user_rebuild(store, address, &stats, &error) < 0)
		return exit_code(&error);
	printf("rebuilt %s: %u folder%s, %u message%s, %u new UID%s, %u new UIDVALIDITY\n",
	       address, stats.folders, stats.folders == 1 ? "" : "s", stats.messages,
	       stats.messages == 1 ? "" : "s", stats.new_uids, stats.new_uids == 1 ? "" : "s",
	       stats.new_uidvalidity);
	return 0;
}

static const char *special_names(struct arena *arena, unsigned int bits)
{
	const char *out = "";
	unsigned int bit;

	for (bit = 1; bit <= MAIL_SPECIAL_TRASH; bit <<= 1) {
		const char *name = (bits & bit) != 0 ? mail_special_use_name(bit) : NULL;

		if (name != NULL)
			out = arena_printf(arena, "%s%s%s", out, *out == '\0' ? "" : " ", name);
	}
	return out;
}

static int mailbox_list(struct mail_store *store, const char *address, bool json)
{
	struct arena *arena = arena_new(0);
	struct mail_user *user = NULL;
	struct mail_error error;
	struct mail_folder_info *folders;
	struct json_writer j;
	unsigned int count, i;
	buf_t out;
	int ret = 0;

	if (mail_user_open(store, address, &user, &error) < 0 ||
	    mail_folder_list(user, arena, &folders, &count, &error) < 0) {
		if (user != NULL)
			mail_user_unref(&user);
		arena_free(&arena);
		return exit_code(&error);
	}
	buf_init(&out, BUF_MAX_UNLIMITED);
	json_writer_init(&j, &out, true);
	if (json)
		json_array_begin(&j);
	else
		printf("%-30s %8s %8s %12s %11s %8s  %s\n", "FOLDER", "MESSAGES", "UNSEEN", "SIZE",
		       "UIDVALIDITY", "UIDNEXT", "ATTRIBUTES");
	for (i = 0; i < count; i++) {
		struct mail_status st;
		const struct mail_folder_info *f = &folders[i];
		bool exists = (f->flags & MAIL_FOLDER_NONEXISTENT) == 0;
		const char *attrs = special_names(arena, f->special_use);

		memset(&st, 0, sizeof(st));
		if (exists &&
		    mail_folder_status(user, f->name, MAIL_STATUS_MESSAGES | MAIL_STATUS_UNSEEN |
				       MAIL_STATUS_SIZE | MAIL_STATUS_UIDVALIDITY |
				       MAIL_STATUS_UIDNEXT, &st, &error) < 0) {
			fprintf(stderr, "tern: %s: %s\n", f->name, error.text);
			ret = 1;
			continue;
		}
		if ((f->flags & MAIL_FOLDER_SUBSCRIBED) != 0)
			attrs = arena_printf(arena, "%s%s\\Subscribed", attrs, *attrs == '\0' ? "" : " ");
		if (!exists)
			attrs = arena_printf(arena, "%s%s\\NonExistent", attrs,
					     *attrs == '\0' ? "" : " ");
		if (json) {
			json_object_begin(&j);
			json_key(&j, "name");
			json_string(&j, f->name);
			json_key(&j, "exists");
			json_bool(&j, exists);
			json_key(&j, "subscribed");
			json_bool(&j, (f->flags & MAIL_FOLDER_SUBSCRIBED) != 0);
			json_key(&j, "special_use");
			json_string(&j, special_names(arena, f->special_use));
			json_key(&j, "messages");
			json_uint(&j, st.messages);
			json_key(&j, "unseen");
			json_uint(&j, st.unseen);
			json_key(&j, "size");
			json_uint(&j, st.size);
			json_key(&j, "uidvalidity");
			json_uint(&j, st.uidvalidity);
			json_key(&j, "uidnext");
			json_uint(&j, st.uidnext);
			json_object_end(&j);
		} else if (exists) {
			printf("%-30s %8u %8u %12llu %11u %8u  %s\n", f->name, st.messages, st.unseen,
			       (unsigned long long)st.size, st.uidvalidity, st.uidnext, attrs);
		} else {
			printf("%-30s %8s %8s %12s %11s %8s  %s\n", f->name, "-", "-", "-", "-", "-",
			       attrs);
		}
	}
	if (json) {
		json_array_end(&j);
		(void)json_writer_finish(&j);
		fwrite(out.data, 1, buf_len(&out), stdout);
		putchar('\n');
	} else {
		(void)json_writer_finish(&j);
	}
	buf_free(&out);
	mail_user_unref(&user);
	arena_free(&arena);
	return ret;
}

int cmd_mailbox(int argc, char **argv)
{
	struct mail_store_settings sset;
	struct mail_store *store;
	struct mail_error error;
	struct tern_settings *set;
	struct arena *arena;
	struct cli_opts opts;
	const char *address;
	char *root;
	struct stat st;
	bool json = false;
	int i, ret;

	if (cli_take_opts(&argc, argv, &opts) < 0) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	for (i = 1; i < argc && !opts.help; i++)
		opts.help = strcmp(argv[i], "-h") == 0 || (i == 1 && strcmp(argv[i], "help") == 0);
	if (opts.help) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0 && strcmp(argv[1], "list") == 0) {
			json = true;
			memmove(&argv[i], &argv[i + 1], sizeof(*argv) * (size_t)(argc - i));
			argc--;
			i--;
		}
	}
	if (argc != 3 || (strcmp(argv[1], "rebuild") != 0 && strcmp(argv[1], "list") != 0) ||
	    (opts.dev && opts.config_path != NULL)) {
		fputs(usage_text, stderr);
		return EX_USAGE;
	}
	arena = arena_new(0);
	address = accounts_normalize(arena, argv[2]);
	if (address == NULL) {
		fprintf(stderr, "tern: not an address: %s\n", argv[2]);
		arena_free(&arena);
		return EX_USAGE;
	}
	if ((set = cli_settings(&opts)) == NULL) {
		arena_free(&arena);
		return EX_CONFIG;
	}
	/* never make a mailbox for a mistyped address */
	root = maildir_path_for(set->data_dir, address);
	if (root == NULL || stat(root, &st) < 0) {
		fprintf(stderr, "tern: no mailbox for %s\n", address);
		free(root);
		settings_free(&set);
		arena_free(&arena);
		return EX_NOUSER;
	}
	free(root);
	memset(&sset, 0, sizeof(sset));
	sset.data_dir = set->data_dir;
	sset.no_background_thread = true;
	if (mail_store_create(&sset, &store, &error) < 0) {
		ret = exit_code(&error);
	} else {
		ret = strcmp(argv[1], "rebuild") == 0 ? mailbox_rebuild(store, address) :
			mailbox_list(store, address, json);
		mail_store_destroy(&store);
	}
	settings_free(&set);
	arena_free(&arena);
	return ret;
}
