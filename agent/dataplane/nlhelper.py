#!/usr/bin/env python3
"""Netlink helper of the Bridgehead agent: configures and reads guest namespaces without one process
per namespace.

Spawned once by agent/dataplane/nl.ts and kept alive. It reads one JSON request per line on stdin
and answers one JSON line on stdout, in order:

  {"id": 1, "batches": [{"ns": "bh-i7", "ops": [{"op": "link", "dev": "eth0", "up": true}, ...]}, ...]}
      -> {"id": 1, "results": [{"errors": [null, "RTNETLINK answers: File exists", ...]}, ...]}
  {"id": 2, "read": "bh-i7"}
      -> {"id": 2, "links": [...], "routes": [...]}     (shaped like `ip -j -d addr show`)
  A namespace that cannot be entered (missing) gives {"fatal": "..."} in place of its result (or
  of the read's answer).

For each request it joins the namespace with setns(2) (network namespace only, like
`nsenter --net`), opens a fresh NETLINK_ROUTE socket there and sends each op as one netlink request
with an ACK, so every op gets its own error (like `ip -force -batch`). The ops are the small subset
of `ip` the guest planner emits (plan-guest.ts); nl.ts translates those lines. Standard library
only (ctypes for setns), so any python3 >= 3.7 runs it.
"""

import ctypes
import json
import os
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11

NLM_F_REQUEST = 0x1
NLM_F_MULTI = 0x2
NLM_F_ACK = 0x4
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_ACK_TLVS = 0x200

NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1

RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE, RTM_GETROUTE = 24, 25, 26

IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_MASTER = 1, 3, 4, 5, 10
IFLA_LINKINFO, IFLA_IFALIAS = 18, 20
IFLA_INFO_KIND = 1
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_TABLE = 1, 4, 5, 15
IFF_UP = 0x1
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_NOWHERE = 255
RTN_UNICAST = 1
RTNH_F_ONLINK = 4

_libc = ctypes.CDLL(None, use_errno=True)


class Refused(Exception):
    """An op the kernel (or the lookup before it) refused; its message is what `ip` would print."""


def setns_fd(fd, what):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns {what}: {os.strerror(e)}")


def setns(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns_fd(fd, path)
    finally:
        os.close(fd)


def attr(kind, payload):
    n = 4 + len(payload)
    return struct.pack("=HH", n, kind) + payload + b"\0" * ((4 - n % 4) % 4)


def attrs(buf, off=0):
    """Yields (type, payload) of the netlink attributes in buf[off:]."""
    while off + 4 <= len(buf):
        n, kind = struct.unpack_from("=HH", buf, off)
        if n < 4:
            return
        yield kind & 0x3FFF, buf[off + 4 : off + n]
        off += (n + 3) & ~3


def cstr(b):
    return b.split(b"\0", 1)[0].decode(errors="replace")


class Netlink:
    """One NETLINK_ROUTE socket in the current network namespace."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
            try:
                self.sock.setsockopt(SOL_NETLINK, opt, 1)
            except OSError:
                pass  # an old kernel without extended ACKs: errors then carry errno text only
        self.sock.bind((0, 0))
        self.seq = 0

    def close(self):
        self.sock.close()

    def _send(self, kind, flags, body):
        self.seq += 1
        self.sock.send(struct.pack("=IHHII", 16 + len(body), kind, flags, self.seq, 0) + body)
        return self.seq

    def _messages(self):
        while True:
            data = self.sock.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                n, kind, flags, seq, _ = struct.unpack_from("=IHHII", data, off)
                yield kind, flags, seq, data[off + 16 : off + n]
                off += (n + 3) & ~3

    def request(self, kind, flags, body):
        """Sends one request and waits for its ACK; raises Refused with ip's wording on an error."""
        seq = self._send(kind, flags | NLM_F_REQUEST | NLM_F_ACK, body)
        for mkind, mflags, mseq, payload in self._messages():
            if mseq != seq or mkind != NLMSG_ERROR:
                continue
            (err,) = struct.unpack_from("=i", payload, 0)
            if err == 0:
                return
            msg = None
            if mflags & NLM_F_ACK_TLVS:
                for t, v in attrs(payload, 4 + 16):
                    if t == NLMSGERR_ATTR_MSG:
                        msg = cstr(v)
            raise Refused(f"Error: {msg}." if msg else f"RTNETLINK answers: {os.strerror(-err)}")

    def dump(self, kind, body):
        seq = self._send(kind, NLM_F_REQUEST | NLM_F_DUMP, body)
        out = []
        for mkind, _, mseq, payload in self._messages():
            if mseq != seq:
                continue
            if mkind == NLMSG_DONE:
                return out
            if mkind == NLMSG_ERROR:
                (err,) = struct.unpack_from("=i", payload, 0)
                raise OSError(-err, f"netlink dump: {os.strerror(-err)}")
            out.append((mkind, payload))


def ifindex(dev):
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise Refused(f'Cannot find device "{dev}"') from None


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def packed(addr):
    return socket.inet_pton(family_of(addr), addr)


def do_op(nl, o):
    kind = o["op"]
    if kind == "link":
        up = IFF_UP if o.get("up") else 0
        body = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, ifindex(o["dev"]), up, up)
        if "mac" in o:
            body += attr(IFLA_ADDRESS, bytes.fromhex(o["mac"].replace(":", "")))
        if "mtu" in o:
            body += attr(IFLA_MTU, struct.pack("=I", o["mtu"]))
        nl.request(RTM_NEWLINK, 0, body)
    elif kind == "linkdel":
        nl.request(RTM_DELLINK, 0, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, ifindex(o["dev"]), 0, 0))
    elif kind in ("addradd", "addrdel"):
        addr, plen = o["cidr"].split("/")
        fam = family_of(addr)
        body = struct.pack("=BBBBI", fam, int(plen), 0, RT_SCOPE_UNIVERSE, ifindex(o["dev"]))
        body += attr(IFA_LOCAL, packed(addr)) + attr(IFA_ADDRESS, packed(addr))
        if kind == "addradd":
            nl.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)
        else:
            nl.request(RTM_DELADDR, 0, body)
    elif kind in ("routereplace", "routedel"):
        gw = o.get("via")
        fam = family_of(gw) if gw else socket.AF_INET
        extra = b""
        if gw:
            extra += attr(RTA_GATEWAY, packed(gw))
        if "dev" in o:
            extra += attr(RTA_OIF, struct.pack("=I", ifindex(o["dev"])))
        if kind == "routereplace":
            flags = RTNH_F_ONLINK if o.get("onlink") else 0
            body = struct.pack(
                "=BBBBBBBBI", fam, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST, flags
            )
            nl.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body + extra)
        else:
            body = struct.pack("=BBBBBBBBI", fam, 0, 0, 0, RT_TABLE_MAIN, 0, RT_SCOPE_NOWHERE, 0, 0)
            nl.request(RTM_DELROUTE, 0, body + extra)
    else:
        raise ValueError(f"unknown op {kind!r}")


def read_ns(nl):
    """Links with their IPv4 addresses (the fields `ip -j -d addr show` names) and IPv4 routes of
    the main table with a gateway or device."""
    links = {}
    order = []
    for _, p in nl.dump(RTM_GETLINK, struct.pack("=BxHiII", socket.AF_UNSPEC, 0, 0, 0, 0)):
        _, _, index, flags, _ = struct.unpack_from("=BxHiII", p, 0)
        link = {"ifindex": index, "flags": ["UP"] if flags & IFF_UP else [], "addr_info": []}
        for t, v in attrs(p, 16):
            if t == IFLA_IFNAME:
                link["ifname"] = cstr(v)
            elif t == IFLA_MTU:
                link["mtu"] = struct.unpack("=I", v[:4])[0]
            elif t == IFLA_ADDRESS and len(v) == 6:
                link["address"] = ":".join(f"{b:02x}" for b in v)
            elif t == IFLA_LINK:
                peer = struct.unpack("=i", v[:4])[0]
                if peer != index:
                    link["link_index"] = peer
            elif t == IFLA_IFALIAS:
                link["ifalias"] = cstr(v)
            elif t == IFLA_MASTER:
                link["master_index"] = struct.unpack("=i", v[:4])[0]
            elif t == IFLA_LINKINFO:
                for t2, v2 in attrs(v):
                    if t2 == IFLA_INFO_KIND:
                        link["linkinfo"] = {"info_kind": cstr(v2)}
        links[index] = link
        order.append(index)
    names = {i: links[i].get("ifname") for i in order}
    for i in order:
        m = links[i].pop("master_index", None)
        if m is not None and names.get(m):
            links[i]["master"] = names[m]
    for _, p in nl.dump(RTM_GETADDR, struct.pack("=BBBBI", socket.AF_INET, 0, 0, 0, 0)):
        fam, plen, _, _, index = struct.unpack_from("=BBBBI", p, 0)
        local = None
        for t, v in attrs(p, 8):
            if t == IFA_LOCAL or (t == IFA_ADDRESS and local is None):
                local = socket.inet_ntop(fam, v)
        if local is not None and index in links:
            links[index]["addr_info"].append({"family": "inet", "local": local, "prefixlen": plen})
    routes = []
    rt = struct.pack("=BBBBBBBBI", socket.AF_INET, 0, 0, 0, 0, 0, 0, 0, 0)
    for _, p in nl.dump(RTM_GETROUTE, rt):
        fam, dst_len, _, _, table, _, _, rtype, _ = struct.unpack_from("=BBBBBBBBI", p, 0)
        route = {"dst_len": dst_len}
        for t, v in attrs(p, 12):
            if t == RTA_TABLE:
                table = struct.unpack("=I", v[:4])[0]
            elif t == RTA_DST:
                route["dst"] = socket.inet_ntop(fam, v)
            elif t == RTA_GATEWAY:
                route["gateway"] = socket.inet_ntop(fam, v)
            elif t == RTA_OIF:
                route["dev"] = names.get(struct.unpack("=i", v[:4])[0])
        if table != RT_TABLE_MAIN:
            continue
        if rtype != RTN_UNICAST:
            route["type"] = rtype
        if dst_len == 0:
            route["dst"] = "default"
        routes.append(route)
    return {"links": [links[i] for i in order], "routes": routes}


def in_ns(home, ns, work):
    """Runs work(nl) with a netlink socket inside namespace ns; a dict with "fatal" when it cannot."""
    try:
        setns(f"/run/netns/{ns}")
        nl = Netlink()
        try:
            return work(nl)
        finally:
            nl.close()
    except FileNotFoundError:
        return {"fatal": f'Cannot open network namespace "{ns}": No such file or directory'}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return {"fatal": f"netlink helper: {type(e).__name__}: {e}"}
    finally:
        # Back home after each namespace: the helper never pins a namespace that may be deleted.
        setns_fd(home, "back to the agent's namespace")


def run_ops(ops):
    def work(nl):
        errors = []
        for o in ops:
            try:
                do_op(nl, o)
                errors.append(None)
            except Refused as e:
                errors.append(str(e))
            except (OSError, ValueError, KeyError) as e:
                errors.append(f"netlink helper: {type(e).__name__}: {e}")
        return {"errors": errors}

    return work


def serve(home):
    for line in sys.stdin:
        if not line.strip():
            continue
        req = {}
        try:
            req = json.loads(line)
            if "read" in req:
                answer = {"id": req["id"], **in_ns(home, req["read"], read_ns)}
            else:
                results = [in_ns(home, b["ns"], run_ops(b["ops"])) for b in req["batches"]]
                answer = {"id": req["id"], "results": results}
        except (ValueError, KeyError, TypeError) as e:
            answer = {"id": req.get("id") if isinstance(req, dict) else None, "fatal": f"netlink helper: bad request: {e}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
