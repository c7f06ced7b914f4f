#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static __thread char priv_error[256];

int privileges_lookup(const char *user, uid_t *uid_r, gid_t *gid_r, const char **error_r)
{
	struct passwd pw, *result = NULL;
	char *buffer;
	long size = sysconf(_SC_GETPW_R_SIZE_MAX);
	int ret;

	if (size <= 0)
		size = 16384;
	buffer = i_malloc((size_t)size);
	ret = getpwnam_r(user, &pw, buffer, (size_t)size, &result);
	if (ret != 0 || result == NULL) {
		snprintf(priv_error, sizeof(priv_error), "user %s: %s", user,
			 ret != 0 ? strerror(ret) : "no such user");
		*error_r = priv_error;
		i_free(buffer);
		return -1;
	}
	*uid_r = pw.pw_uid;
	*gid_r = pw.pw_gid;
	i_free(buffer);
	return 0;
}

int privileges_drop(const char *user, const char **error_r)
{
	uid_t uid;
	gid_t gid;

	if (privileges_lookup(user, &uid, &gid, error_r) < 0)
		return -1;
	if (uid == 0) {
		snprintf(priv_error, sizeof(priv_error), "user %s: is root", user);
		*error_r = priv_error;
		return -1;
	}
	/* groups first: after setuid() they can no longer be changed */
	if (initgroups(user, gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		snprintf(priv_error, sizeof(priv_error), "cannot become user %s: %s",
			 user, strerror(errno));
		*error_r = priv_error;
		return -1;
	}
	/* paranoia, as Postfix's set_ugid(): root must be gone for good */
	if (setuid(0) == 0 || geteuid() != uid || getegid() != gid) {
		snprintf(priv_error, sizeof(priv_error), "user %s: root privileges were not dropped",
			 user);
		*error_r = priv_error;
		return -1;
	}
	return 0;
}
