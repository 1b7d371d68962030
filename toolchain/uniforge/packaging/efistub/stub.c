/* The EFI stub's C side: everything done while boot services are up. The firmware has loaded BOOTARM.EFI (the
 * stub, then the zImage as a payload: efistub.py lays the PE/COFF file out) anywhere in RAM, identity mapped with
 * the MMU and caches on. Here: the device tree from the configuration table, with /chosen/bootargs from an SMBIOS
 * OEM string (`uniforge run`'s command line, as on x86_64) when there is one, goes to the RAM below the image's
 * link address, and the zImage to its link address, both in pages taken from the firmware at those addresses (so
 * nothing of the firmware's, nor the stub itself, lies there); then the memory map and ExitBootServices.
 * stub_entry.S does the rest: caches and MMU off, and the zImage's entry as Linux's ARM boot protocol starts it
 * (r0 = 0, r1 = ~0, r2 = the DTB). Built position independent and without floating point (efistub.py). */
#include "efi.h"

/* Filled in by efistub.py: where things are and go. Offsets are from the stub's first byte. */
struct stub_params {
	uint32_t payload_offset, payload_size;  /* the zImage, in this file */
	uint32_t load_address;                  /* where it is linked */
	uint32_t image_end;                     /* the end of its memory (.bss, stack) once running */
	uint32_t dtb_room;                      /* bytes below load_address for the device tree */
};

__attribute__((noreturn)) void stub_leave(uint32_t entry, uint32_t dtb, uint32_t clean_start, uint32_t clean_end);

static const efi_guid DTB_GUID = {0xb1b621d5, 0xf19c, 0x41a5, {0x83, 0x0b, 0xd9, 0x15, 0x2c, 0x69, 0xaa, 0xe0}};
static const efi_guid SMBIOS_GUID = {0xeb9d2d31, 0x2d88, 0x11d3, {0x9a, 0x16, 0x00, 0x90, 0x27, 0x3f, 0xc1, 0x4d}};
static const efi_guid SMBIOS3_GUID = {0xf2fd1544, 0x9794, 0x4a2c, {0x99, 0x2e, 0xe5, 0xbb, 0xcf, 0x20, 0xe3, 0x94}};
static const char OEM_PREFIX[] = "uniforge:cmdline=";

#define FDT_MAGIC 0xd00dfeedu
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE 2
#define FDT_PROP 3
#define FDT_NOP 4
#define FDT_END 9
#define PAGE 4096u
#define MAP_SLACK 8             /* descriptors more than asked for: allocating the map may add some */

/* The compiler may emit calls to these for loops and structure copies. */
void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;
	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

static size_t length(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

static int same(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return 0;
	return 1;
}

/* One line on the firmware's console (ASCII, as UCS-2); the stub speaks only when it gives up. */
static void say(efi_system_table *st, const char *text)
{
	efi_char16 line[128];
	size_t n = 0;
	for (const char *p = "uniforge: efi stub: "; *p; p++)
		line[n++] = (efi_char16)*p;
	for (; *text && n < sizeof line / sizeof line[0] - 3; text++)
		line[n++] = (efi_char16)*text;
	line[n++] = '\r';
	line[n++] = '\n';
	line[n] = 0;
	if (st->con_out)
		st->con_out->output_string(st->con_out, line);
}

static void *config_table(efi_system_table *st, const efi_guid *guid)
{
	for (efi_uintn i = 0; i < st->number_of_table_entries; i++)
		if (same(&st->configuration_table[i].guid, guid, sizeof *guid))
			return st->configuration_table[i].table;
	return NULL;
}

static uint32_t get32(const void *p)
{
	const uint8_t *b = p;
	return b[0] | b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | b[2] << 8 | b[3];
}

static void put_be32(void *p, uint32_t v)
{
	uint8_t *b = p;
	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
}

/* The command line from an SMBIOS OEM strings structure (type 11) whose string starts with OEM_PREFIX (QEMU's
 * -smbios type=11), or NULL. The structure table's place and size come from the SMBIOS 3 entry point (64-bit) or
 * the 2.1 one (32-bit) (DSP0134 5.2). */
static const char *oem_cmdline(efi_system_table *st)
{
	const uint8_t *entry, *table;
	uint32_t size;
	if ((entry = config_table(st, &SMBIOS3_GUID)) && same(entry, "_SM3_", 5)) {
		if (get32(entry + 0x14))        /* above 4 GiB: out of reach */
			return NULL;
		table = (const uint8_t *)get32(entry + 0x10);
		size = get32(entry + 0x0c);
	} else if ((entry = config_table(st, &SMBIOS_GUID)) && same(entry, "_SM_", 4)) {
		table = (const uint8_t *)get32(entry + 0x18);
		size = entry[0x16] | entry[0x17] << 8;
	} else {
		return NULL;
	}
	const uint8_t *p = table, *end = table + size;
	while (p + 4 <= end && p[0] != 127) {           /* type 127: the end */
		const uint8_t *strings = p + p[1], *s = strings;
		if (p[1] < 4 || strings > end)
			return NULL;
		while (s + 1 < end && (s[0] || s[1]))     /* the string set ends with two NULs */
			s++;
		if (p[0] == 11) {
			for (const char *str = (const char *)strings; (const uint8_t *)str < s && *str;
			     str += length(str) + 1)
				if (same(str, OEM_PREFIX, sizeof OEM_PREFIX - 1))
					return str + sizeof OEM_PREFIX - 1;
		}
		p = s + 2;
	}
	return NULL;
}

static void put_prop(uint8_t **out, uint32_t name, const char *value, size_t n)
{
	put_be32(*out, FDT_PROP);
	put_be32(*out + 4, n);
	put_be32(*out + 8, name);
	memcpy(*out + 12, value, n);
	*out += 12 + ((n + 3) & ~3u);
}

/* A copy of the device tree `src` at `dst` (room bytes) with /chosen's bootargs set to `args` (the node made if
 * missing); 0, or its size. The blocks go in the spec's order (devicetree spec 5): header, memory reservations,
 * structure, strings. */
static size_t fdt_with_bootargs(uint8_t *dst, size_t room, const uint8_t *src, const char *args)
{
	uint32_t rsv = be32(src + 16), structure = be32(src + 8), strings = be32(src + 12);
	uint32_t strings_size = be32(src + 32), structure_size = be32(src + 36);
	size_t args_size = length(args) + 1;
	size_t rsv_size = 16;
	while (be32(src + rsv + rsv_size - 16) | be32(src + rsv + rsv_size - 12) |
	       be32(src + rsv + rsv_size - 8) | be32(src + rsv + rsv_size - 4))
		rsv_size += 16;
	/* The worst case: a new chosen node (8 + 8 + 12 bytes) and its property, and "bootargs" among the strings. */
	size_t need = 40 + rsv_size + structure_size + 28 + 12 + args_size + 3 + strings_size + 9 + 8;
	if (be32(src) != FDT_MAGIC || need > room)
		return 0;
	uint8_t *out = dst + 40;
	while ((uintptr_t)out & 7)
		out++;
	uint32_t out_rsv = out - dst;
	memcpy(out, src + rsv, rsv_size);
	out += rsv_size;
	uint32_t out_structure = out - dst;
	/* Where "bootargs" is among the strings, else it is added at their end. */
	uint32_t name = strings_size, strings_added = 9;
	for (uint32_t i = 0; i + 9 <= strings_size; i++)
		if (same(src + strings + i, "bootargs", 9) && (i == 0 || !src[strings + i - 1])) {
			name = i;
			strings_added = 0;
			break;
		}
	const uint8_t *p = src + structure, *end = p + structure_size;
	int depth = 0, chosen_depth = 0, chosen_seen = 0;
	while (p < end) {
		uint32_t token = be32(p);
		const uint8_t *next;
		if (token == FDT_BEGIN_NODE) {
			const char *node = (const char *)p + 4;
			next = p + 4 + ((length(node) + 1 + 3) & ~3u);
			depth++;
			if (depth == 2 && same(node, "chosen", 7)) {
				chosen_depth = depth;
				chosen_seen = 1;
			}
		} else if (token == FDT_END_NODE) {
			next = p + 4;
			if (depth == chosen_depth) {
				put_prop(&out, name, args, args_size);
				chosen_depth = 0;
			} else if (depth == 1 && !chosen_seen) {
				memcpy(out, "\0\0\0\1chosen\0\0", 12);
				out += 12;
				put_prop(&out, name, args, args_size);
				put_be32(out, FDT_END_NODE);
				out += 4;
			}
			depth--;
		} else if (token == FDT_PROP) {
			next = p + 12 + ((be32(p + 4) + 3) & ~3u);
			if (depth == chosen_depth && be32(p + 8) < strings_size &&
			    same(src + strings + be32(p + 8), "bootargs", 9)) {
				p = next;               /* the old one goes */
				continue;
			}
		} else if (token == FDT_NOP) {
			next = p + 4;
		} else {
			next = end;                     /* FDT_END */
		}
		memcpy(out, p, next - p);
		out += next - p;
		p = next;
	}
	uint32_t out_structure_size = out - dst - out_structure;
	uint32_t out_strings = out - dst;
	memcpy(out, src + strings, strings_size);
	memcpy(out + strings_size, "bootargs", strings_added);
	out += strings_size + strings_added;
	memcpy(dst, src, 40);
	put_be32(dst + 4, out - dst);                   /* totalsize */
	put_be32(dst + 8, out_structure);
	put_be32(dst + 12, out_strings);
	put_be32(dst + 16, out_rsv);
	put_be32(dst + 32, strings_size + strings_added);
	put_be32(dst + 36, out_structure_size);
	return out - dst;
}

/* From stub_entry.S: `base` is the stub's first byte. Returns only if the image cannot be started. */
efi_status stub_main(efi_handle image, efi_system_table *st, const uint8_t *base, const struct stub_params *params)
{
	efi_boot_services *bs = st->boot_services;
	const uint8_t *fdt = config_table(st, &DTB_GUID);
	if (!fdt || be32(fdt) != FDT_MAGIC) {
		say(st, "the firmware gives no device tree (EFI_DTB_TABLE_GUID)");
		return EFI_NOT_FOUND;
	}
	/* The pages from the device tree's room to the image's end, at those addresses. */
	uint32_t start = (params->load_address - params->dtb_room) & ~(PAGE - 1);
	uint32_t dtb_room = params->load_address - start;
	uint32_t pages = (params->image_end - start + PAGE - 1) / PAGE;
	uint64_t address = start;
	if (bs->allocate_pages(EFI_ALLOCATE_ADDRESS, EFI_LOADER_DATA, pages, &address)) {
		say(st, "the RAM the image is linked at is in use by the firmware");
		return EFI_LOAD_ERROR;
	}
	/* No OEM string: bootargs empty, as U-Boot's script leaves them (the image has the app's command line). */
	const char *args = oem_cmdline(st);
	uint8_t *dtb = (uint8_t *)start;
	if (!fdt_with_bootargs(dtb, dtb_room, fdt, args ? args : "")) {
		say(st, "the device tree and command line do not fit below the image");
		bs->free_pages(address, pages);
		return EFI_LOAD_ERROR;
	}
	memcpy((void *)params->load_address, base + params->payload_offset, params->payload_size);

	/* The memory map, in a buffer with room to spare: after ExitBootServices fails (the map changed since it was
	 * read: the key is stale) only GetMemoryMap may be called again before retrying, no allocation. */
	efi_uintn size = 0, key, descriptor_size;
	uint32_t version;
	void *map = NULL;
	efi_uintn room;
	if (bs->get_memory_map(&size, NULL, &key, &descriptor_size, &version) != EFI_BUFFER_TOO_SMALL ||
	    bs->allocate_pool(EFI_LOADER_DATA, room = size + MAP_SLACK * descriptor_size, &map)) {
		say(st, "cannot read the memory map");
		bs->free_pages(address, pages);
		return EFI_LOAD_ERROR;
	}
	for (int tries = 0; tries < 8; tries++) {
		size = room;
		if (bs->get_memory_map(&size, map, &key, &descriptor_size, &version))
			break;
		if (bs->exit_boot_services(image, key) == EFI_SUCCESS)
			stub_leave(params->load_address, start, start, params->image_end);
	}
	say(st, "ExitBootServices failed");     /* console output may no longer work, but try */
	return EFI_LOAD_ERROR;
}
