/* What /etc holds, in the formats of passwd(5), group(5), hosts(5), services(5) and protocols(5). The ids are
 * Debian's; the services are the IANA assignments programs most often look up by name. */
#include <string.h>
#include <uf/process.h>
#include "etc.h"

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"bin:x:2:2:bin:/bin:/usr/sbin/nologin\n"
	"sys:x:3:3:sys:/dev:/usr/sbin/nologin\n"
	"www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

/* nobody's group is "nogroup" on Debian and "nobody" elsewhere: programs ask for either. */
static const char group[] =
	"root:x:0:\n"
	"daemon:x:1:\n"
	"bin:x:2:\n"
	"sys:x:3:\n"
	"adm:x:4:\n"
	"tty:x:5:\n"
	"disk:x:6:\n"
	"www-data:x:33:\n"
	"users:x:100:\n"
	"nogroup:x:65534:\n"
	"nobody:x:65534:\n";

static const char hosts[] =
	"127.0.0.1\tlocalhost\n"
	"127.0.1.1\tuniforge\n"
	"::1\tlocalhost ip6-localhost ip6-loopback\n";

static const char hostname[] = "uniforge\n";

static const char services[] =
	"echo\t\t7/tcp\n"
	"echo\t\t7/udp\n"
	"discard\t\t9/tcp\t\tsink null\n"
	"discard\t\t9/udp\t\tsink null\n"
	"daytime\t\t13/tcp\n"
	"daytime\t\t13/udp\n"
	"chargen\t\t19/tcp\t\tttytst source\n"
	"ftp-data\t20/tcp\n"
	"ftp\t\t21/tcp\n"
	"ssh\t\t22/tcp\n"
	"telnet\t\t23/tcp\n"
	"smtp\t\t25/tcp\t\tmail\n"
	"time\t\t37/tcp\t\ttimserver\n"
	"time\t\t37/udp\t\ttimserver\n"
	"whois\t\t43/tcp\t\tnicname\n"
	"domain\t\t53/tcp\n"
	"domain\t\t53/udp\n"
	"bootps\t\t67/udp\n"
	"bootpc\t\t68/udp\n"
	"tftp\t\t69/udp\n"
	"gopher\t\t70/tcp\n"
	"finger\t\t79/tcp\n"
	"http\t\t80/tcp\t\twww\n"
	"kerberos\t88/tcp\t\tkerberos5 krb5 kerberos-sec\n"
	"kerberos\t88/udp\t\tkerberos5 krb5 kerberos-sec\n"
	"pop3\t\t110/tcp\t\tpop-3\n"
	"sunrpc\t\t111/tcp\t\tportmapper\n"
	"sunrpc\t\t111/udp\t\tportmapper\n"
	"auth\t\t113/tcp\t\tauthentication tap ident\n"
	"nntp\t\t119/tcp\t\treadnews untp\n"
	"ntp\t\t123/udp\n"
	"netbios-ns\t137/udp\n"
	"netbios-dgm\t138/udp\n"
	"netbios-ssn\t139/tcp\n"
	"imap2\t\t143/tcp\t\timap\n"
	"snmp\t\t161/udp\n"
	"snmp-trap\t162/udp\t\tsnmptrap\n"
	"bgp\t\t179/tcp\n"
	"irc\t\t194/tcp\n"
	"ldap\t\t389/tcp\n"
	"ldap\t\t389/udp\n"
	"https\t\t443/tcp\n"
	"https\t\t443/udp\n"
	"microsoft-ds\t445/tcp\n"
	"isakmp\t\t500/udp\n"
	"syslog\t\t514/udp\n"
	"printer\t\t515/tcp\t\tspooler\n"
	"submission\t587/tcp\n"
	"ldaps\t\t636/tcp\n"
	"rsync\t\t873/tcp\n"
	"ftps\t\t990/tcp\n"
	"imaps\t\t993/tcp\n"
	"pop3s\t\t995/tcp\n"
	"socks\t\t1080/tcp\n"
	"openvpn\t\t1194/tcp\n"
	"openvpn\t\t1194/udp\n"
	"ms-sql-s\t1433/tcp\n"
	"radius\t\t1812/udp\n"
	"nfs\t\t2049/tcp\n"
	"nfs\t\t2049/udp\n"
	"mysql\t\t3306/tcp\n"
	"svn\t\t3690/tcp\n"
	"sip\t\t5060/tcp\n"
	"sip\t\t5060/udp\n"
	"postgresql\t5432/tcp\t\tpostgres\n"
	"amqp\t\t5672/tcp\n"
	"x11\t\t6000/tcp\t\tx11-0\n"
	"redis\t\t6379/tcp\n"
	"http-alt\t8080/tcp\t\twebcache\n"
	"memcache\t11211/tcp\n"
	"memcache\t11211/udp\n";

static const char protocols[] =
	"ip\t0\tIP\n"
	"icmp\t1\tICMP\n"
	"igmp\t2\tIGMP\n"
	"tcp\t6\tTCP\n"
	"udp\t17\tUDP\n"
	"ipv6\t41\tIPv6\n"
	"ipv6-route\t43\tIPv6-Route\n"
	"ipv6-frag\t44\tIPv6-Frag\n"
	"gre\t47\tGRE\n"
	"esp\t50\tIPSEC-ESP\n"
	"ah\t51\tIPSEC-AH\n"
	"ipv6-icmp\t58\tIPv6-ICMP\n"
	"ipv6-nonxt\t59\tIPv6-NoNxt\n"
	"ipv6-opts\t60\tIPv6-Opts\n"
	"sctp\t132\tSCTP\n"
	"udplite\t136\tUDPLite\n";

/* The network stack's DNS server (weak: reading /etc/resolv.conf links no stack). */
uint32_t uf_net_dns(void) __attribute__((weak));

/* Appends "nameserver TEXT\n" to buf (holding *n of size bytes) if it fits. */
static void nameserver(char *buf, size_t size, size_t *n, const char *text)
{
	size_t len = strlen("nameserver ") + strlen(text) + 1;
	if (*n + len < size) {
		strcat(strcat(strcpy(buf + *n, "nameserver "), text), "\n");
		*n += len;
	}
}

/* uf.dns= when given, else what the stack learned (DHCP); then uf.dns6= when given. Without a server musl asks
 * 127.0.0.1, which the stack forwards to its server when it has one (a router's advertised IPv6 one too). */
static size_t resolv_conf(char *buf, size_t size)
{
	const char *option = uf_option("uf.dns"), *option6 = uf_option("uf.dns6");
	uint32_t a = !option && uf_net_dns ? uf_net_dns() : 0;
	char text[16], *p = text;
	size_t n = 0;
	if (!option && !a && !option6)
		return strlen(strncpy(buf, "# no DNS server known (no DHCP lease, no uf.dns=)\n", size));
	for (int shift = 24; !option && a && shift >= 0; shift -= 8) {
		unsigned byte = a >> shift & 255;
		if (byte >= 100)
			*p++ = '0' + byte / 100;
		if (byte >= 10)
			*p++ = '0' + byte / 10 % 10;
		*p++ = '0' + byte % 10;
		*p++ = shift ? '.' : 0;
	}
	if (option || a)
		nameserver(buf, size, &n, option ? option : text);
	if (option6)
		nameserver(buf, size, &n, option6);
	return n;
}

/* Sorted by name, as ls shows them. */
const struct uf_etc_file uf_etc_files[] = {
	{ "group", group, 0 }, { "hostname", hostname, 0 }, { "hosts", hosts, 0 }, { "passwd", passwd, 0 },
	{ "protocols", protocols, 0 }, { "resolv.conf", 0, resolv_conf }, { "services", services, 0 },
};
const unsigned uf_etc_file_count = sizeof uf_etc_files / sizeof *uf_etc_files;
