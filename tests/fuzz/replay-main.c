/*
 * Replays a fuzz target's corpus without libFuzzer: every file given (or
 * every file in a directory given) is passed once to LLVMFuzzerTestOneInput.
 * CI uses this so every target runs over its seeds in every build, and under
 * `make asan` with the sanitizers on.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int main(int argc, char **argv);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	long size;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	/* exact-size heap copy so ASan catches any read past the input */
	data = malloc(size == 0 ? 1 : (size_t)size);
	if (data == NULL || fread(data, 1, (size_t)size, f) != (size_t)size) {
		fclose(f);
		free(data);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, (size_t)size);
	free(data);
	return 0;
}

int main(int argc, char **argv)
{
	int i, count = 0, failed = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			perror(argv[i]);
			return 1;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *dir = opendir(argv[i]);
			struct dirent *d;

			if (dir == NULL) {
				perror(argv[i]);
				return 1;
			}
			while ((d = readdir(dir)) != NULL) {
				char path[4096];

				if (d->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], d->d_name);
				if (replay_file(path) < 0)
					failed++;
				count++;
			}
			closedir(dir);
		} else {
			if (replay_file(argv[i]) < 0)
				failed++;
			count++;
		}
	}
	printf("replayed %d inputs, %d unreadable\n", count, failed);
	return failed == 0 && count > 0 ? 0 : 1;
}
