/*
 * replay.c - a main() for a fuzz target without libFuzzer: calls
 * LLVMFuzzerInitialize once, then LLVMFuzzerTestOneInput once on every
 * file named on the command line, or in a directory named there.  make
 * check builds one per target and replays the seed corpora and the saved
 * crashes (tests/fuzz/replay.sh): a broken invariant aborts, and fails.
 */
#include "config.h"

#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The target's entry points (fuzz.h). */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* Reads path whole into a heap copy of exactly its size (so ASan sees a
 * read past the input); returns 0, or -1 with errno. */
static int
replay_read(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t got;

	*data = NULL;
	if (f == NULL)
		return -1;
	if (fstat(fileno(f), &st) < 0 ||
	    (*data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1)) == NULL) {
		fclose(f);
		return -1;
	}
	got = fread(*data, 1, (size_t)st.st_size, f);
	fclose(f);
	if (got != (size_t)st.st_size) {
		free(*data);
		errno = EIO;
		return -1;
	}
	*len = got;
	return 0;
}

static int
replay_file(const char *path)
{
	uint8_t *data;
	size_t len;

	if (replay_read(path, &data, &len) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("replay %s (%zu bytes)\n", path, len);
	fflush(stdout);		/* the last line names the input that aborts */
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

/* Every regular file of dir (not recursive); returns the count or -1. */
static int
replay_dir(const char *dir)
{
	struct dirent *e;
	char path[4096];
	int n = 0;
	DIR *d = opendir(dir);

	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) < 0) {
			n = -1;
			break;
		}
		n++;
	}
	closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	int total = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat st;
		int n;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		n = S_ISDIR(st.st_mode) ? replay_dir(argv[i]) :
		    replay_file(argv[i]) == 0 ? 1 : -1;
		if (n < 0)
			return 1;
		total += n;
	}
	printf("%d input(s) replayed\n", total);
	return 0;
}
