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

#endif
