/* The flattened device tree (devicetree specification v0.4, chapter 5) that the boot loader passes: read-only
 * queries over one blob. The blob is input: every offset and length is checked, nothing is read past it.
 * Nodes are named by their offset in the structure block (the root is 0); -1 means "none". */
#ifndef UF_FDT_H
#define UF_FDT_H

#include <stddef.h>
#include <stdint.h>

/* Validates blob's header and makes it the tree the queries below read (NULL or an invalid blob: none, every
 * query then finds nothing). Returns 0, or -1 if the blob was rejected. */
int uf_fdt_init(const void *blob);
/* The current blob, NULL if none. */
const void *uf_fdt_blob(void);
/* The bytes the current blob's header and blocks occupy (at most its totalsize; 0 if none). */
size_t uf_fdt_size(void);
/* Copies the current blob's uf_fdt_size() bytes to dst (8-byte aligned memory that stays, not overlapping the
 * blob), records the copy's
 * size as its totalsize, and makes the copy the current blob: the loader's memory can then be reused. */
void uf_fdt_move(void *dst);

/* The node at an absolute path ("/", "/chosen", "/memory@40000000"). A component without a unit address
 * matches a node whose name has one ("/memory" finds "memory@40000000"). */
int uf_fdt_path(const char *path);
/* The node after `after` in document order (after = -1: the root). */
int uf_fdt_next_node(int after);
/* node's first child, and the child after `child` of the same parent: -1 when there is none. */
int uf_fdt_first_child(int node);
int uf_fdt_next_sibling(int child);
/* node's name with its unit address ("memory@40000000"; "" for the root), NULL if node is not a node. */
const char *uf_fdt_name(int node);
/* The first node after `after` (-1: from the start) whose "compatible" list holds compatible. */
int uf_fdt_find_compatible(const char *compatible, int after);
/* 1 if node's "compatible" list holds compatible. */
int uf_fdt_is_compatible(int node, const char *compatible);
/* 1 if node is usable: no "status" property, or "okay" (devicetree spec 2.3.4: "disabled" and "reserved" nodes
 * describe hardware that is not there for us, e.g. memory only the secure world may touch). */
int uf_fdt_is_okay(int node);
/* The node that contains node (-1 for the root). */
int uf_fdt_parent(int node);

/* A property's value and its length in bytes (len may be NULL), or NULL if node has no such property. */
const void *uf_fdt_getprop(int node, const char *name, int *len);
/* A property that is a string: its value if its last byte is NUL (as the spec wants), else NULL. */
const char *uf_fdt_getstring(int node, const char *name);
/* Entry `index` of node's "reg", sized by the parent's #address-cells and #size-cells (defaults 2 and 1;
 * at most 2 cells each). Returns 0, or -1 if there is no such entry. Addresses are as the parent bus sees
 * them (no "ranges" translation: on the machines we boot, the buses that matter map 1:1). */
int uf_fdt_reg(int node, int index, uint64_t *base, uint64_t *size);

/* A 32-bit big-endian cell at any alignment. */
uint32_t uf_fdt_read32(const void *p);

#endif
