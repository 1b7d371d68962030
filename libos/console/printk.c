/* uf_printk: the kernel's printf, formatting into a small buffer that goes to uf_console_write in pieces (the
 * library OS never uses the libc's stdio: it must work while the libc is broken, or before it starts). */
#include <stdint.h>
#include <uf/console.h>

struct out {
	char buf[128];
	size_t len;
	int total;
};

static void flush(struct out *o)
{
	uf_console_write(o->buf, o->len);
	o->len = 0;
}

/* Out of line: called from many places, and the kernel's printing is never hot. */
__attribute__((noinline)) static void emit(struct out *o, char c)
{
	if (o->len == sizeof o->buf)
		flush(o);
	o->buf[o->len++] = c;
	o->total++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

/* One conversion: prefix ("-", "0x" or ""), then body (n chars), padded to width. */
static void field(struct out *o, const char *prefix, const char *body, int n, int width, int left, int zero)
{
	int plen = 0;
	while (prefix[plen])
		plen++;
	int fill = width - plen - n;
	if (!left && !zero)
		pad(o, ' ', fill);
	for (int i = 0; i < plen; i++)
		emit(o, prefix[i]);
	if (!left && zero)
		pad(o, '0', fill);
	for (int i = 0; i < n; i++)
		emit(o, body[i]);
	if (left)
		pad(o, ' ', fill);
}

int uf_vprintk(const char *fmt, va_list ap)
{
	struct out o = { .len = 0, .total = 0 };
	while (*fmt) {
		if (*fmt != '%') {
			emit(&o, *fmt++);
			continue;
		}
		const char *start = fmt++;
		int left = 0, zero = 0, width = 0, size = 0;   /* size: 0 int, 1 long, 2 long long, 3 size_t */
		for (;; fmt++) {
			if (*fmt == '-')
				left = 1;
			else if (*fmt == '0')
				zero = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		for (; *fmt == 'l' && size < 2; fmt++)
			size++;
		if (*fmt == 'z') {
			size = 3;
			fmt++;
		}

		char digits[24], *end = digits + sizeof digits, *p = end;
		const char *prefix = "";
		unsigned long long v;
		unsigned base = 10;
		switch (*fmt) {
		case 'c':
			digits[0] = (char)va_arg(ap, int);
			field(&o, "", digits, 1, width, left, 0);
			fmt++;
			continue;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = 0;
			if (!s)
				s = "(null)";
			while (s[n])
				n++;
			field(&o, "", s, n, width, left, 0);
			fmt++;
			continue;
		}
		case 'd':
		case 'i': {
			long long x = size == 2 ? va_arg(ap, long long) : size ? va_arg(ap, long) : va_arg(ap, int);
			v = x < 0 ? -(unsigned long long)x : (unsigned long long)x;
			prefix = x < 0 ? "-" : "";
			break;
		}
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			prefix = "0x";
			base = 16;
			break;
		case 'x':
		case 'X':
			base = 16;
			/* fall through */
		case 'u':
			v = size == 2 ? va_arg(ap, unsigned long long) : size == 3 ? va_arg(ap, size_t) :
			    size ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			break;
		case '%':
			emit(&o, '%');
			fmt++;
			continue;
		default:        /* unknown or truncated: print it as written */
			for (; start < fmt; start++)
				emit(&o, *start);
			if (*fmt)
				emit(&o, *fmt++);
			continue;
		}
		const char *hex = *fmt == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
		do
			*--p = hex[v % base];
		while (v /= base);
		field(&o, prefix, p, (int)(end - p), width, left, zero);
		fmt++;
	}
	flush(&o);
	return o.total;
}

int uf_printk(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = uf_vprintk(fmt, ap);
	va_end(ap);
	return n;
}
