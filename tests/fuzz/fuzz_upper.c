/*
 * fuzz_upper.c - the upper module: ASCII a-z become A-Z, every other byte
 * is unchanged, nothing is added or stripped (fuzz_bytewise).
 */
#include "config.h"

#include "fuzz.h"

static void *upper;

static uint8_t
upper_want(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	upper = fuzz_instance(&module_upper, "", NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_bytewise(&module_upper, upper, data, size, upper_want);
	return 0;
}
