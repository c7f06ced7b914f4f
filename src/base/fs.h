#ifndef TERN_FS_H
#define TERN_FS_H

#include "lib.h"

/* Small file-system helpers shared by the stores and the programs. */

/* write(2) all of data, retrying on EINTR and short writes. 0, or -1 with errno. */
int fs_write_full(int fd, const void *data, size_t size);

/* mkdir -p: missing parents get parent_mode, path itself mode; existing
   directories are fine. 0, or -1 with errno and *failed_r (when not NULL)
   set to the malloc'd path that could not be made (caller frees). */
int fs_mkdir_parents(const char *path, mode_t parent_mode, mode_t mode, char **failed_r);

/* fsync a directory (after a rename or create in it). 0, or -1 with errno. */
int fs_fsync_dir(const char *path);

/*
 * Changing owners and modes safely. Code running as root that changes an
 * entry inside a directory somebody else owns (data_dir belongs to the
 * server's user) must never do it by path: between a check and a
 * chown()/chmod() by name the owner of the directory can put a symlink
 * there and make root change its target. These work on descriptors opened
 * with O_NOFOLLOW, so a check and a change concern one and the same inode.
 */

/* Open parent_fd/name as a directory, making it first (with mode, umask
   applied) when missing, without following a symlink at name: a symlink
   planted there fails (ELOOP or ENOTDIR) instead of leading elsewhere.
   Returns the descriptor (O_CLOEXEC; the caller closes it), or -1 with
   errno (ENOTDIR: name is something other than a directory). */
int fs_dir_open_at(int parent_fd, const char *name, mode_t mode);

/* The file open on fd gets owner and group (-1 for either: left as it
   is) and exactly the permission bits mode (07777), through fchown() and
   fchmod(), each only when it differs. The umask has no say. 0, or -1
   with errno. */
int fs_fd_set_owner_mode(int fd, uid_t owner, gid_t group, mode_t mode);

#endif
