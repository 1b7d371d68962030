/* Directories: 32-byte entries, long names (VFAT: UCS-2 pieces of 13 characters before the short entry, tied to it
 * by a checksum), unique short names for new entries, and time stamps. */
#include <errno.h>
#include <string.h>
#include <uf/time.h>
#include "fat.h"

#define LFN_CHARS 13
#define DELETED 0xE5

/* Where each of an LFN entry's 13 UCS-2 characters sits. */
static const unsigned char lfn_offsets[LFN_CHARS] = { 1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30 };

uint32_t uf_fat_entry_cluster(const unsigned char *raw)
{
	return (uint32_t)(raw[20] | raw[21] << 8) << 16 | (raw[26] | raw[27] << 8);
}

void uf_fat_entry_set_cluster(unsigned char *raw, uint32_t cluster)
{
	raw[20] = cluster >> 16, raw[21] = cluster >> 24, raw[26] = cluster, raw[27] = cluster >> 8;
}

uint32_t uf_fat_entry_size(const unsigned char *raw)
{
	return raw[28] | raw[29] << 8 | raw[30] << 16 | (uint32_t)raw[31] << 24;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(int64_t days, int *y, int *m, int *d)
{
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

void uf_fat_entry_stamp(unsigned char *raw, int64_t secs, int fields)
{
	int y, mo, d;
	civil(secs >= 0 ? secs / 86400 : -1, &y, &mo, &d);
	if (y < 1980)
		y = 1980, mo = 1, d = 1, secs = 0;      /* FAT cannot say earlier */
	if (y > 2107)
		y = 2107, mo = 12, d = 31, secs = 86399;
	int sod = secs % 86400;
	uint16_t date = (y - 1980) << 9 | mo << 5 | d;
	uint16_t time = (sod / 3600) << 11 | (sod / 60 % 60) << 5 | (sod % 60) / 2;
	if (fields & UF_FAT_WRITTEN)
		raw[22] = time, raw[23] = time >> 8, raw[24] = date, raw[25] = date >> 8;
	if (fields & UF_FAT_ACCESSED)
		raw[18] = date, raw[19] = date >> 8;
	if (fields & UF_FAT_CREATED)
		raw[13] = 0, raw[14] = time, raw[15] = time >> 8, raw[16] = date, raw[17] = date >> 8;
}

void uf_fat_entry_touch(unsigned char *raw, int created)
{
	uf_fat_entry_stamp(raw, uf_time_realtime_ns() / 1000000000,
	                   UF_FAT_WRITTEN | UF_FAT_ACCESSED | (created ? UF_FAT_CREATED : 0));
}

/* The device offset of a directory's slot-th entry; -ENOENT past its end. A directory holds at most 65536
 * entries (the specification's limit), which also ends a walk of a damaged, looping chain early. */
static int slot_offset(struct fat *fs, uint32_t dir, uint32_t slot, uint64_t *off, uint32_t *last_cluster)
{
	if (slot >= 65536)
		return -ENOENT;
	if (!dir) {
		if (slot >= fs->root_entries)
			return -ENOENT;
		*off = fs->root_start + (uint64_t)slot * DIRENT;
		return 0;
	}
	uint32_t per = fs->cluster_size / DIRENT, cluster = dir;
	for (uint32_t i = 0; i < slot / per; i++) {
		uint32_t next;
		int r = uf_fat_get(fs, cluster, &next);
		if (r < 0)
			return r;
		if (next >= FAT_EOC) {
			if (last_cluster)
				*last_cluster = cluster;
			return -ENOENT;
		}
		if (!uf_fat_valid_cluster(fs, next) || i > fs->clusters)
			return -EIO;
		cluster = next;
	}
	*off = uf_fat_cluster_offset(fs, cluster) + (uint64_t)(slot % per) * DIRENT;
	return 0;
}

static uint8_t checksum(const unsigned char *short_name)
{
	uint8_t sum = 0;
	for (int i = 0; i < 11; i++)
		sum = ((sum & 1) << 7) + (sum >> 1) + short_name[i];
	return sum;
}

/* UTF-8 of one UCS-2 character; 0 if it does not fit. */
static size_t put_utf8(char *out, size_t room, unsigned c)
{
	if (c < 0x80 && room > 1)
		return out[0] = c, 1;
	if (c < 0x800 && room > 2)
		return out[0] = 0xC0 | c >> 6, out[1] = 0x80 | (c & 0x3F), 2;
	if (c >= 0x800 && room > 3)
		return out[0] = 0xE0 | c >> 12, out[1] = 0x80 | (c >> 6 & 0x3F), out[2] = 0x80 | (c & 0x3F), 3;
	return 0;
}

/* The next UCS-2 character of a UTF-8 name: -1 for bytes that are not UTF-8 of the Basic Multilingual Plane. */
static int get_utf8(const char **p, const char *end)
{
	const unsigned char *s = (const unsigned char *)*p;
	int c, n;
	if (s[0] < 0x80)
		c = s[0], n = 1;
	else if ((s[0] & 0xE0) == 0xC0 && end - *p >= 2 && (s[1] & 0xC0) == 0x80)
		c = (s[0] & 0x1F) << 6 | (s[1] & 0x3F), n = 2;
	else if ((s[0] & 0xF0) == 0xE0 && end - *p >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80)
		c = (s[0] & 0x0F) << 12 | (s[1] & 0x3F) << 6 | (s[2] & 0x3F), n = 3;
	else
		return -1;
	*p += n;
	return c;
}

static void short_name_text(const unsigned char *raw, char *out)
{
	size_t n = 0;
	for (int i = 0; i < 8 && raw[i] != ' '; i++) {
		char c = i == 0 && raw[0] == 0x05 ? (char)0xE5 : raw[i];
		out[n++] = (raw[12] & 0x08) && c >= 'A' && c <= 'Z' ? c + 32 : c;
	}
	if (raw[8] != ' ') {
		out[n++] = '.';
		for (int i = 8; i < 11 && raw[i] != ' '; i++)
			out[n++] = (raw[12] & 0x10) && raw[i] >= 'A' && raw[i] <= 'Z' ? raw[i] + 32 : raw[i];
	}
	out[n] = 0;
}

int uf_fat_dir_next(struct fat *fs, uint32_t dir, uint32_t *slot, struct fat_entry *out)
{
	static uint16_t name16[20 * LFN_CHARS + 1];
	int parts = 0, expected = 0;
	uint8_t sum = 0;
	uint32_t first = *slot;
	for (uint32_t s = *slot;; s++) {
		unsigned char raw[DIRENT];
		uint64_t off;
		int r = slot_offset(fs, dir, s, &off, 0);
		if (r == -ENOENT)
			return *slot = s, 0;
		if (r < 0 || (r = uf_bcache_read(fs->cache, off, raw, DIRENT)) < 0)
			return r;
		if (raw[0] == 0)
			return *slot = s, 0;
		if (raw[0] == DELETED) {
			expected = 0;
			continue;
		}
		if ((raw[11] & 0x3F) == ATTR_LFN) {
			int ord = raw[0] & 0x1F;
			if (raw[0] & 0x40) {
				if (!ord || ord > 20) {
					expected = 0;
					continue;
				}
				parts = ord, expected = ord, sum = raw[13], first = s;
				name16[ord * LFN_CHARS] = 0;
			}
			if (!expected || ord != expected || raw[13] != sum) {
				expected = 0;
				continue;
			}
			for (int i = 0; i < LFN_CHARS; i++)
				name16[(ord - 1) * LFN_CHARS + i] = raw[lfn_offsets[i]] | raw[lfn_offsets[i] + 1] << 8;
			expected--;
			continue;
		}
		int long_ok = parts && expected == 0 && checksum(raw) == sum;
		parts = 0, expected = 0;
		if (raw[11] & ATTR_VOLUME_ID || (raw[0] == '.' && (raw[1] == ' ' || (raw[1] == '.' && raw[2] == ' '))))
			continue;
		memcpy(out->raw, raw, DIRENT);
		out->loc = (struct fat_loc){ .dir = dir, .first_slot = long_ok ? first : s, .slot = s, .offset = off };
		size_t n = 0;
		for (int i = 0; long_ok && name16[i] && name16[i] != 0xFFFF; i++) {
			size_t w = put_utf8(out->name + n, sizeof out->name - n, name16[i]);
			if (!w) {
				long_ok = 0;
				break;
			}
			n += w;
		}
		out->name[n] = 0;
		if (!long_ok || !n)
			short_name_text(raw, out->name);
		*slot = s + 1;
		return 1;
	}
}

static int same_name(const char *a, const char *b, size_t blen)
{
	if (strlen(a) != blen)
		return 0;
	for (size_t i = 0; i < blen; i++) {
		char x = a[i] >= 'a' && a[i] <= 'z' ? a[i] - 32 : a[i];
		char y = b[i] >= 'a' && b[i] <= 'z' ? b[i] - 32 : b[i];
		if (x != y)
			return 0;
	}
	return 1;
}

int uf_fat_dir_find(struct fat *fs, uint32_t dir, const char *name, size_t len, struct fat_entry *out)
{
	char short_text[13];
	uint32_t slot = 0;
	int r;
	while ((r = uf_fat_dir_next(fs, dir, &slot, out)) > 0) {
		short_name_text(out->raw, short_text);
		if (same_name(out->name, name, len) || same_name(short_text, name, len))
			return 0;
	}
	return r < 0 ? r : -ENOENT;
}

int uf_fat_dir_empty(struct fat *fs, uint32_t dir)
{
	static struct fat_entry e;
	uint32_t slot = 0;
	return uf_fat_dir_next(fs, dir, &slot, &e) == 0;
}

static int short_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("$%'-_@~`!(){}^#&", c);
}

/* name as an exact upper-case 8.3 name (then it needs no long name), or 0. */
static int exact_short(const char *name, size_t len, unsigned char out[11])
{
	const char *dot = memchr(name, '.', len);
	size_t base = dot ? (size_t)(dot - name) : len, ext = dot ? len - base - 1 : 0;
	if (!base || base > 8 || ext > 3 || (dot && !ext))
		return 0;
	memset(out, ' ', 11);
	for (size_t i = 0; i < len; i++) {
		if (name + i == dot)
			continue;
		if (!short_char(name[i]))
			return 0;
		out[name + i < dot || !dot ? i : 8 + (i - base - 1)] = name[i];
	}
	if (out[0] == (unsigned char)DELETED)
		out[0] = 0x05;
	return 1;
}

/* The basis of a generated short name (FAT specification): upper case, invalid characters as '_', spaces and
 * inner dots dropped, base cut to 6 characters so "~N" fits. */
static void basis_name(const char *name, size_t len, unsigned char out[11], size_t *base_len)
{
	const char *dot = 0;
	for (size_t i = len; i-- > 0; )
		if (name[i] == '.') {
			dot = name + i;
			break;
		}
	memset(out, ' ', 11);
	size_t b = 0, e = 0;
	for (const char *p = name; p < name + len; p++) {
		char c = *p >= 'a' && *p <= 'z' ? *p - 32 : *p;
		if (c == ' ' || (c == '.' && p != dot))
			continue;
		if (p == dot)
			continue;
		if ((unsigned char)c >= 0x80)
			while (p + 1 < name + len && (p[1] & 0xC0) == 0x80)
				p++;
		c = short_char(c) ? c : '_';
		if (dot && p > dot) {
			if (e < 3)
				out[8 + e++] = c;
		} else if (b < 6) {
			out[b++] = c;
		}
	}
	if (!b)
		out[b++] = '_';
	*base_len = b;
}

/* The short name with tail ~n for a basis (FAT specification: the tail replaces the end of the base if needed). */
static void numbered(const unsigned char basis[11], size_t base, unsigned n, unsigned char out[11])
{
	char digits[8];
	int d = 0;
	for (unsigned v = n; v; v /= 10)
		digits[d++] = '0' + v % 10;
	size_t at = base + d + 1 > 8 ? 8 - d - 1 : base;
	memcpy(out, basis, 11);
	out[at] = '~';
	for (int i = 0; i < d; i++)
		out[at + 1 + i] = digits[d - 1 - i];
	for (size_t i = at + 1 + d; i < 8; i++)
		out[i] = ' ';
}

/* A short name for a name that needs a long one: the name in upper case when that is a free 8.3 name (as Windows
 * does for "notes.txt": NOTES.TXT), else the basis with the lowest ~n tail not used in dir. One pass over the
 * directory, so a folder of many similar names stays linear. */
static int unique_short_name(struct fat *fs, uint32_t dir, const char *name, size_t len, unsigned char out[11])
{
	static uint8_t taken[65536 / 8];
	static struct fat_entry e;
	unsigned char basis[11], candidate[11], plain[11];
	char upper[12];
	size_t base;
	uint32_t slot = 0;
	int r, plain_free = len < sizeof upper;
	for (size_t i = 0; plain_free && i < len; i++)
		upper[i] = name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i];
	plain_free = plain_free && exact_short(upper, len, plain);
	basis_name(name, len, basis, &base);
	memset(taken, 0, sizeof taken);
	while ((r = uf_fat_dir_next(fs, dir, &slot, &e)) > 0) {
		if (plain_free && !memcmp(e.raw, plain, 11))
			plain_free = 0;
		const unsigned char *tilde = memchr(e.raw, '~', 8);
		unsigned n = 0;
		for (const unsigned char *p = tilde ? tilde + 1 : 0; p && p < e.raw + 8 && *p >= '0' && *p <= '9'; p++)
			n = n * 10 + (*p - '0');
		if (n && n < 65536) {
			numbered(basis, base, n, candidate);
			if (!memcmp(candidate, e.raw, 11))
				taken[n / 8] |= 1 << n % 8;
		}
	}
	if (r < 0)
		return r;
	if (plain_free) {
		memcpy(out, plain, 11);
		return 0;
	}
	for (unsigned n = 1; n < 65536; n++)
		if (!(taken[n / 8] & 1 << n % 8)) {
			numbered(basis, base, n, out);
			return 0;
		}
	return -ENOSPC;
}

/* A run of count free slots (deleted or never used), growing the directory by a cluster when it is full. */
static int free_slots(struct fat *fs, uint32_t dir, uint32_t count, uint32_t *start)
{
	uint32_t run = 0;
	for (uint32_t s = 0;; s++) {
		uint64_t off;
		uint32_t last;
		unsigned char first;
		int r = slot_offset(fs, dir, s, &off, &last);
		if (r == -ENOENT) {
			if (!dir || s >= 65536)
				return -ENOSPC;
			uint32_t added;
			if ((r = uf_fat_alloc(fs, last, 1, &added)) < 0)
				return r;
			r = slot_offset(fs, dir, s, &off, 0);
		}
		if (r < 0 || (r = uf_bcache_read(fs->cache, off, &first, 1)) < 0)
			return r;
		run = first == 0 || first == DELETED ? run + 1 : 0;
		if (run == count) {
			*start = s + 1 - count;
			return 0;
		}
	}
}

static int valid_name(const char *name, size_t len, uint16_t *name16, size_t *len16)
{
	if (!len || (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	if (name[len - 1] == ' ' || name[len - 1] == '.')
		return -EINVAL;
	size_t n = 0;
	for (const char *p = name; p < name + len; ) {
		int c = get_utf8(&p, name + len);
		if (c < 0x20 || (c < 0x80 && strchr("\"*/:<>?\\|", c)) || c == 0x7F)
			return -EINVAL;
		if (n == 255)
			return -ENAMETOOLONG;
		name16[n++] = c;
	}
	*len16 = n;
	return 0;
}

int uf_fat_dir_add(struct fat *fs, uint32_t dir, const char *name, size_t len, const unsigned char *raw,
                struct fat_entry *out)
{
	static uint16_t name16[256];
	size_t len16;
	int r = valid_name(name, len, name16, &len16);
	if (r < 0)
		return r;
	memcpy(out->raw, raw, DIRENT);
	int needs_long = !exact_short(name, len, out->raw);
	if (needs_long && (r = unique_short_name(fs, dir, name, len, out->raw)) < 0)
		return r;
	uint32_t parts = needs_long ? (len16 + LFN_CHARS - 1) / LFN_CHARS : 0, start;
	if ((r = free_slots(fs, dir, parts + 1, &start)) < 0)
		return r;
	uint8_t sum = checksum(out->raw);
	for (uint32_t i = 0; i < parts; i++) {
		uint32_t ord = parts - i;
		unsigned char e[DIRENT] = { 0 };
		e[0] = ord | (i == 0 ? 0x40 : 0);
		e[11] = ATTR_LFN;
		e[13] = sum;
		for (int k = 0; k < LFN_CHARS; k++) {
			size_t at = (ord - 1) * LFN_CHARS + k;
			uint16_t c = at < len16 ? name16[at] : at == len16 ? 0 : 0xFFFF;
			e[lfn_offsets[k]] = c, e[lfn_offsets[k] + 1] = c >> 8;
		}
		uint64_t off;
		if ((r = slot_offset(fs, dir, start + i, &off, 0)) < 0 ||
		    (r = uf_bcache_write(fs->cache, off, e, DIRENT)) < 0)
			return r;
	}
	uint64_t off;
	if ((r = slot_offset(fs, dir, start + parts, &off, 0)) < 0 ||
	    (r = uf_bcache_write(fs->cache, off, out->raw, DIRENT)) < 0)
		return r;
	out->loc = (struct fat_loc){ .dir = dir, .first_slot = start, .slot = start + parts, .offset = off };
	memcpy(out->name, name, len);
	out->name[len] = 0;
	return 0;
}

int uf_fat_dir_remove(struct fat *fs, const struct fat_loc *loc)
{
	static const unsigned char deleted = DELETED;
	for (uint32_t s = loc->first_slot; s <= loc->slot; s++) {
		uint64_t off;
		int r = slot_offset(fs, loc->dir, s, &off, 0);
		if (r < 0 || (r = uf_bcache_write(fs->cache, off, &deleted, 1)) < 0)
			return r;
	}
	return 0;
}
