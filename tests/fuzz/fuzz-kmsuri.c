/*
 * fuzz-kmsuri.c: libFuzzer harness for the provider-URI attribute parser
 * (kms-client/kmsuri.c), which reads the KMS URI of a not yet authenticated
 * config. The input is an attribute list; every separator and a few names are
 * tried. None may crash; an accepted value is NUL-terminated within its cap
 * and holds no control byte.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "kmsuri.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "ca", "cert", "key", "token", "object",
					     "module-path", "pin-source", NULL };
	static const char seps[] = { '&', ';' };
	char out[64];

	for (size_t s = 0; s < sizeof(seps); s++) {
		(void)kms_uri_known((const char *)data, size, seps[s], names, "fuzz");
		for (size_t k = 0; names[k]; k++) {
			if (kms_uri_attr((const char *)data, size, seps[s], names[k], out,
					 sizeof(out)) != 0)
				continue;
			for (size_t i = 0; out[i]; i++)
				if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
					__builtin_trap();
		}
	}
	return 0;
}
