/*
 * kms-probe.c: drives a KMS provider's whole key lifecycle against a live
 * peer and prints TAP (run by tests/sh/kmip.sh; not a test by itself, since
 * it needs the peer). Usage: kms-probe URI
 *
 * open (creating the key) → wrap/unwrap round trip → wrong AAD and tampered
 * blob refused (-EKEYREJECTED) → describe (active) and health → create_key
 * gives a new id → old blobs still unwrap under their own key, new ones name
 * the new key → a fresh open picks the new key → retire_key(old) → old blobs
 * then fail cleanly, new ones still unwrap. Prints the mean time per wrap
 * and unwrap as a TAP comment.
 *
 * kms-probe --pause URI: wraps, prints "# paused" and waits for a line on
 * stdin (meanwhile the test restarts the server), then unwraps and wraps
 * again on the same handle: the dropped connection must be reopened.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kms.h"

#define SECRET_LEN 32
#define TIMED_OPS 20

static int n_test, n_fail;

static void check(int cond, const char *what)
{
	n_test++;
	if (!cond)
		n_fail++;
	printf("%sok %d - %s\n", cond ? "" : "not ", n_test, what);
	fflush(stdout);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct wrapped {
	uint8_t blob[KMS_BLOB_MAX];
	size_t len;
};

static int wrap(struct kms *k, const char *aad, const uint8_t *secret, struct wrapped *w)
{
	w->len = sizeof(w->blob);
	return kms_wrap(k, aad, strlen(aad), secret, SECRET_LEN, w->blob, &w->len);
}

static int unwrap_equals(struct kms *k, const char *aad, const struct wrapped *w,
			 const uint8_t *secret)
{
	uint8_t out[SECRET_LEN] = { 0 };
	int ret = kms_unwrap(k, aad, strlen(aad), w->blob, w->len, out, sizeof(out));

	if (!ret && memcmp(out, secret, SECRET_LEN) != 0)
		ret = -EBADMSG;
	memset(out, 0, sizeof(out));
	return ret;
}

static void timing(struct kms *k, const uint8_t *secret)
{
	struct wrapped w;
	double t0 = now_ms(), t1;
	int bad = 0;

	for (int i = 0; i < TIMED_OPS; i++)
		bad |= wrap(k, "timing", secret, &w);
	t1 = now_ms();
	for (int i = 0; i < TIMED_OPS; i++)
		bad |= unwrap_equals(k, "timing", &w, secret);
	check(!bad, "20 wraps and 20 unwraps on one connection");
	printf("# %.2f ms per wrap, %.2f ms per unwrap\n", (t1 - t0) / TIMED_OPS,
	       (now_ms() - t1) / TIMED_OPS);
}

static void blob_names(struct kms *k, const struct wrapped *w, const char *id, const char *what)
{
	char got[KMS_KEY_ID_MAX + 1];

	check(kms_blob_key_id(k, w->blob, w->len, got, sizeof(got)) == 0 && strcmp(got, id) == 0,
	      what);
}

/* After create_key and retire_key: old blobs keep their key until it is retired. */
static void rotation(const char *uri, struct kms *k, const uint8_t *secret,
		     const struct wrapped *old, const char *old_id)
{
	struct kms_opts none = { 0 };
	struct kms_key_info info;
	struct kms *again = NULL;
	char new_id[KMS_KEY_ID_MAX + 1];
	struct wrapped neww;
	int ret;

	check(kms_create_key(k, new_id, sizeof(new_id)) == 0 && strcmp(new_id, old_id) != 0 &&
	      strcmp(kms_key_id(k), new_id) == 0, "create_key makes a new current key");
	check(unwrap_equals(k, "probe", old, secret) == 0, "a blob wrapped before create_key still unwraps");
	check(wrap(k, "probe", secret, &neww) == 0, "wrap under the new key");
	blob_names(k, &neww, new_id, "the new blob names the new key");
	check(kms_open(uri, &none, &again) == 0 && strcmp(kms_key_id(again), new_id) == 0,
	      "a fresh open picks the newest active key");
	kms_close(again);
	ret = kms_retire_key(k, "kmip:no-such-key");
	check(ret == -ENOKEY, "retiring an unknown key: -ENOKEY");
	check(kms_retire_key(k, old_id) == 0, "retire_key revokes the old key");
	check(kms_describe(k, old_id, &info) == 0 && strcmp(info.state, "active") != 0,
	      "the retired key is no longer active");
	printf("# retired key state: %s\n", info.state);
	ret = unwrap_equals(k, "probe", old, secret);
	check(ret < 0, "a blob of the retired key no longer unwraps");
	printf("# unwrap under the retired key: %s\n", strerror(-ret));
	check(unwrap_equals(k, "probe", &neww, secret) == 0, "the new blob still unwraps");
	check(kms_health(k) == 0, "health after rotation");
}

static int pause_mode(const char *uri, const uint8_t *secret)
{
	struct kms_opts none = { 0 };
	struct wrapped w, w2;
	struct kms *k = NULL;
	char line[16];

	printf("1..2\n");
	check(kms_open(uri, &none, &k) == 0 && wrap(k, "pause", secret, &w) == 0,
	      "open and wrap before the server restarts");
	printf("# paused\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		printf("# no resume line\n");
	check(k && unwrap_equals(k, "pause", &w, secret) == 0 && wrap(k, "pause", secret, &w2) == 0,
	      "the same handle unwraps and wraps after the restart (reconnected)");
	kms_close(k);
	return n_fail ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct kms_opts create = { .create = 1 };
	uint8_t secret[SECRET_LEN];
	struct kms_key_info info;
	struct kms *k = NULL;
	char old_id[KMS_KEY_ID_MAX + 1];
	struct wrapped w, bad;
	int ret;

	for (size_t i = 0; i < sizeof(secret); i++)
		secret[i] = (uint8_t)(i * 7 + 1);
	if (argc == 3 && strcmp(argv[1], "--pause") == 0)
		return pause_mode(argv[2], secret);
	if (argc != 2) {
		fprintf(stderr, "usage: kms-probe [--pause] URI\n");
		return 2;
	}
	printf("1..20\n");
	ret = kms_open(argv[1], &create, &k);
	check(ret == 0, "open (creating the key when absent)");
	if (ret) {
		printf("Bail out! cannot open %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	snprintf(old_id, sizeof(old_id), "%s", kms_key_id(k));
	check(strncmp(old_id, "kmip:", 5) == 0, "key id is kmip:<unique identifier>");
	check(wrap(k, "probe", secret, &w) == 0 && unwrap_equals(k, "probe", &w, secret) == 0,
	      "wrap/unwrap round trip");
	check(unwrap_equals(k, "other", &w, secret) == -EKEYREJECTED,
	      "unwrap with another AAD: -EKEYREJECTED");
	bad = w;
	bad.blob[bad.len - 20] ^= 1;
	check(unwrap_equals(k, "probe", &bad, secret) == -EKEYREJECTED,
	      "unwrap of a tampered blob: -EKEYREJECTED");
	blob_names(k, &w, old_id, "blob_key_id names the wrapping key");
	check(kms_describe(k, NULL, &info) == 0 && strcmp(info.state, "active") == 0 &&
	      info.created > 0 && strcmp(info.id, old_id) == 0, "describe: the current key is active");
	check(kms_health(k) == 0, "health");
	timing(k, secret);
	rotation(argv[1], k, secret, &w, old_id);
	kms_close(k);
	return n_fail ? 1 : 0;
}
