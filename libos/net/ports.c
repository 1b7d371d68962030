/* The local ports in use, one table per transport (TCP's and UDP's), indexed by port: whether a port is free,
 * and who holds it, looks at that port's owners only (mostly none), not at every endpoint. Ports come in pages of
 * 256, each allocated while one of its ports has an owner. A port chains its owners, newest first, and counts
 * those that forbid sharing it, so that the usual questions need no walk: nobody on the port (a free ephemeral
 * port), or SO_REUSEADDR asked and every owner allows it (a server restarted beside its old connections). */
#include <errno.h>
#include <stdlib.h>

#include "stack.h"

#define EPHEMERAL_LOW 49152             /* as Linux's ip_local_port_range default tail, and the IANA range */

struct port {
	struct uf_port_owner *owners;
	uint32_t count, strict;         /* owners; those that forbid sharing whatever is asked */
};

struct uf_port_page {
	struct port port[UF_PORT_PAGE];
	uint32_t used;                  /* ports with an owner */
};

static struct port *port_of(const struct uf_ports *table, uint16_t port)
{
	struct uf_port_page *page = table->pages[port / UF_PORT_PAGE];
	return page ? &page->port[port % UF_PORT_PAGE] : 0;
}

int uf_port_take(struct uf_ports *table, struct uf_port_owner *o, const uint8_t *addr, int families, uint16_t port,
		 int strict)
{
	struct uf_port_page **page = &table->pages[port / UF_PORT_PAGE];
	if (!*page && !(*page = calloc(1, sizeof **page)))
		return -ENOMEM;
	struct port *p = &(*page)->port[port % UF_PORT_PAGE];
	o->addr = addr;
	o->families = families;
	o->port = port;
	o->strict = !!strict;
	(*page)->used += !p->count;
	p->count++;
	p->strict += o->strict;
	o->next = p->owners;
	if (o->next)
		o->next->pprev = &o->next;
	o->pprev = &p->owners;
	p->owners = o;
	return 0;
}

void uf_port_release(struct uf_ports *table, struct uf_port_owner *o)
{
	if (!o->pprev)
		return;
	struct uf_port_page **page = &table->pages[o->port / UF_PORT_PAGE];
	struct port *p = &(*page)->port[o->port % UF_PORT_PAGE];
	*o->pprev = o->next;
	if (o->next)
		o->next->pprev = o->pprev;
	o->next = 0;
	o->pprev = 0;
	p->strict -= o->strict;
	if (!--p->count && !--(*page)->used) {
		free(*page);
		*page = 0;
	}
}

void uf_port_set_strict(struct uf_ports *table, struct uf_port_owner *o, int strict)
{
	if (!o->pprev || o->strict == !!strict)
		return;
	struct port *p = port_of(table, o->port);
	o->strict = !!strict;
	if (strict)
		p->strict++;
	else
		p->strict--;
}

struct uf_port_owner *uf_port_owners(const struct uf_ports *table, uint16_t port)
{
	const struct port *p = port_of(table, port);
	return p ? p->owners : 0;
}

int uf_port_busy(const struct uf_ports *table, uint16_t port, const uint8_t addr[16], int families, int reuse)
{
	const struct port *p = port_of(table, port);
	if (!p || (reuse && !p->strict))
		return 0;
	/* Only this port's owners, up to the first that conflicts. */
	for (const struct uf_port_owner *o = p->owners; o; o = o->next)
		if (addr_overlap(o->addr, o->families, addr, families) && (!reuse || o->strict))
			return 1;
	return 0;
}

uint16_t uf_port_ephemeral(const struct uf_ports *table, const uint8_t addr[16], int families)
{
	uint32_t range = 65536 - EPHEMERAL_LOW, start = uf_net_random() % range;
	for (uint32_t i = 0; i < range; i++) {
		uint16_t p = (uint16_t)(EPHEMERAL_LOW + (start + i) % range);
		if (!uf_port_busy(table, p, addr, families, 0))
			return p;
	}
	return 0;
}
