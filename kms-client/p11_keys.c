/*
 * p11_keys.c: finding, generating and retiring the versions of one KEK on a
 * token (p11_keys.h). Versions are separate key objects sharing a CKA_LABEL,
 * told apart by CKA_ID, because PKCS#11 has no rekey: rotation makes a new
 * key, old blobs keep naming the old one (docs/FORMAT.md §8). Keys are made
 * sensitive and never extractable: their bytes never leave the token.
 *
 * Retiring clears CKA_ENCRYPT and CKA_WRAP, so no new blob is made with the
 * key while the blobs it already made still unwrap (a config may keep a
 * "retiring" slot, FORMAT.md §3.2). Destroying a key is left to the token's
 * own tools, after every volume has been re-wrapped.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "p11_keys.h"
#include "provider.h"

#define DATE_DIGITS(p, n) digits((const unsigned char *)(p), (n))

static int digits(const unsigned char *s, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int64_t date_seconds(const CK_DATE *d)
{
	struct tm tm;
	int y = DATE_DIGITS(d->year, 4), m = DATE_DIGITS(d->month, 2),
	    day = DATE_DIGITS(d->day, 2);

	if (y < 1970 || m < 1 || m > 12 || day < 1 || day > 31)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = day;
	return (int64_t)timegm(&tm);
}

static void date_today(CK_DATE *d)
{
	char buf[9];
	time_t now = time(NULL);
	struct tm tm;

	memset(d, '0', sizeof(*d));
	if (!gmtime_r(&now, &tm) || strftime(buf, sizeof(buf), "%Y%m%d", &tm) != 8)
		return;
	memcpy(d->year, buf, 4);
	memcpy(d->month, buf + 4, 2);
	memcpy(d->day, buf + 6, 2);
}

/*
 * CKA_START_DATE on its own: SoftHSM 2.6.1 answers CKR_GENERAL_ERROR when
 * reading back a date it was given, which would fail the whole template.
 * Unreadable or unset: 0 ("cannot say").
 */
static int64_t key_created(struct p11 *p, CK_OBJECT_HANDLE h)
{
	CK_DATE start;
	CK_ATTRIBUTE a = { CKA_START_DATE, &start, sizeof(start) };

	memset(&start, 0, sizeof(start));
	if (p->f->C_GetAttributeValue(p->session, h, &a, 1) != CKR_OK ||
	    a.ulValueLen != sizeof(start))
		return 0;
	return date_seconds(&start);
}

/* 1 read, 0 not one of our versions (not AES, CKA_ID longer than 8 bytes). */
static int key_read(struct p11 *p, CK_OBJECT_HANDLE h, struct p11_key *k)
{
	CK_KEY_TYPE type = 0;
	CK_BBOOL enc = CK_FALSE, wrap = CK_FALSE;
	CK_ATTRIBUTE a[] = {
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_ID, k->id, sizeof(k->id) },
		{ CKA_ENCRYPT, &enc, sizeof(enc) },
		{ CKA_WRAP, &wrap, sizeof(wrap) },
	};
	CK_RV rv;

	memset(k, 0, sizeof(*k));
	rv = p->f->C_GetAttributeValue(p->session, h, a, sizeof(a) / sizeof(a[0]));
	if ((rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID) || type != CKK_AES ||
	    a[1].ulValueLen > P11_ID_MAX)
		return 0;
	k->h = h;
	k->id_len = a[1].ulValueLen;
	k->version = p11_id_version(k->id, k->id_len);
	k->active = (a[2].ulValueLen == sizeof(enc) && enc) ||
		    (a[3].ulValueLen == sizeof(wrap) && wrap);
	k->created = key_created(p, h);
	return 1;
}

/* Every AES secret key labelled `label` (at most P11_KEYS_MAX). */
static int keys_list(struct p11 *p, const char *label, struct p11_key *keys, size_t *n)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h[P11_KEYS_MAX];
	CK_ULONG found = 0;
	CK_RV rv;

	*n = 0;
	rv = p->f->C_FindObjectsInit(p->session, tmpl, 2);
	if (rv != CKR_OK)
		goto fail;
	rv = p->f->C_FindObjects(p->session, h, P11_KEYS_MAX, &found);
	(void)p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		goto fail;
	for (CK_ULONG i = 0; i < found; i++)
		*n += (size_t)key_read(p, h[i], &keys[*n]);
	return 0;
fail:
	kms_warn("pkcs11: cannot search token '%s' for key '%s': %s", p->token, label,
		 p11_rv_name(rv));
	return p11_ret_io(rv);
}

int p11_keys_current(struct p11 *p, const char *label, struct p11_key *out)
{
	struct p11_key keys[P11_KEYS_MAX];
	size_t n = 0, best = P11_KEYS_MAX;
	int ret = keys_list(p, label, keys, &n), tie = 0;

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (!keys[i].active)
			continue;
		if (best < P11_KEYS_MAX && keys[i].version == keys[best].version)
			tie = 1;
		if (best == P11_KEYS_MAX || keys[i].version > keys[best].version) {
			best = i;
			tie = 0;
		}
	}
	if (best == P11_KEYS_MAX)
		return -ENOKEY;
	if (tie) {
		kms_warn("pkcs11: token '%s' holds two active keys labelled '%s' with version %llu; "
			 "give each version its own CKA_ID", p->token, label,
			 (unsigned long long)keys[best].version);
		return -EINVAL;
	}
	*out = keys[best];
	return 0;
}

int p11_keys_by_id(struct p11 *p, const char *label, const uint8_t *id, size_t id_len,
		   struct p11_key *out)
{
	struct p11_key keys[P11_KEYS_MAX];
	size_t n = 0;
	int ret = keys_list(p, label, keys, &n);

	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (keys[i].id_len == id_len && memcmp(keys[i].id, id, id_len) == 0) {
			*out = keys[i];
			return 0;
		}
	}
	return -ENOKEY;
}

int p11_keys_newest(struct p11 *p, const char *label, uint64_t *version)
{
	struct p11_key keys[P11_KEYS_MAX];
	size_t n = 0;
	int ret = keys_list(p, label, keys, &n);

	if (ret)
		return ret;
	*version = 0;
	for (size_t i = 0; i < n; i++)
		if (keys[i].version > *version)
			*version = keys[i].version;
	return n ? 0 : -ENOKEY;
}

int p11_keys_generate(struct p11 *p, const char *label, uint64_t version, struct p11_key *out)
{
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_AES;
	CK_ULONG len = 32;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = { CKM_AES_KEY_GEN, NULL, 0 };
	uint8_t id[P11_ID_MAX];
	CK_DATE today;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
		{ CKA_VALUE_LEN, &len, sizeof(len) },
		{ CKA_LABEL, (void *)label, strlen(label) },
		{ CKA_ID, id, sizeof(id) },
		{ CKA_START_DATE, &today, sizeof(today) },
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_ENCRYPT, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &yes, sizeof(yes) },
		{ CKA_WRAP, &yes, sizeof(yes) },
		{ CKA_UNWRAP, &yes, sizeof(yes) },
	};
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_RV rv;

	p11_id_of_version(version, id);
	date_today(&today);
	rv = p->f->C_GenerateKey(p->session, &mech, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &h);
	if (rv != CKR_OK) {
		kms_warn("pkcs11: cannot generate key '%s' version %llu on token '%s': %s", label,
			 (unsigned long long)version, p->token, p11_rv_name(rv));
		return p11_ret_io(rv);
	}
	return key_read(p, h, out) ? 0 : -EIO;
}

int p11_keys_retire(struct p11 *p, const struct p11_key *k)
{
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE a[] = {
		{ CKA_ENCRYPT, &no, sizeof(no) },
		{ CKA_WRAP, &no, sizeof(no) },
	};
	CK_RV rv = p->f->C_SetAttributeValue(p->session, k->h, a, 2);

	if (rv != CKR_OK) {
		kms_warn("pkcs11: cannot retire key version %llu on token '%s': %s",
			 (unsigned long long)k->version, p->token, p11_rv_name(rv));
		return p11_ret_io(rv);
	}
	return 0;
}

int p11_keys_destroy(struct p11 *p, const struct p11_key *k)
{
	CK_RV rv = p->f->C_DestroyObject(p->session, k->h);

	if (rv != CKR_OK) {
		kms_warn("pkcs11: cannot destroy key version %llu on token '%s': %s",
			 (unsigned long long)k->version, p->token, p11_rv_name(rv));
		return p11_ret_io(rv);
	}
	return 0;
}
