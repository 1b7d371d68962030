/* Xen grant tables, version 1: how a domain lets another one read or write one of its pages (split drivers'
 * rings and buffers). One table frame: 512 grant references. Calls return 0 or -errno unless said otherwise. */
#ifndef UF_XENGNTTAB_H
#define UF_XENGNTTAB_H

#include <stdint.h>

/* Grants domain `domid` access to the page at `page` (page-aligned, identity mapped); returns the grant reference
 * (>= 0), -ENOSPC when the table is full. */
int uf_xen_gnttab_grant(uint16_t domid, const void *page, int readonly);
/* Withdraws a grant; -EBUSY while the other domain still has the page mapped. */
int uf_xen_gnttab_end(int ref);
/* Copies len bytes at offset from the page domain `domid` granted us as `ref` into dst (one page at most). */
int uf_xen_gnttab_copy_from(uint16_t domid, uint32_t ref, uint16_t offset, void *dst, uint16_t len);

#endif
