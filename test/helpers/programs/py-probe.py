# A small Python program for network tests: one operation per run, one JSON line on stdout
# ({"ok": true, ...} or {"ok": false, "errno": N, "error": "..."}), with the time it took (ms).
#   python3 py-probe.py urllib URL | asyncio HOST PORT | nonblock HOST PORT | blocking HOST PORT
#                       getaddrinfo NAME [FAMILY] [v4mapped] | gethostbyname NAME | gethostbyaddr IP
#                       getnameinfo IP PORT
import asyncio, errno, json, select, socket, sys, time, urllib.request

op, args = sys.argv[1], sys.argv[2:]
t0 = time.monotonic()


def urllib_op(url):
    with urllib.request.urlopen(url, timeout=20) as r:
        return {"status": r.status, "body": r.read().decode()}


def asyncio_op(host, port):
    async def main():
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 20)
        writer.write(b"hello asyncio")
        await writer.drain()
        data = await asyncio.wait_for(reader.readexactly(13), 20)
        peer = writer.get_extra_info("peername")
        writer.close()
        return {"data": data.decode(), "peer": list(peer[:2])}
    return asyncio.run(main())


def nonblock_op(host, port):
    ai = socket.getaddrinfo(host, int(port), socket.AF_INET, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], socket.SOCK_STREAM)
    s.setblocking(False)
    rc = s.connect_ex(ai[4])
    _, w, _ = select.select([], [s], [], 20)
    soerr = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    still_nonblocking = not s.getblocking()
    out = {"connect_ex": rc, "writable": bool(w), "so_error": soerr, "nonblocking_after": still_nonblocking}
    if soerr == 0:
        out["peer"] = list(s.getpeername()[:2])
        s.setblocking(True)
        s.settimeout(20)
        s.sendall(b"nonblocking!")
        out["data"] = s.recv(100).decode()
    s.close()
    return out


def blocking_op(host, port):
    # an AF_INET6 dual-stack socket connecting to a v4-mapped address, as Java does
    ip = socket.gethostbyname(host)
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.settimeout(None)
    s.connect(("::ffff:" + ip, int(port)))
    peer = s.getpeername()
    s.sendall(b"mapped")
    data = s.recv(100).decode()
    s.close()
    return {"peer": list(peer[:2]), "data": data}


def getaddrinfo_op(name, family="0", v4mapped=""):
    fam = {"0": 0, "4": socket.AF_INET, "6": socket.AF_INET6}[family]
    flags = socket.AI_CANONNAME | (socket.AI_V4MAPPED if v4mapped else 0)
    res = socket.getaddrinfo(name, "http", fam, socket.SOCK_STREAM, 0, flags)
    return {"addresses": [r[4][0] for r in res], "ports": [r[4][1] for r in res], "canonname": res[0][3]}


def gethostbyname_op(name):
    return {"address": socket.gethostbyname(name)}


def gethostbyaddr_op(ip):
    name, aliases, addrs = socket.gethostbyaddr(ip)
    return {"name": name, "addresses": addrs}


def getnameinfo_op(ip, port):
    host, serv = socket.getnameinfo((ip, int(port)), 0)
    return {"host": host, "service": serv}


def dns_query(name, qid=0x4b4a):
    q = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"


def dns_answer_ip(reply):
    # the last 4 bytes of a reply with one A record
    return ".".join(str(b) for b in reply[-4:]) if len(reply) > 16 and reply[7] >= 1 else None


def udp_op(nameserver, name):
    out = {}
    # unconnected: sendto / recvfrom
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    s.sendto(dns_query(name), (nameserver, 53))
    reply, src = s.recvfrom(2048)
    out["recvfrom_src"] = list(src)
    out["recvfrom_ip"] = dns_answer_ip(reply)
    # sendmsg / recvmsg
    s.sendmsg([dns_query(name, 7)], [], 0, (nameserver, 53))
    reply, _, _, src = s.recvmsg(2048)
    out["recvmsg_src"] = list(src)
    out["recvmsg_ip"] = dns_answer_ip(reply)
    s.close()
    # connected: connect / send / recv / getpeername
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.settimeout(5)
    c.connect((nameserver, 53))
    out["connected_peer"] = list(c.getpeername())
    c.send(dns_query(name, 9))
    out["connected_ip"] = dns_answer_ip(c.recv(2048))
    c.close()
    return out


def dup_op(host, port):
    s = socket.create_connection((host, int(port)), timeout=20)
    d = s.dup()
    out = {"peer": list(s.getpeername()), "dup_peer": list(d.getpeername())}
    s.close()
    out["dup_peer_after_close"] = list(d.getpeername())
    d.sendall(b"dup")
    out["data"] = d.recv(10).decode()
    d.close()
    # the same fd number reused for a local socket: libc's answer, not a stale one
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    p = socket.create_connection((host, int(port)), timeout=20)
    n = p.fileno()
    p.close()
    local = socket.socket()
    local.connect(srv.getsockname())
    out["reused_fd"] = local.fileno() == n
    out["reused_peer"] = list(local.getpeername())
    out["local_server"] = list(srv.getsockname())
    local.close()
    srv.close()
    return out


def hostname_op():
    name = socket.gethostname()
    return {"hostname": name, "addresses": sorted({r[4][0] for r in socket.getaddrinfo(name, None)})}


def v6only_op(ip6, port):
    # an IPV6_V6ONLY socket cannot reach an IPv4 proxy: the shim must still get it there
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.settimeout(20)
    s.connect((ip6, int(port)))
    s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
    data = b""
    while len(data) < 100000:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    peer = s.getpeername()
    s.close()
    return {"peer": list(peer[:2]), "body": data.split(b"\r\n\r\n", 1)[-1].decode()}


def fastopen_op(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(20)
    s.sendto(b"fast open", socket.MSG_FASTOPEN, (ip, int(port)))
    data = s.recv(100).decode()
    peer = s.getpeername()
    s.close()
    return {"data": data, "peer": list(peer)}


def reconnect_op(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect((host, int(port)))
    second = s.connect_ex((host, int(port)))
    s.close()
    return {"second_connect": second}


def mptcp_op(host, port):
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)  # IPPROTO_MPTCP
    except OSError as e:
        return {"unsupported": str(e)}
    s.settimeout(20)
    s.connect((host, int(port)))
    s.sendall(b"mptcp")
    data = s.recv(10).decode()
    peer = s.getpeername()
    s.close()
    return {"data": data, "peer": list(peer)}


ops = {"mptcp": mptcp_op, "reconnect": reconnect_op, "v6only": v6only_op, "fastopen": fastopen_op, "udp": udp_op, "dup": dup_op, "hostname": hostname_op,"urllib": urllib_op, "asyncio": asyncio_op, "nonblock": nonblock_op, "blocking": blocking_op,
       "getaddrinfo": getaddrinfo_op, "gethostbyname": gethostbyname_op, "gethostbyaddr": gethostbyaddr_op,
       "getnameinfo": getnameinfo_op}
try:
    r = ops[op](*args)
    r.update(ok=True)
except Exception as e:  # report, never crash
    reason = getattr(e, "reason", None)
    err = getattr(e, "errno", None) or getattr(reason, "errno", None)
    r = {"ok": False, "errno": err, "error": f"{type(e).__name__}: {e}",
         "kind": type(reason or e).__name__}
r["ms"] = int((time.monotonic() - t0) * 1000)
print(json.dumps(r), flush=True)
