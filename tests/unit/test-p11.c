/* test-p11.c: the pkcs11 provider's pure parts — URI (kms-client/p11_uri.c),
 * blob layout and key ids (p11_blob.c) — and its refusals before any token
 * is touched (pkcs11.c, p11_module.c). The token itself: tests/sh/pkcs11.sh. */
#include "config.h"

#include <errno.h>
#include <sys/stat.h>
#include "testutil.h"
#include "kms.h"
#include "p11_blob.h"
#include "p11_uri.h"

#define Q "?module-path=/usr/lib/m.so&pin-source=file:/etc/phifs/pin"

static void test_uri_good(void **state)
{
	struct p11_uri u;

	(void)state;
	assert_int_equal(p11_uri_parse("token=T%20one;object=kek" Q, &u), 0);
	assert_string_equal(u.token, "T one");
	assert_string_equal(u.object, "kek");
	assert_string_equal(u.module, "/usr/lib/m.so");
	assert_string_equal(u.pin_file, "/etc/phifs/pin");
	assert_int_equal(u.mech, P11_MECH_GCM);
	assert_int_equal(p11_uri_parse("object=k;token=T;type=secret-key"
				       "?pin-source=/p&module-path=/m&mechanism=aes-kwp", &u), 0);
	assert_string_equal(u.pin_file, "/p");
	assert_int_equal(u.mech, P11_MECH_KWP);
}

static void test_uri_refused(void **state)
{
	static const char *const bad[] = {
		"token=T;object=kek",                                   /* no query */
		"object=kek" Q,                                          /* no token */
		"token=T" Q,                                             /* no object */
		"token=T;object=" Q,                                     /* empty object */
		"token=T;object=kek;serial=1" Q,                         /* unknown path attr */
		"token=T;object=kek" Q "&pin-value=1234",                /* PIN in the config */
		"token=T;object=kek" Q "&module=x",                      /* unknown query attr */
		"token=T;object=kek" Q "&mechanism=aes-cbc",
		"token=T;object=kek;type=private" Q,
		"token=T;object=kek?module-path=m.so&pin-source=/p",     /* relative module */
		"token=T;object=kek?module-path=/m.so&pin-source=file:p",
		"token=T;object=kek?module-path=/m.so&pin-source=env:PIN",
		"token=T;object=k%c3%a9k" Q,                             /* non-ASCII label */
		"token=0123456789012345678901234567890123;object=kek" Q, /* label > 32 */
		"token=T;token=U;object=kek" Q,                          /* repeated */
	};
	struct p11_uri u;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(p11_uri_parse(bad[i], &u), -EINVAL);
	assert_int_equal(p11_uri_parse(NULL, &u), -EINVAL);
}

static void test_blob_layout(void **state)
{
	static const uint8_t id[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	uint8_t blob[128] = { 0 };
	struct p11_blob b;
	size_t h;

	(void)state;
	assert_int_equal(p11_blob_body_len(P11_MECH_GCM, 32), 12 + 32 + 16);
	assert_int_equal(p11_blob_body_len(P11_MECH_KWP, 32), 40);
	assert_int_equal(p11_blob_body_len(P11_MECH_KWP, 33), 48);
	h = p11_blob_header(P11_MECH_GCM, id, sizeof(id), blob);
	assert_int_equal(h, 11);
	assert_int_equal(blob[0], 1);
	assert_int_equal(blob[1], P11_MECH_GCM);
	assert_int_equal(blob[2], 8);
	assert_int_equal(p11_blob_parse(blob, h + 60, &b), 0);
	assert_int_equal(b.mech, P11_MECH_GCM);
	assert_int_equal(b.id_len, 8);
	assert_memory_equal(b.id, id, 8);
	assert_int_equal(b.header_len, 11);
	assert_ptr_equal(b.body, blob + 11);
	assert_int_equal(b.body_len, 60);
	h = p11_blob_header(P11_MECH_KWP, NULL, 0, blob);
	assert_int_equal(p11_blob_parse(blob, h + 40, &b), 0);
	assert_int_equal(b.id_len, 0);
}

static void test_blob_refused(void **state)
{
	uint8_t blob[128] = { 1, P11_MECH_GCM, 0 };
	struct p11_blob b;

	(void)state;
	assert_int_equal(p11_blob_parse(blob, 2, &b), -EKEYREJECTED);
	assert_int_equal(p11_blob_parse(blob, 3 + 28, &b), -EKEYREJECTED);   /* no ciphertext */
	assert_int_equal(p11_blob_parse(blob, 3 + 29, &b), 0);
	blob[0] = 2;                                                        /* format */
	assert_int_equal(p11_blob_parse(blob, 64, &b), -EKEYREJECTED);
	blob[0] = 1;
	blob[1] = 3;                                                        /* mechanism */
	assert_int_equal(p11_blob_parse(blob, 64, &b), -EKEYREJECTED);
	blob[1] = P11_MECH_KWP;
	assert_int_equal(p11_blob_parse(blob, 3 + 20, &b), -EKEYREJECTED); /* not 8n */
	assert_int_equal(p11_blob_parse(blob, 3 + 24, &b), 0);
	blob[2] = 9;                                                        /* id > 8 */
	assert_int_equal(p11_blob_parse(blob, 64, &b), -EKEYREJECTED);
	blob[2] = 8;
	assert_int_equal(p11_blob_parse(blob, 10, &b), -EKEYREJECTED);     /* id cut */
}

static void test_key_ids(void **state)
{
	static const uint8_t id[8] = { 0, 0, 0, 0, 0, 0, 1, 0x2a };
	uint8_t back[8];
	size_t n = 99;
	char s[KMS_KEY_ID_MAX];

	(void)state;
	assert_int_equal(p11_key_id_format("kek", id, 8, s, sizeof(s)), 0);
	assert_string_equal(s, "pkcs11:kek/000000000000012a");
	assert_int_equal(p11_key_id_parse(s, "kek", back, &n), 0);
	assert_int_equal(n, 8);
	assert_memory_equal(back, id, 8);
	assert_int_equal(p11_id_version(back, n), 298);
	p11_id_of_version(298, back);
	assert_memory_equal(back, id, 8);
	assert_int_equal(p11_key_id_format("a/b", NULL, 0, s, sizeof(s)), 0);
	assert_string_equal(s, "pkcs11:a/b/-");
	assert_int_equal(p11_key_id_parse(s, "a/b", back, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(p11_id_version(back, 0), 0);
	assert_int_equal(p11_key_id_parse("pkcs11:kek/00", "other", back, &n), -ENOKEY);
	assert_int_equal(p11_key_id_parse("pkcs11:kek/0", "kek", back, &n), -ENOKEY);
	assert_int_equal(p11_key_id_parse("pkcs11:kek/zz", "kek", back, &n), -ENOKEY);
	assert_int_equal(p11_key_id_parse("pkcs11:kek/", "kek", back, &n), -ENOKEY);
	assert_int_equal(p11_key_id_parse("pkcs11:kek/000000000000000001", "kek", back, &n),
			 -ENOKEY);
	assert_int_equal(p11_key_id_parse("local:kek/00", "kek", back, &n), -ENOKEY);
	assert_int_equal(p11_key_id_format("kek", id, 8, s, 20), -ERANGE);
}

static void put_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void uri_for(char *uri, size_t cap, const char *mod, const char *pin)
{
	snprintf(uri, cap, "pkcs11:token=T;object=kek?module-path=%s&pin-source=file:%s", mod,
		 pin);
}

/* Refusals before any token is used, through kms.h. */
static void test_open_refusals(void **state)
{
	char dir[] = "/tmp/phifs-p11-XXXXXX", pin[64], mod[64], uri[256];
	struct kms *k = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(pin, sizeof(pin), "%s/pin", dir);
	snprintf(mod, sizeof(mod), "%s/mod.so", dir);
	put_file(pin, "1234\n", 0600);
	uri_for(uri, sizeof(uri), mod, pin);
	assert_int_equal(kms_open(uri, NULL, &k), -ENOENT);          /* no module */
	assert_int_equal(chmod(pin, 0640), 0);
	assert_int_equal(kms_open(uri, NULL, &k), -EACCES);          /* readable PIN file */
	assert_int_equal(chmod(pin, 0600), 0);
	put_file(mod, "not a module", 0666);
	assert_int_equal(kms_open(uri, NULL, &k), -EACCES);          /* writable module */
	assert_int_equal(chmod(mod, 0644), 0);
	assert_int_equal(kms_open(uri, NULL, &k), -ENOENT);          /* not a module */
	put_file(pin, "", 0600);
	assert_int_equal(kms_open(uri, NULL, &k), -EACCES);          /* empty PIN */
	assert_int_equal(unlink(pin), 0);
	assert_int_equal(kms_open(uri, NULL, &k), -ENOENT);          /* no PIN file */
	assert_int_equal(unlink(mod), 0);
	assert_int_equal(kms_open("pkcs11:token=T;object=kek?module-path=/m&pin-value=1",
				  NULL, &k), -EINVAL);
	assert_null(k);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_good),
		cmocka_unit_test(test_uri_refused),
		cmocka_unit_test(test_blob_layout),
		cmocka_unit_test(test_blob_refused),
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_open_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
