/* A reader for the flattened device tree (devicetree specification v0.4, chapter 5). The header's offsets and
 * sizes are checked once; after that every token, name and property is bounds-checked against its block, so a
 * damaged or hostile blob makes queries fail, never read outside it. No allocation; besides the blob, a fixed-size
 * index of its nodes (see build_index) that answers the same as walking the blob would. */
#include <string.h>
#include <uf/fdt.h>

/* Mostly run once, at boot, where an emulator translates every instruction before its first run: small code is
 * fast code there. */
#pragma clang attribute push(__attribute__((minsize)), apply_to = function)

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define HEADER_V16     36       /* version 17 adds size_dt_struct: 40 bytes */
#define MAX_DEPTH      32

enum { MAGIC, TOTALSIZE, OFF_STRUCT, OFF_STRINGS, OFF_RSVMAP, VERSION, LAST_COMP, BOOT_CPU, SIZE_STRINGS,
       SIZE_STRUCT };

static const unsigned char *blob;
static size_t used;                     /* bytes the header and the blocks occupy */
static const unsigned char *structs;    /* 4-byte aligned (checked): its words are read whole */
static const char *strings;
static uint32_t struct_size, strings_size;
static int root;
/* The last node first_child/next_sibling returned and its parent: uf_fdt_reg after a path lookup or while
 * iterating children then needs no walk from the root to find the parent. */
static int cached_child = -1, cached_parent;

/* An index of the nodes, built by one pass over the whole structure block when the blob is taken (the queries at
 * boot would otherwise walk the tree token by token again and again: each walk is thousands of emulated
 * branches). Only for a well-formed block (every token checked, one root, at most MAX_NODES nodes nested less than
 * MAX_DEPTH deep); otherwise, and for an offset it does not hold, the queries walk the block as before. Node i (in
 * document order) begins at node_off[i]; its properties (and NOPs) lie in [node_props[i], node_end[i]), where its
 * first child or its end-node follows; its parent and next sibling are indexes (-1: none). */
#define MAX_NODES 128
static int nnodes;                      /* 0: no index */
static uint32_t node_off[MAX_NODES], node_props[MAX_NODES], node_end[MAX_NODES];
static signed char node_parent[MAX_NODES], node_next[MAX_NODES];

/* Straight-line helpers, always inlined: under an emulator each branch and call costs a translation block. */
#define INLINE static inline __attribute__((always_inline))

uint32_t uf_fdt_read32(const void *p)
{
	const unsigned char *b = p;
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A big-endian word at a 4-byte aligned address. */
INLINE uint32_t be32(const void *p)
{
	return __builtin_bswap32(*(const uint32_t *)p);
}

/* [off, off + size) inside [0, total)? Written so that nothing overflows (and nothing branches). */
INLINE int inside(uint32_t off, uint32_t size, uint32_t total)
{
	return (off <= total) & (size <= total - off);
}

INLINE uint32_t cell(uint32_t off)
{
	return be32(structs + off);
}

INLINE uint32_t max(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

/* The token at off and, in *next, the offset of the one after it; -1 where the block is malformed (or ends). */
static int token(int off, int *next)
{
	uint32_t p = (uint32_t)off + 4, t;
	if ((off & 3) | !inside(off, 4, struct_size))          /* (a negative off is a huge unsigned one) */
		return -1;
	t = cell(off);
	if (t == FDT_BEGIN_NODE) {
		/* The name, NUL-terminated and padded to 4: the next token follows the first word with a 0 byte. */
		uint32_t w;
		do {
			if (p >= struct_size)
				return -1;
			w = *(const uint32_t *)(structs + p);
			p += 4;
		} while (!((w - 0x01010101u) & ~w & 0x80808080u));
	} else if (t == FDT_PROP) {
		uint32_t len = inside(p, 8, struct_size) ? cell(p) : UINT32_MAX;
		if (!inside(p + 8, len, struct_size))
			return -1;
		p = (p + 8 + len + 3) & ~3u;            /* within the block: its size is a multiple of 4 */
	} else if ((t != FDT_END_NODE) & (t != FDT_NOP)) {
		return -1;      /* FDT_END, or garbage: nothing follows */
	}
	*next = p;
	return t;
}

static void build_index(void)
{
	int stack[MAX_DEPTH], depth = 0, off = root, next, t, n = 0, last = -1;
	nnodes = 0;
	for (;; off = next) {
		t = token(off, &next);
		if (t == FDT_BEGIN_NODE) {
			if (n == MAX_NODES || depth == MAX_DEPTH)
				return;
			node_off[n] = off;
			node_props[n] = next;
			node_parent[n] = depth ? stack[depth - 1] : -1;
			node_next[n] = -1;
			if (last >= 0)
				node_next[last] = n;    /* the node that ended just before, at this depth: a sibling */
			last = -1;
			stack[depth++] = n;
			/* Its properties (and NOPs) up to the first other token. */
			while ((t = token(next, &off)) == FDT_PROP || t == FDT_NOP)
				next = off;
			node_end[n++] = next;
		} else if (t == FDT_END_NODE) {
			last = stack[--depth];
			if (!depth)
				break;
		} else if (t == FDT_PROP) {
			last = -1;              /* (misplaced: after a child) a sibling must follow its end, NOPs only */
		} else if (t != FDT_NOP) {
			return;                 /* malformed */
		}
	}
	/* The scanning queries would find a second top-level node after the root's end: keep to them then. */
	for (off = next; (t = token(off, &next)) >= 0 && t != FDT_BEGIN_NODE;)
		off = next;
	if (t != FDT_BEGIN_NODE)
		nnodes = n;
}

/* The index of the node at off, -1 if the index does not hold it. */
static int lookup(int off)
{
	/* A binary search, branch-light: the first entry not below off. */
	int lo = 0;
	for (int step = MAX_NODES / 2; step; step /= 2)
		lo += lo + step <= nnodes && (int)node_off[lo + step - 1] < off ? step : 0;
	return lo < nnodes && (int)node_off[lo] == off ? lo : -1;
}

/* a and b equal up to n bytes or their NUL. */
static int same(const char *a, const char *b, size_t n)
{
	for (; n && *a == *b; a++, b++, n--)
		if (!*a)
			return 1;
	return !n;
}

/* Is the property at prop called name? (Its name lies in the strings block: compared without leaving it.) */
static int prop_is(int prop, const char *name)
{
	for (uint32_t off = cell(prop + 8); off < strings_size; off++, name++) {
		if (strings[off] != *name)
			return 0;
		if (!*name)
			return 1;
	}
	return 0;
}

int uf_fdt_init(const void *p)
{
	const uint32_t *h = p;          /* the header: 10 big-endian words (9 before version 17) */
	blob = NULL;
	used = 0;
	nnodes = 0;
	if (!h || ((uintptr_t)h & 3) || be32(&h[MAGIC]) != FDT_MAGIC)
		return -1;
	uint32_t total = be32(&h[TOTALSIZE]), version = be32(&h[VERSION]);
	uint32_t soff = be32(&h[OFF_STRUCT]), stroff = be32(&h[OFF_STRINGS]), rsv = be32(&h[OFF_RSVMAP]);
	uint32_t ssize = version >= 17 ? be32(&h[SIZE_STRUCT]) : total - soff, strsize = be32(&h[SIZE_STRINGS]);
	int bad = (version < 16) | (be32(&h[LAST_COMP]) > 17) | (total < (version >= 17 ? 40 : HEADER_V16));
	bad |= ((soff | ssize) & 3) | (rsv & 7) | !inside(soff, ssize, total) | !inside(stroff, strsize, total);
	if (bad)
		return -1;
	/* The memory reservation map: 16-byte (address, size) pairs up to a (0, 0) one. Only its extent matters. */
	const uint32_t *r;
	for (;; rsv += 16) {
		if (!inside(rsv, 16, total))
			return -1;
		r = (const uint32_t *)((const unsigned char *)p + rsv);
		if (!(r[0] | r[1] | r[2] | r[3]))
			break;
	}

	structs = (const unsigned char *)p + soff;
	struct_size = ssize;
	strings = (const char *)p + stroff;
	strings_size = strsize;
	/* The root: the first node, after any NOPs. */
	int off = 0, next, t;
	while ((t = token(off, &next)) == FDT_NOP)
		off = next;
	if (t != FDT_BEGIN_NODE)
		return -1;
	root = off;
	cached_child = -1;
	build_index();
	blob = p;
	used = max(max(version >= 17 ? 40 : HEADER_V16, rsv + 16), max(soff + ssize, stroff + strsize));
	return 0;
}

const void *uf_fdt_blob(void)
{
	return blob;
}

size_t uf_fdt_size(void)
{
	return used;
}

void uf_fdt_move(void *dst)
{
	if (!blob || dst == blob)
		return;
	unsigned char *d = dst;
	memcpy(d, blob, used);
	for (int i = 0; i < 4; i++)            /* totalsize, big-endian: the copy ends where its blocks do */
		d[4 + i] = (unsigned char)(used >> (24 - 8 * i));
	/* The copy passes uf_fdt_init's checks as the original did (its totalsize covers the blocks): the same
	 * offsets, and the same index, hold in it. */
	structs = d + (structs - blob);
	strings = (const char *)d + ((const unsigned char *)strings - blob);
	blob = d;
}

int uf_fdt_next_node(int after)
{
	int off, next, t;
	if (!blob)
		return -1;
	if (after < 0)
		return root;
	int i = lookup(after);
	if (i >= 0)
		return i + 1 < nnodes ? (int)node_off[i + 1] : -1;
	if (token(after, &off) != FDT_BEGIN_NODE)
		return -1;
	while ((t = token(off, &next)) >= 0 && t != FDT_BEGIN_NODE)
		off = next;
	return t == FDT_BEGIN_NODE ? off : -1;
}

/* The first token after node's properties: its first child's begin-node, or its end-node. -1 if malformed. */
static int after_props(int node, int *t)
{
	int off, next;
	if (!blob || token(node, &off) != FDT_BEGIN_NODE)
		return -1;
	while ((*t = token(off, &next)) == FDT_PROP || *t == FDT_NOP)
		off = next;
	return *t < 0 ? -1 : off;
}

/* Returns child, remembering its parent. */
static int found(int child, int parent)
{
	if (child >= 0) {
		cached_child = child;
		cached_parent = parent;
	}
	return child;
}

int uf_fdt_first_child(int node)
{
	int i = lookup(node);
	if (i >= 0)
		return found(i + 1 < nnodes && node_parent[i + 1] == i ? (int)node_off[i + 1] : -1, node);
	int t, off = after_props(node, &t);
	return found(off >= 0 && t == FDT_BEGIN_NODE ? off : -1, node);
}

int uf_fdt_next_sibling(int node)
{
	int i = lookup(node);
	if (i >= 0)
		return node_next[i] < 0 ? -1 : found((int)node_off[(int)node_next[i]],
						     node_parent[i] < 0 ? -1 : (int)node_off[(int)node_parent[i]]);
	int t, off = after_props(node, &t), next, depth = 0;
	/* Past node's subtree: its end-node, at depth 0 (children's begin/end pairs nest above it). */
	for (; off >= 0; off = next) {
		t = token(off, &next);
		if (t == FDT_BEGIN_NODE)
			depth++;
		else if (t == FDT_END_NODE && depth-- == 0)
			break;
		else if (t < 0)
			return -1;
	}
	if (off < 0)
		return -1;
	for (off = next; (t = token(off, &next)) == FDT_NOP;)
		off = next;
	return t == FDT_BEGIN_NODE ? found(off, node == cached_child ? cached_parent : uf_fdt_parent(node)) : -1;
}

const char *uf_fdt_name(int node)
{
	int next;
	if (lookup(node) >= 0)
		return (const char *)structs + node + 4;
	return blob && token(node, &next) == FDT_BEGIN_NODE ? (const char *)structs + node + 4 : NULL;
}

const void *uf_fdt_getprop(int node, const char *name, int *len)
{
	int off, next, t, i = lookup(node);
	if (i >= 0) {
		/* Checked when the index was built: only PROP and NOP tokens, whole, up to node_end. */
		for (uint32_t p = node_props[i], end = node_end[i]; p < end;) {
			if (cell(p) == FDT_NOP) {
				p += 4;
				continue;
			}
			if (prop_is((int)p, name)) {
				if (len)
					*len = (int)cell(p + 4);
				return structs + p + 12;
			}
			p = (p + 12 + cell(p + 4) + 3) & ~3u;
		}
		return NULL;
	}
	if (!blob || token(node, &off) != FDT_BEGIN_NODE)
		return NULL;
	/* A node's properties come before its subnodes. */
	for (; (t = token(off, &next)) == FDT_PROP || t == FDT_NOP; off = next) {
		if (t == FDT_PROP && prop_is(off, name)) {
			if (len)
				*len = (int)cell(off + 4);
			return structs + off + 12;
		}
	}
	return NULL;
}

const char *uf_fdt_getstring(int node, const char *name)
{
	int len;
	const char *s = uf_fdt_getprop(node, name, &len);
	return s && len > 0 && !s[len - 1] ? s : NULL;
}

int uf_fdt_is_compatible(int node, const char *compatible)
{
	int len;
	const char *s = uf_fdt_getprop(node, "compatible", &len);
	if (!s || len <= 0 || s[len - 1])
		return 0;
	for (const char *end = s + len; s < end; s += strlen(s) + 1)  /* NUL-terminated strings, the last one too */
		if (same(s, compatible, SIZE_MAX))
			return 1;
	return 0;
}

int uf_fdt_is_okay(int node)
{
	const char *status = uf_fdt_getstring(node, "status");
	return !status || same(status, "okay", SIZE_MAX) || same(status, "ok", SIZE_MAX);    /* "ok": older trees */
}

int uf_fdt_find_compatible(const char *compatible, int after)
{
	for (int node = uf_fdt_next_node(after); node >= 0; node = uf_fdt_next_node(node))
		if (uf_fdt_is_compatible(node, compatible))
			return node;
	return -1;
}

/* Does node's name match the path component [c, c + n)? Without a unit address in c, the node's is ignored. */
static int name_matches(int node, const char *c, size_t n)
{
	const char *name = (const char *)structs + node + 4;
	size_t i = 0;
	while (i < n && name[i] == c[i] && c[i] != '@')
		i++;
	if (i < n && name[i] == c[i])   /* c has a unit address: the whole name must match */
		return same(name, c, n) && !name[n];
	return i == n && (!name[n] || name[n] == '@');
}

/* uf_fdt_path through the index: children by their indexes, names compared in one loop (a component with a unit
 * address must match the whole name, one without matches the name up to its '@'). */
static int path_indexed(const char *path)
{
	for (int i = 0;;) {
		while (*path == '/')
			path++;
		if (!*path)
			return (int)node_off[i];
		size_t n = 0;
		int at = 0;
		for (; path[n] && path[n] != '/'; n++)
			at |= path[n] == '@';
		int c = i + 1 < nnodes && node_parent[i + 1] == i ? i + 1 : -1;
		for (; c >= 0; c = node_next[c]) {
			const char *name = (const char *)structs + node_off[c] + 4;
			size_t k = 0;
			while (k < n && name[k] == path[k])
				k++;
			if ((k == n) & (!name[n] | ((name[n] == '@') & !at)))
				break;
		}
		if (c < 0)
			return -1;
		i = c;
		path += n;
	}
}

int uf_fdt_path(const char *path)
{
	if (!blob || *path != '/')
		return -1;
	if (nnodes)
		return path_indexed(path);
	int node = root;
	for (;;) {
		while (*path == '/')
			path++;
		if (!*path)
			return node;
		size_t n = 0;
		while (path[n] && path[n] != '/')
			n++;
		int child = uf_fdt_first_child(node);
		while (child >= 0 && !name_matches(child, path, n))
			child = uf_fdt_next_sibling(child);
		if (child < 0)
			return -1;
		node = child;
		path += n;
	}
}

int uf_fdt_parent(int node)
{
	int stack[MAX_DEPTH], depth = 0, off = root, next, t;
	if (!blob)
		return -1;
	if (node == cached_child)
		return cached_parent;
	int i = lookup(node);
	if (i >= 0)
		return node_parent[i] < 0 ? -1 : (int)node_off[(int)node_parent[i]];
	while ((t = token(off, &next)) >= 0) {
		if (t == FDT_BEGIN_NODE) {
			if (off == node)
				return depth ? stack[depth - 1] : -1;
			if (depth == MAX_DEPTH)
				return -1;
			stack[depth++] = off;
		} else if (t == FDT_END_NODE && --depth < 0) {
			return -1;
		}
		off = next;
	}
	return -1;
}

/* A #address-cells or #size-cells property of node, or its default when absent (node < 0: the defaults). */
static uint32_t cells(int node, const char *name, uint32_t dflt)
{
	int len;
	const void *p = node >= 0 ? uf_fdt_getprop(node, name, &len) : NULL;
	return p && len == 4 ? uf_fdt_read32(p) : dflt;
}

/* A number of n (at most 2) cells. */
static uint64_t number(const unsigned char *p, uint32_t n)
{
	uint64_t v = n ? uf_fdt_read32(p) : 0;
	return n > 1 ? v << 32 | uf_fdt_read32(p + 4) : v;
}

int uf_fdt_reg(int node, int index, uint64_t *base, uint64_t *size)
{
	int parent = uf_fdt_parent(node), len;
	uint32_t ac = cells(parent, "#address-cells", 2), sc = cells(parent, "#size-cells", 1);
	const unsigned char *p = uf_fdt_getprop(node, "reg", &len);
	if (!p | (index < 0) | (ac - 1 > 1) | (sc > 2))
		return -1;
	size_t entry = 4 * (ac + sc);
	if (((uint64_t)index + 1) * entry > (size_t)len)        /* no entry `index` in len bytes */
		return -1;
	p += index * entry;
	*base = number(p, ac);
	*size = number(p + 4 * ac, sc);
	return 0;
}

#pragma clang attribute pop
