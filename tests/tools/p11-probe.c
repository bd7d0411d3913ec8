/*
 * p11-probe.c: the pkcs11 provider's key lifecycle against a real token,
 * through kms.h only, as TAP (run by tests/sh/pkcs11.sh, not by itself).
 * Usage: p11-probe URI   (a pkcs11: URI whose token holds a KEK; with
 * mechanism=aes-kwp the AAD is not bound, and the probe checks just that).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kms.h"

#define SECRET_LEN 32

static int t_num, t_fail;

static void check(int cond, const char *what)
{
	t_num++;
	if (!cond)
		t_fail++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", t_num, what);
}

static int wrap(struct kms *k, const char *aad, const uint8_t *secret, uint8_t *blob,
		size_t *len)
{
	*len = KMS_BLOB_MAX;
	return kms_wrap(k, aad, strlen(aad), secret, SECRET_LEN, blob, len);
}

static int unwrap(struct kms *k, const char *aad, const uint8_t *blob, size_t len,
		  uint8_t *out)
{
	memset(out, 0, SECRET_LEN);
	return kms_unwrap(k, aad, strlen(aad), blob, len, out, SECRET_LEN);
}

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int blob_names(struct kms *k, const uint8_t *blob, size_t len, const char *id)
{
	char got[KMS_KEY_ID_MAX];

	return kms_blob_key_id(k, blob, len, got, sizeof(got)) == 0 && !strcmp(got, id);
}

/* Wrong AAD, flipped tag, flipped mechanism byte, truncation. */
static void tamper(struct kms *k, int kwp, const uint8_t *blob, size_t len, uint8_t *out)
{
	uint8_t bad[KMS_BLOB_MAX];

	if (kwp)
		check(unwrap(k, "another volume", blob, len, out) == 0,
		      "aes-kwp binds no AAD (documented: the config MAC catches a moved slot)");
	else
		check(unwrap(k, "another volume", blob, len, out) == -EKEYREJECTED &&
		      is_zero(out, SECRET_LEN), "wrong AAD is -EKEYREJECTED, nothing written");
	memcpy(bad, blob, len);
	bad[len - 1] ^= 1;
	check(unwrap(k, "vol-1", bad, len, out) == -EKEYREJECTED && is_zero(out, SECRET_LEN),
	      "flipped last byte is -EKEYREJECTED, nothing written");
	memcpy(bad, blob, len);
	bad[1] ^= 3;   /* GCM (1) <-> KWP (2) */
	check(unwrap(k, "vol-1", bad, len, out) == -EKEYREJECTED, "flipped mechanism is refused");
	check(unwrap(k, "vol-1", blob, len - 1, out) == -EKEYREJECTED, "truncated blob is refused");
}

static void lifecycle(struct kms *k, const char *uri, const uint8_t *secret,
		      const uint8_t *old_blob, size_t old_len)
{
	struct kms_key_info info, old_info;
	char old_id[KMS_KEY_ID_MAX], new_id[KMS_KEY_ID_MAX];
	uint8_t blob[KMS_BLOB_MAX], out[SECRET_LEN];
	size_t len = 0;
	struct kms *k2 = NULL;

	snprintf(old_id, sizeof(old_id), "%s", kms_key_id(k));
	check(kms_describe(k, NULL, &old_info) == 0 && !strcmp(old_info.id, old_id) &&
	      !strcmp(old_info.state, "active"), "describe: current key is active");
	check(kms_health(k) == 0, "health: token answers and the KEK wraps");
	check(kms_create_key(k, new_id, sizeof(new_id)) == 0 && strcmp(new_id, old_id) != 0 &&
	      !strcmp(kms_key_id(k), new_id), "create_key: a new id becomes current");
	check(kms_describe(k, new_id, &info) == 0 && info.version == old_info.version + 1 &&
	      !strcmp(info.state, "active"), "describe: the new key is active, version old + 1");
	check(unwrap(k, "vol-1", old_blob, old_len, out) == 0 && !memcmp(out, secret, SECRET_LEN),
	      "the old blob still unwraps after create_key");
	check(wrap(k, "vol-1", secret, blob, &len) == 0 && blob_names(k, blob, len, new_id),
	      "new wraps name the new key");
	check(kms_retire_key(k, new_id) == -EBUSY, "retire_key refuses the current key");
	check(kms_retire_key(k, old_id) == 0, "retire_key(old) succeeds");
	check(kms_describe(k, old_id, &info) == 0 && !strcmp(info.state, "deactivated"),
	      "describe: the retired key is deactivated");
	check(unwrap(k, "vol-1", old_blob, old_len, out) == 0 && !memcmp(out, secret, SECRET_LEN),
	      "a retired key still unwraps its old blobs");
	check(kms_open(uri, NULL, &k2) == 0 && !strcmp(kms_key_id(k2), new_id),
	      "a second handle (same module) picks the newest active key");
	kms_close(k2);
	check(kms_health(k) == 0, "the first handle still works after the second closed");
}

int main(int argc, char **argv)
{
	uint8_t secret[SECRET_LEN], blob[KMS_BLOB_MAX], out[SECRET_LEN];
	size_t len = 0;
	struct kms *k = NULL;
	int kwp;

	if (argc != 2) {
		fprintf(stderr, "usage: p11-probe pkcs11:URI\n");
		return 2;
	}
	kwp = strstr(argv[1], "mechanism=aes-kwp") != NULL;
	printf("1..20\n");
	for (size_t i = 0; i < SECRET_LEN; i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	check(kms_open(argv[1], NULL, &k) == 0 && !strcmp(kms_provider_name(k), "pkcs11"),
	      "open the pkcs11 provider");
	if (!k)
		return 1;
	check(!strncmp(kms_key_id(k), "pkcs11:", 7), "key id names the provider");
	check(wrap(k, "vol-1", secret, blob, &len) == 0 && len <= KMS_BLOB_MAX &&
	      blob_names(k, blob, len, kms_key_id(k)), "wrap; the blob names the current key");
	check(unwrap(k, "vol-1", blob, len, out) == 0 && !memcmp(out, secret, SECRET_LEN),
	      "unwrap gives back the secret");
	tamper(k, kwp, blob, len, out);
	lifecycle(k, argv[1], secret, blob, len);
	kms_close(k);
	return t_fail ? 1 : 0;
}
