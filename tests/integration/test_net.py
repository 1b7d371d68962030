"""The network, end to end: examples/httpd and examples/udp-echo boot in QEMU and are used from the host with curl,
Python clients, ping, a lossy relay and scapy, over QEMU user networking (`-p`) and over tap devices in a network
namespace each test makes (`net="tap:NAME", netns=...`). Guests boot through the pytest plugin and the API
(`uniforge_boot`, `Image.boot`); a failed test's report carries the console of every guest it used.

It runs on every target with a NIC (`net`) and takes about 1.5 minutes per target on a quiet machine (measured:
the 64 MiB echo itself takes 2-3 s on TCG, x86_64 and ARMv7), much longer on a busy one: the tests are marked `slow`; the README's test command (scripts/test)
runs them all, `-m "not slow"` leaves them out when iterating. The namespace tests need root (they skip otherwise).
"""
import hashlib
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, app_dir, compiled_modules, free_port, uniforge
from host_network import ADDRESS_LINE, Namespace, require_namespaces
from uniforge.core.errors import ExitCode

TOOLS = Path(__file__).parent / "netns_tools"
LISTENING = r"httpd: listening on port (\d+)"
BOOT_WAIT = 600  # seconds for a guest to come up on a busy TCG host (a bound, not a performance check)
REQUEST_WAIT = 600
GUEST_LIMIT = 3600  # seconds a guest may live: never past a test session by accident
PAGE = ROOT / "examples" / "httpd" / "htdocs" / "index.html"  # packed into the image (`files` in its manifest)

pytestmark = [pytest.mark.slow, pytest.mark.uniforge(needs=["net"])]


def need(tool: str) -> None:
    if not shutil.which(tool):
        pytest.skip(f"`{tool}` is not installed (scripts/install-host-deps installs it)")


def boot(image, args=(), *, ready: str, **how):
    """`image` booted in the background (Image.boot's keywords), once its console shows `ready`."""
    vm = image.boot(args, timeout=GUEST_LIMIT, **how)
    try:
        vm.expect(ready, BOOT_WAIT)
    except BaseException:
        vm.close()
        raise
    return vm


def httpd_image(uniforge_build, target):
    return uniforge_build(app_dir("httpd"), target)


def address_line(vm) -> dict:
    """The guest's IPv4 configuration, as it printed it at boot."""
    return vm.expect(ADDRESS_LINE, 1, since_boot=True).groupdict()


def assert_running(vm) -> None:
    assert vm.running, f"the guest ended: {vm.wait(0).message}"
    assert vm.crash is None, str(vm.crash)


def get(port: int, path: str, host: str = "127.0.0.1") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=REQUEST_WAIT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- QEMU user networking: DHCP, hostfwd, curl -------------------------------------------------------------------

@pytest.fixture(scope="module")
def httpd(uniforge_build, target):
    """httpd booted once per target with guest port 80 published on a free host port; yields (guest, port)."""
    with boot(httpd_image(uniforge_build, target), ["80"], publish=[80], ready=LISTENING) as vm:
        yield vm, vm.port(80)[1]


def test_dhcp_lease_from_user_networking(httpd):
    guest, _ = httpd
    line = address_line(guest)
    assert (line["addr"], line["prefix"], line["gw"], line["how"]) == ("10.0.2.15", "24", "10.0.2.2", "dhcp")
    assert line["dns"] in (None, "10.0.2.3")


def test_slaac_from_user_networking(httpd):
    """QEMU's user networking (IPv6 on by default) advertises fec0::/64 with router fe80::2: the guest's SLAAC."""
    guest, _ = httpd
    guest.expect(r"uniforge: net6: fe80::5054:ff:fe12:3456 fec0::5054:ff:fe12:3456/64 gw fe80::2 \(slaac\)", 120,
                 since_boot=True)


def test_pages_and_errors(httpd):
    """The page comes from the image's embedded htdocs/ tree (`files` in the manifest), byte for byte."""
    guest, port = httpd
    page = PAGE.read_bytes()
    for path in ("/", "/index.html"):
        assert get(port, path) == (200, page)
    status, body = get(port, "/no/such/page")
    assert status == 404, body
    status, body = get(port, "/stats")
    assert status == 200 and json.loads(body)["requests"] >= 3, body
    assert_running(guest)


def test_1000_sequential_requests_with_curl(httpd, tmp_path):
    """Each request on a new connection (Connection: close); /stats counts them, so every answer is distinct."""
    need("curl")
    guest, port = httpd
    config = tmp_path / "urls"
    config.write_text("".join(f'url = "http://127.0.0.1:{port}/stats"\n' for _ in range(1000)))
    proc = subprocess.run(["curl", "-sS", "--fail", "-H", "Connection: close", "--max-time", "120", "-K", str(config)],
                          capture_output=True, text=True, timeout=3600, check=False)
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(answers) == 1000
    counts = [a["requests"] for a in answers]
    assert counts == list(range(counts[0], counts[0] + 1000)), "every request answered once, in order"
    connections = [a["connections"] for a in answers]
    assert connections == list(range(connections[0], connections[0] + 1000)), "one connection per request"
    assert_running(guest)


def test_50_concurrent_keepalive_connections(httpd):
    """50 connections open at once, each sending 10 requests over itself. Run first on its guest,
    their SYN-ACKs are its first packets to QEMU's gateway and all wait for one ARP answer (a neighbour's queue holds
    101 datagrams, as Linux's; it held 4, and 47 handshakes waited a second for a retransmission)."""
    guest, port = httpd
    proc = subprocess.run([sys.executable, str(TOOLS / "keepalive_clients.py"), "127.0.0.1", str(port), "50", "10",
                           str(PAGE)], capture_output=True, text=True, timeout=3600, check=False)
    assert proc.stdout.strip() == "ok", proc.stdout + proc.stderr
    assert_running(guest)


def guest_tcp_segments(pcap: Path, port: int) -> list[tuple[int, int]]:
    """(TCP flags, payload bytes) of each IPv4 segment from guest port `port` in a pcap file (QEMU's filter-dump:
    Ethernet frames, each with a 16-byte record header after the 24-byte file header)."""
    data, at, segments = pcap.read_bytes(), 24, []
    while at + 16 <= len(data):
        caplen = int.from_bytes(data[at + 8:at + 12], "little")
        frame, at = data[at + 16:at + 16 + caplen], at + 16 + caplen
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ip = frame[14:]
        ihl, total = (ip[0] & 15) * 4, int.from_bytes(ip[2:4], "big")
        tcp = ip[ihl:]
        if int.from_bytes(tcp[0:2], "big") == port:
            segments.append((tcp[13], total - ihl - (tcp[12] >> 4) * 4))
    return segments


def test_the_answer_carries_the_ack_of_the_request(uniforge_build, target, tmp_path):
    """Delayed ACKs (libos/net/tcp_delack.c): 30 requests on one keep-alive connection; the guest's frames, as
    QEMU's filter-dump on its NIC saw them, are the answers, whose ACK acknowledges the request: no pure ACK per
    request (two frames per exchange, as before), only the first request's (quick-ACK mode) and the odd one whose
    answer came late."""
    pcap = tmp_path / "guest.pcap"
    with boot(httpd_image(uniforge_build, target), ["80"], publish=[80], ready=LISTENING,
              extra_qemu_args=["-object", f"filter-dump,id=dump0,netdev=net0,file={pcap}"]) as vm:
        conn = http.client.HTTPConnection("127.0.0.1", vm.port(80)[1], timeout=REQUEST_WAIT)
        for _ in range(30):
            conn.request("GET", "/")
            response = conn.getresponse()
            assert response.status == 200 and response.read() == PAGE.read_bytes()
        conn.close()
        time.sleep(1)
        assert_running(vm)
    segments = guest_tcp_segments(pcap, 80)
    answers = [s for s in segments if s[1]]
    pure_acks = [s for s in segments if not s[1] and s[0] & 0x17 == 0x10]      # ACK only: no SYN, FIN, RST
    assert len(answers) >= 30, segments
    assert len(pure_acks) <= 6, f"{len(pure_acks)} pure ACKs for 30 requests: {segments}"


def test_64mib_upload_is_echoed_intact(httpd, tmp_path):
    need("curl")
    guest, port = httpd
    upload, echoed = tmp_path / "upload.bin", tmp_path / "echoed.bin"
    with upload.open("wb") as f:
        f.write(hashlib.shake_256(b"uniforge").digest(64 << 20))
    started = time.monotonic()
    proc = subprocess.run(["curl", "-sS", "--fail", "--data-binary", f"@{upload}", "-o", str(echoed),
                           f"http://127.0.0.1:{port}/echo"], capture_output=True, text=True, timeout=7200,
                          check=False)
    seconds = time.monotonic() - started
    print(f"\n64 MiB echoed in {seconds:.1f} s ({2 * 64 / seconds:.2f} MiB/s both ways)")
    assert proc.returncode == 0, proc.stderr
    assert echoed.stat().st_size == upload.stat().st_size
    assert hashlib.sha256(echoed.read_bytes()).hexdigest() == hashlib.sha256(upload.read_bytes()).hexdigest()
    assert_running(guest)


def test_udp_echo(uniforge_build, uniforge_boot, target):
    port = free_port()
    guest = uniforge_boot(uniforge_build(app_dir("udp-echo"), target), publish=[f"127.0.0.1:{port}:7/udp"],
                          timeout=GUEST_LIMIT)
    guest.expect(r"udp-echo: listening on port 7", BOOT_WAIT)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        for size in (1, 64, 512, 1000, 1472):
            datagram = bytes((size + i) % 251 for i in range(size))
            # UDP may lose a datagram (also inside QEMU's NAT): a few tries, each must come back whole.
            for _ in range(10):
                s.sendto(datagram, ("127.0.0.1", port))
                try:
                    reply, _ = s.recvfrom(65536)
                    break
                except TimeoutError:
                    continue
            else:
                pytest.fail(f"no echo of a {size}-byte datagram")
            assert reply == datagram
    assert_running(guest)


# --- A tap device in a private network namespace: static configuration, ping, hostile frames ----------------------

@pytest.fixture(scope="module")
def httpd_on_tap(uniforge_build, target):
    """httpd on tap uft0 in a new namespace: guest 10.77.0.2/24 (static), host side 10.77.0.1."""
    require_namespaces()
    ns = Namespace()
    try:
        ns.run("sysctl", "-qw", "net.ipv4.tcp_tw_reuse=1")     # as load balancers do: see test_churn_...
        ns.add_tap("uft0", "10.77.0.1/24")
        with boot(httpd_image(uniforge_build, target), ["80"], net="tap:uft0", netns=ns.name,
                  cmdline="uf.ip=10.77.0.2/24 uf.gw=10.77.0.1", ready=LISTENING) as guest:
            yield guest, ns
    finally:
        ns.delete()


def test_static_configuration(httpd_on_tap):
    guest, _ = httpd_on_tap
    line = address_line(guest)
    assert (line["addr"], line["prefix"], line["gw"], line["how"]) == ("10.77.0.2", "24", "10.77.0.1", "static")


def test_ping_over_tap(httpd_on_tap):
    guest, ns = httpd_on_tap
    for size in ("56", "1400"):
        proc = ns.run("ping", "-c", "5", "-i", "0.2", "-W", "30", "-s", size, "10.77.0.2", check=False)
        assert " 0% packet loss" in proc.stdout, proc.stdout + proc.stderr
    status = ns.run("curl", "-sS", "--max-time", "300", "http://10.77.0.2/stats")
    assert json.loads(status.stdout)["requests"] >= 1


def test_50_simultaneous_connections_over_tap(httpd_on_tap):
    """A burst: 50 clients connect at the same moment, then each sends 10 requests over its connection."""
    guest, ns = httpd_on_tap
    proc = ns.run(sys.executable, str(TOOLS / "keepalive_clients.py"), "10.77.0.2", "80", "50", "10", str(PAGE),
                  "--burst", check=False, timeout=3600)
    assert proc.stdout.strip() == "ok", proc.stdout + proc.stderr
    assert_running(guest)


def test_churn_past_the_clients_port_range(httpd_on_tap):
    """30,000 connections one after another, one request each, the client closing first: more than the client's
    28,232 local ports (Linux's default range), all in TIME_WAIT. Linux reuses such a port early only when the
    connection had TCP timestamps (tcp_tw_reuse, set in the namespace); without them the 28,233rd connect fails
    with EADDRNOTAVAIL (and long before, the search for a free port slows every connect down: the collapse
    bench/net_throughput.py --churn measures)."""
    guest, ns = httpd_on_tap
    before = ns.run("nstat", "-az", "TcpExtTWRecycled").stdout
    proc = ns.run(sys.executable, str(ROOT / "bench" / "churn_client.py"), "10.77.0.2", "80", "30000", check=False,
                  timeout=7200)
    assert proc.returncode == 0 and '"total": 30000' in proc.stdout, proc.stdout + proc.stderr
    recycled = int(ns.run("nstat", "-az", "TcpExtTWRecycled").stdout.split()[-2]) - int(before.split()[-2])
    assert recycled > 0, "the client never reused a TIME_WAIT port: no timestamps?"
    assert_running(guest)


def test_hostile_frames_do_not_hurt(httpd_on_tap):
    """10,000 malformed or hostile frames; the guest keeps running and answers the next request and ping."""
    pytest.importorskip("scapy", reason="scapy is in the test extra: pip install '.[test]'")
    guest, ns = httpd_on_tap
    ns.run("ping", "-c", "1", "-W", "30", "10.77.0.2")  # learns the guest's MAC
    neigh = ns.run("ip", "neigh", "show", "10.77.0.2").stdout
    mac = re.search(r"lladdr ([0-9a-f:]{17})", neigh)
    assert mac, neigh
    sent = ns.run(sys.executable, str(TOOLS / "hostile_frames.py"), "uft0", mac[1], "10.77.0.2", "10.77.0.1",
                  "10000", "2026", timeout=1800)
    assert "sent 10000" in sent.stdout, sent.stdout + sent.stderr
    assert_running(guest)
    page = ns.run("curl", "-sS", "--max-time", "300", "-o", "/dev/null", "-w", "%{http_code}", "http://10.77.0.2/",
                  check=False)
    assert page.stdout == "200", page.stderr
    proc = ns.run("ping", "-c", "3", "-W", "30", "10.77.0.2", check=False)
    assert " 0% packet loss" in proc.stdout, proc.stdout
    assert_running(guest)


# --- IPv6 over a tap: static address, SLAAC from the test's router advertisement, hostile frames ---------------

GUEST_LL = "fe80::5054:ff:fe12:3456"        # from the MAC QEMU gives the first NIC, 52:54:00:12:34:56


@pytest.fixture(scope="module")
def httpd_on_tap6(uniforge_build, target):
    """httpd on tap ufv0 in a namespace with IPv6 on: guest 2001:db8:6::2/64 (uf.ip6) and 10.76.0.2, host ::1."""
    require_namespaces()
    ns = Namespace()
    try:
        ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0")
        ns.add_tap("ufv0", "10.76.0.1/24")
        ns.run("ip", "addr", "add", "2001:db8:6::1/64", "dev", "ufv0", "nodad")
        with boot(httpd_image(uniforge_build, target), ["80"], net="tap:ufv0", netns=ns.name,
                  cmdline="uf.ip=10.76.0.2/24 uf.ip6=2001:db8:6::2/64", ready=LISTENING) as guest:
            yield guest, ns
    finally:
        ns.delete()


def test_ipv6_static_address_and_ping6(httpd_on_tap6):
    guest, ns = httpd_on_tap6
    guest.expect(rf"uniforge: net6: {GUEST_LL} 2001:db8:6::2/64 \(static\)", 1, since_boot=True)
    for address in ("2001:db8:6::2", f"{GUEST_LL}%ufv0"):
        proc = ns.run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "30", "-s", "1000", address, check=False)
        assert " 0% packet loss" in proc.stdout, proc.stdout + proc.stderr
    neigh = ns.run("ip", "-6", "neigh", "show", "2001:db8:6::2").stdout
    assert "52:54:00:12:34:56" in neigh, neigh             # our neighbour advertisement taught the host


def test_curl6_and_ipv4_on_one_listener(httpd_on_tap6, tmp_path):
    """httpd listens once, on [::] with IPV6_V6ONLY off: curl -6 gets the page and a 1 MiB upload echoed back over
    IPv6 (TCP over IPv6, segments of the MSS its larger header leaves), curl -4 the page over IPv4 from the same
    socket, and /stats counted both."""
    need("curl")
    guest, ns = httpd_on_tap6
    page = PAGE.read_bytes()
    for url in ("http://[2001:db8:6::2]/", "http://10.76.0.2/"):
        got = ns.run("curl", "-sS", "--fail", "--max-time", "300", url, check=False)
        assert got.returncode == 0 and got.stdout == page.decode(), got.stderr
    upload, echoed = tmp_path / "upload.bin", tmp_path / "echoed.bin"
    upload.write_bytes(hashlib.shake_256(b"uniforge6").digest(1 << 20))
    proc = ns.run("curl", "-6", "-sS", "--fail", "--max-time", "600", "--data-binary", f"@{upload}", "-o",
                  str(echoed), "http://[2001:db8:6::2]/echo", check=False)
    assert proc.returncode == 0, proc.stderr
    assert echoed.read_bytes() == upload.read_bytes()
    stats = json.loads(ns.run("curl", "-sS", "--max-time", "300", "http://[2001:db8:6::2]/stats").stdout)
    assert stats["requests"] >= 4, stats
    assert_running(guest)


def test_udp_echo_over_ipv6(uniforge_build, uniforge_boot, target):
    """examples/udp-echo on a tap with IPv6 static address: datagrams from the host over IPv6 come back whole,
    3,000- and 8,000-byte ones in fragments both ways (the guest reassembles, then fragments its answer to the link's
    MTU), and over IPv4 to the same socket."""
    require_namespaces()
    image = uniforge_build(app_dir("udp-echo"), target)
    ns = Namespace()
    try:
        ns.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0", "net.ipv6.conf.default.disable_ipv6=0")
        ns.add_tap("ufu0", "10.75.0.1/24")
        ns.run("ip", "addr", "add", "2001:db8:5::1/64", "dev", "ufu0", "nodad")
        with uniforge_boot(image, net="tap:ufu0", netns=ns.name, cmdline="uf.ip=10.75.0.2/24 uf.ip6=2001:db8:5::2/64",
                           timeout=GUEST_LIMIT) as guest:
            guest.expect(r"udp-echo: listening on port 7", BOOT_WAIT)
            for address in ("2001:db8:5::2", "10.75.0.2"):
                proc = ns.run(sys.executable, str(TOOLS / "udp_echo_client.py"), address, "7", "1", "64", "1232",
                              "1452", "3000", "8000", check=False, timeout=1800)
                assert proc.stdout.strip() == "ok", proc.stdout + proc.stderr
            assert_running(guest)
    finally:
        ns.delete()


def test_slaac_from_a_router_advertisement(uniforge_build, uniforge_boot, target, httpd_on_tap6):
    """A guest without uf.ip6 on a second tap; the test is the router: its advertisement of 2001:db8:7::/64 gives
    the guest prefix + interface identifier, then ping6 reaches that address."""
    pytest.importorskip("scapy", reason="scapy is in the test extra: pip install '.[test]'")
    _, ns = httpd_on_tap6
    ns.add_tap("ufv1")
    ns.run("ip", "addr", "add", "2001:db8:7::1/64", "dev", "ufv1", "nodad")
    with uniforge_boot(httpd_image(uniforge_build, target), ["80"], net="tap:ufv1", netns=ns.name,
                       cmdline="uf.ip=10.76.1.2/24", timeout=GUEST_LIMIT) as guest:
        guest.expect(LISTENING, BOOT_WAIT)
        guest.expect(rf"uniforge: net6: {GUEST_LL} \(link-local\)", 1, since_boot=True)
        ns.run(sys.executable, "-c", """
from scapy.all import *
mac = get_if_hwaddr("ufv1")
sendp(Ether(dst="33:33:00:00:00:01", src=mac) / IPv6(src="fe80::1", dst="ff02::1", hlim=255)
      / ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=mac)
      / ICMPv6NDOptPrefixInfo(prefix="2001:db8:7::", prefixlen=64, L=1, A=1), iface="ufv1", verbose=False)
""")
        # As inet_ntop writes it (RFC 5952: "::" never stands for one zero group).
        guest.expect(r"uniforge: net6: \S+ 2001:db8:7:0:5054:ff:fe12:3456/64 gw fe80::1 \(slaac\)", 300)
        proc = ns.run("ping", "-6", "-c", "3", "-i", "0.2", "-W", "30", "2001:db8:7::5054:ff:fe12:3456", check=False)
        assert " 0% packet loss" in proc.stdout, proc.stdout + proc.stderr


def test_hostile_ipv6_frames_do_not_hurt(httpd_on_tap6):
    """10,000 hostile IPv6 frames (extension header chains, overlapping fragments, neighbour discovery spoofing,
    TCP and UDP over IPv6 with lying headers, forged Packet Too Big, ...); then the guest still answers ping6 and
    serves its page over both families."""
    pytest.importorskip("scapy", reason="scapy is in the test extra: pip install '.[test]'")
    guest, ns = httpd_on_tap6
    sent = ns.run(sys.executable, str(TOOLS / "hostile_frames.py"), "ufv0", "52:54:00:12:34:56", "2001:db8:6::2",
                  "2001:db8:6::1", "10000", "2027", timeout=1800)
    assert "sent 10000" in sent.stdout, sent.stdout + sent.stderr
    assert_running(guest)
    proc = ns.run("ping", "-6", "-c", "3", "-W", "30", "2001:db8:6::2", check=False)
    assert " 0% packet loss" in proc.stdout, proc.stdout
    for url in ("http://[2001:db8:6::2]/", "http://10.76.0.2/"):
        page = ns.run("curl", "-sS", "--max-time", "300", "-o", "/dev/null", "-w", "%{http_code}", url, check=False)
        assert page.stdout == "200", page.stderr
    assert_running(guest)


# --- Loss: 5% of the frames dropped both ways ----------------------------------------------------------------------

@pytest.mark.parametrize("loss", ["0.01", "0.05"])
def test_8mib_transfer_survives_loss(uniforge_build, uniforge_boot, target, loss, tmp_path):
    """sch_netem is not available everywhere (not on these hosts): a relay between the guest's tap and a host
    tap drops 1% or 5% of the frames in each direction at random (netns_tools/lossy_relay.py)."""
    need("curl")
    require_namespaces()
    image = httpd_image(uniforge_build, target)
    ns = Namespace()
    relay = None
    try:
        ns.add_tap("ufg0")
        relay = ns.popen(sys.executable, str(TOOLS / "lossy_relay.py"), "ufg0", "ufh0", "10.78.0.1/24", loss, "7",
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert relay.stdout.readline().strip() == "ready", relay.stderr.read()
        with uniforge_boot(image, ["80"], net="tap:ufg0", netns=ns.name, cmdline="uf.ip=10.78.0.2/24 uf.gw=10.78.0.1",
                           timeout=GUEST_LIMIT) as guest:
            guest.expect(LISTENING, BOOT_WAIT)
            upload, echoed = tmp_path / "upload.bin", tmp_path / "echoed.bin"
            upload.write_bytes(hashlib.shake_256(b"lossy").digest(8 << 20))
            proc = ns.run("curl", "-sS", "--fail", "--data-binary", f"@{upload}", "-o", str(echoed),
                          "http://10.78.0.2/echo", check=False, timeout=7200)
            assert proc.returncode == 0, proc.stderr
            assert hashlib.sha256(echoed.read_bytes()).digest() == hashlib.sha256(upload.read_bytes()).digest()
            assert_running(guest)
    finally:
        if relay:
            relay.terminate()
            out, err = relay.communicate(timeout=30)
        ns.delete()
    dropped = re.search(r"dropped (\d+) (\d+) of (\d+) (\d+)", out)
    assert dropped, out + err
    to_host, to_guest = int(dropped[1]), int(dropped[2])
    assert to_host > 0 and to_guest > 0, f"the relay dropped nothing: {out}"  # the test really tested loss


# --- Only what is needed: the network stack and one NIC driver, or nothing ----------------------------------------

def network_modules(target_name: str) -> tuple[set[str], set[str]]:
    """(NIC drivers, stack modules) of the library OS for a target, read from the compiled modules: a driver
    defines uf_netdev_get; the stack uses it or defines the socket syscalls."""
    _, compiled = compiled_modules(target_name)
    drivers = {name for name, m in compiled.items() if "uf_netdev_get" in m.defined}
    stack = {name for name, m in compiled.items() if "uf_netdev_get" in m.undefined or "uf_sys_socket" in m.defined}
    return drivers, stack


def test_inspect_shows_network_modules_only_where_used(uniforge_build, target):
    drivers, stack = network_modules(target)
    assert drivers and stack, f"no NIC driver ({drivers}) or no stack ({stack}) in the library OS"
    images = {app: set(uniforge_build(app_dir(app), target).inspect()["modules"]) for app in ("hello", "httpd")}
    assert not images["hello"] & (drivers | stack), f"hello links network modules: {images['hello']}"
    assert stack & images["httpd"], f"httpd has no network stack: {images['httpd']}"
    assert len(drivers & images["httpd"]) == 1, f"httpd should have exactly one NIC driver: {images['httpd']}"


# --- The runner's errors, with a real QEMU: the command line is what is tested ---------------------------------

@pytest.mark.uniforge(targets=["qemu-x86_64"])
def test_port_in_use_is_one_line(uniforge_build, target):
    image = uniforge_build(app_dir("hello"), target)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = uniforge("run", str(image.path), "--timeout", "60", "-p", f"127.0.0.1:{port}:80")
    assert proc.returncode == ExitCode.RUN
    assert proc.stderr.splitlines() == [f"uniforge: error: cannot publish port {port}/tcp: it is in use on this host "
                                        "(or not allowed)"], proc.stderr


@pytest.mark.uniforge(targets=["qemu-x86_64"])
def test_missing_tap_is_one_line(uniforge_build, target):
    image = uniforge_build(app_dir("hello"), target)
    proc = uniforge("run", str(image.path), "--timeout", "60", "--net", "tap:ufnosuchtap")
    assert proc.returncode == ExitCode.RUN
    assert proc.stderr.splitlines()[0] == "uniforge: error: --net tap:ufnosuchtap: there is no network interface " \
                                          "ufnosuchtap", proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.uniforge(targets=["qemu-x86_64"])
def test_missing_network_namespace_or_tap_in_it_is_one_line(uniforge_build, target):
    require_namespaces()
    image = uniforge_build(app_dir("hello"), target)
    proc = uniforge("run", str(image.path), "--timeout", "60", "--netns", "ufnosuchns", "--net", "tap:uft9")
    assert proc.returncode == ExitCode.RUN
    assert proc.stderr.splitlines()[0] == "uniforge: error: --netns ufnosuchns: there is no network namespace " \
                                          "ufnosuchns", proc.stderr
    ns = Namespace()
    try:
        proc = uniforge("run", str(image.path), "--timeout", "60", "--netns", ns.name, "--net", "tap:uft9")
    finally:
        ns.delete()
    assert proc.returncode == ExitCode.RUN
    assert proc.stderr.splitlines()[0] == "uniforge: error: --net tap:uft9: there is no network interface uft9 in " \
                                          f"network namespace {ns.name}", proc.stderr
