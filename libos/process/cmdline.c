/* Splitting the boot command line. The rule matches quote_guest_args() in the runner (toolchain/uniforge/platforms/run.py). */
#include <uf/process.h>

static int is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

int uf_cmdline_split(char *line, char **words, int max)
{
	int count = 0;
	char *in = line, *out = line;
	while (*in) {
		while (is_space(*in))
			in++;
		if (!*in)
			break;
		if (count == max)
			return -1;
		words[count++] = out;
		int quoted = 0;
		for (; *in && (quoted || !is_space(*in)); in++) {
			if (*in == '"')
				quoted = !quoted;
			else if (*in == '\\' && in[1])
				*out++ = *++in;
			else
				*out++ = *in;
		}
		if (*in)
			in++;
		*out++ = 0;
	}
	return count;
}
