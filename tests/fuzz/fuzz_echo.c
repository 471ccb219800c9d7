/*
 * fuzz_echo.c - the echo module: the reply is the request, byte for byte,
 * whenever it fits (fuzz_bytewise).
 */
#include "config.h"

#include "fuzz.h"

static void *echo;

static uint8_t
echo_want(uint8_t c)
{
	return c;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	echo = fuzz_instance(&module_echo, "", NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_bytewise(&module_echo, echo, data, size, echo_want);
	return 0;
}
