/*
 * cmd_info.c: `phifs info [--json] CIPHERDIR` — what a volume is, read from its
 * config without any key: id, format, cipher, key provider and key slots. The
 * config's MAC is not checked here (that needs the key); mount and fsck do.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "common.h"
#include "keytab.h"
#include "volume.h"

/* FORMAT.md §12.1, decoded without keys (its MAC unchecked, like the config's):
 * 1 with *h filled, 0 when the volume has no key table, -errno unreadable. */
static int keytab_read(const char *dir, const struct format_config *c, struct keytab_header *h)
{
	int ret;

	if (!(c->incompat_flags & FORMAT_INCOMPAT_KEYTAB))
		return 0;
	ret = keytab_peek(dir, h);
	return ret ? ret : 1;
}

static void keytab_text(const char *dir, const struct format_config *c)
{
	struct keytab_header h;
	int ret = keytab_read(dir, c, &h);

	if (ret == 0)
		printf("key table:      none (crypto-shredding not enabled)\n");
	else if (ret < 0)
		printf("key table:      unreadable: %s\n", strerror(-ret));
	else
		printf("key table:      epoch %llu, %u slots reserved, %u destroyed (shredded), "
		       "table key wrapped by %s\n", (unsigned long long)h.epoch, h.next_free,
		       h.destroyed, h.kek_id);
}

static void keytab_json(const char *dir, const struct format_config *c, json_object *o)
{
	struct keytab_header h;
	json_object *t;

	if (keytab_read(dir, c, &h) != 1)
		return;
	t = json_object_new_object();
	json_object_object_add(t, "epoch", json_object_new_int64((int64_t)h.epoch));
	json_object_object_add(t, "slots", json_object_new_int64(h.next_free));
	json_object_object_add(t, "destroyed", json_object_new_int64(h.destroyed));
	json_object_object_add(t, "kek_id", json_object_new_string(h.kek_id));
	json_object_object_add(o, "key_table", t);
}

static const char *slot_state(unsigned s)
{
	switch (s) {
	case FORMAT_SLOT_ACTIVE: return "active";
	case FORMAT_SLOT_RETIRING: return "retiring";
	case FORMAT_SLOT_RETIRED: return "retired";
	default: return "unknown";
	}
}

static void iso_time(uint64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%llu", (unsigned long long)t);
}

static void print_text(const char *dir, const struct format_config *c, const char *id)
{
	char when[32];

	iso_time(c->created, when);
	printf("volume:         %s\n", dir);
	printf("volume id:      %s\n", id);
	printf("format version: %u\n", c->version);
	printf("cipher:         %s\n", volume_cipher_name(c->cipher));
	printf("block size:     %u\n", c->block_size);
	printf("names:          AES-256-SIV, base64url\n");
	printf("created:        %s\n", when);
	printf("key provider:   %s\n", c->kms_uri);
	printf("file keys:      %s\n", c->wrap_mode == FORMAT_WRAP_KMS
					   ? "per-file KMS (each wrapped by the KMS)"
					   : "wrapped by the volume key");
	for (unsigned i = 0; i < c->n_keks; i++)
		printf("file KEK:       #%u %s%s\n", c->keks[i].ref, c->keks[i].id,
		       &c->keks[i] == format_config_kek_current(c) ? " (current)" : "");
	printf("primary key:    v%u\n", c->primary_version);
	printf("names key:      v%u\n", c->names_version);
	for (unsigned i = 0; i < c->n_slots; i++) {
		iso_time(c->slots[i].created, when);
		printf("key slot:       v%u %s, created %s, wrapped by %s\n", c->slots[i].version,
		       slot_state(c->slots[i].state), when, c->slots[i].kek_id);
	}
	keytab_text(dir, c);
}

static void print_json(const char *dir, const struct format_config *c, const char *id)
{
	json_object *o = json_object_new_object(), *slots = json_object_new_array();
	char when[32];

	iso_time(c->created, when);
	json_object_object_add(o, "volume", json_object_new_string(dir));
	json_object_object_add(o, "volume_id", json_object_new_string(id));
	json_object_object_add(o, "format_version", json_object_new_int(c->version));
	json_object_object_add(o, "cipher", json_object_new_string(volume_cipher_name(c->cipher)));
	json_object_object_add(o, "block_size", json_object_new_int((int)c->block_size));
	json_object_object_add(o, "created", json_object_new_string(when));
	json_object_object_add(o, "kms_uri", json_object_new_string(c->kms_uri));
	json_object_object_add(o, "wrap_mode", json_object_new_string(
		c->wrap_mode == FORMAT_WRAP_KMS ? "per-file-kms" : "volume"));
	if (c->wrap_mode == FORMAT_WRAP_KMS) {
		json_object *keks = json_object_new_array();

		for (unsigned i = 0; i < c->n_keks; i++) {
			json_object *k = json_object_new_object();

			json_object_object_add(k, "ref", json_object_new_int64(c->keks[i].ref));
			json_object_object_add(k, "kek_id", json_object_new_string(c->keks[i].id));
			json_object_array_add(keks, k);
		}
		json_object_object_add(o, "file_keks", keks);
	}
	json_object_object_add(o, "primary_key_version", json_object_new_int64(c->primary_version));
	json_object_object_add(o, "names_key_version", json_object_new_int64(c->names_version));
	for (unsigned i = 0; i < c->n_slots; i++) {
		json_object *s = json_object_new_object();

		iso_time(c->slots[i].created, when);
		json_object_object_add(s, "version", json_object_new_int64(c->slots[i].version));
		json_object_object_add(s, "state", json_object_new_string(slot_state(c->slots[i].state)));
		json_object_object_add(s, "created", json_object_new_string(when));
		json_object_object_add(s, "kek_id", json_object_new_string(c->slots[i].kek_id));
		json_object_array_add(slots, s);
	}
	json_object_object_add(o, "key_slots", slots);
	keytab_json(dir, c, o);
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

int cmd_info(int argc, char **argv)
{
	struct format_config *c = NULL;
	char id[2 * FORMAT_ID_LEN + 1];
	int json = 0, ret;

	for (int i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else
			die(EXIT_USAGE, "usage: phifs info [--json] CIPHERDIR");
	}
	if (argc < 2 || argv[argc - 1][0] == '-')
		die(EXIT_USAGE, "usage: phifs info [--json] CIPHERDIR");
	c = calloc(1, sizeof(*c));
	if (!c)
		die(EXIT_PROBLEMS, "out of memory");
	ret = tool_config_read(argv[argc - 1], c);
	if (ret)
		goto out;
	hex_id(c->volume_id, FORMAT_ID_LEN, id, sizeof(id));
	if (json)
		print_json(argv[argc - 1], c, id);
	else
		print_text(argv[argc - 1], c, id);
out:
	free(c);
	return ret;
}
