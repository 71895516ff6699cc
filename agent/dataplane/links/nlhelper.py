#!/usr/bin/env python3
"""Netlink helper of the Bridgehead agent: configures and reads guest namespaces without one process
per namespace.

Spawned by agent/dataplane/links/nl.ts and kept alive (nl.ts may run two, each given its share of the
namespaces). It reads one JSON request per line on stdin and answers one JSON line on stdout, in
order:

  {"id": 1, "batches": [{"ns": "bh-i7", "ops": [{"op": "link", "dev": "eth0", "up": true}, ...]}, ...]}
      -> {"id": 1, "results": [{"errors": [null, "RTNETLINK answers: File exists", ...]}, ...]}
  {"id": 2, "read": ["bh-i7", "bh-i8"]}
      -> {"id": 2, "reads": [{"links": [...], "routes": [...]}, ...]}   (shaped like `ip -j -d addr show`)
  A namespace that cannot be entered (missing) gives {"fatal": "..."} in place of its result (or
  of its read).

Per namespace it joins it with setns(2) (network namespace only, like `nsenter --net`) and opens
one rtnetlink socket there (a netlink socket belongs to the namespace it was opened in). The ops
are built as pyroute2 messages (ifinfmsg, ifaddrmsg, rtmsg: the same fields and attributes `ip`
sends for the same line) and sent together in one datagram, each with its own sequence number and
ACK flag: the kernel runs them in order and answers each one, failed or not, so every op gets its
own error, like `ip -force -batch`. Device names are looked up before the send, so a send ends
after a `link del` (a later op naming that device then fails the lookup, as with `ip`). The answers
are decoded by pyroute2's rtnetlink marshal. pyroute2's IPRoute object is not used: its argument
processing and per-socket set-up cost ~0.1 ms per call, several times the kernel's work here.

The ops are the small subset of `ip` the guest planner emits (plan-guest.ts); nl.ts translates
those lines.

Needs pyroute2 (Debian: python3-pyroute2). Without it the helper exits at once with code 69 and a
message on stderr; nl.ts then configures guests with `ip` processes instead.
"""

import errno
import json
import os
import socket
import sys

try:
    from pyroute2.netlink import (
        NETLINK_EXT_ACK,
        NETLINK_GET_STRICT_CHK,
        NLM_F_ACK,
        NLM_F_CREATE,
        NLM_F_DUMP,
        NLM_F_EXCL,
        NLM_F_REPLACE,
        NLM_F_REQUEST,
        NLMSG_DONE,
        NLMSG_ERROR,
        SOL_NETLINK,
    )
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netlink.rtnl import (
        RTM_DELADDR,
        RTM_DELLINK,
        RTM_DELROUTE,
        RTM_GETADDR,
        RTM_GETLINK,
        RTM_GETROUTE,
        RTM_NEWADDR,
        RTM_NEWLINK,
        RTM_NEWROUTE,
    )
    from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
    from pyroute2.netlink.rtnl.marshal import MarshalRtnl
    from pyroute2.netlink.rtnl.rtmsg import rtmsg
    from pyroute2.netns import setns as _setns
except ImportError as e:
    sys.stderr.write(
        f"netlink helper: pyroute2 is not importable by {sys.executable} ({e}); "
        "install python3-pyroute2 (scripts/ensure-deps.sh) or name an interpreter that has it in BRIDGEHEAD_PYTHON\n"
    )
    sys.exit(69)

NETLINK_ROUTE = 0
RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_NOWHERE = 255
RTN_UNICAST = 1
RTNH_F_ONLINK = 4
IFF_UP = 0x1
IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80
RT_SCOPE_LINK = 253
# Link dumps without the counters (IFLA_STATS, IFLA_STATS64): nothing here reads them.
RTEXT_FILTER_SKIP_STATS = 1 << 3
# Requests sent in one datagram at most: their ACKs (an error echoes its request) must fit the
# socket's receive buffer.
SEND_MAX = 64
RECV_SIZE = 65536
MARSHAL = MarshalRtnl()


class Refused(Exception):
    """An op the kernel (or the lookup before it) refused; its message is what `ip` would print."""


def setns_fd(fd, what):
    try:
        _setns(fd)
    except OSError as e:
        raise OSError(e.errno, f"setns {what}: {os.strerror(e.errno)}") from None


def enter(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns_fd(fd, path)
    finally:
        os.close(fd)


def rtnl_socket(strict=False):
    """An rtnetlink socket in the current namespace, with the kernel's extended error messages;
    `strict` makes dumps honour the filters in their request (kernel ≥ 4.20)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    if strict:
        sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
    return sock


def refused(e):
    """ip's wording for a kernel refusal: the extended ACK's message when the kernel gave one."""
    msg = e.args[1] if len(e.args) > 1 else None
    if msg and msg != os.strerror(e.code):
        return Refused(f"Error: {msg}.")
    return Refused(f"RTNETLINK answers: {os.strerror(e.code)}")


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


class Names:
    """Device name → ifindex in the current namespace, looked up once per send (ops never rename;
    a `link del` ends the send and clears what was looked up)."""

    def __init__(self):
        self.known = {}

    def __call__(self, dev):
        index = self.known.get(dev)
        if index is None:
            try:
                index = socket.if_nametoindex(dev)
            except OSError:
                raise Refused(f'Cannot find device "{dev}"') from None
            self.known[dev] = index
        return index


def build(o, index):
    """The request `ip` sends for op `o`: (message, type, flags)."""
    kind = o["op"]
    ack = NLM_F_REQUEST | NLM_F_ACK
    if kind == "link":
        m = ifinfmsg()
        m["index"] = index(o["dev"])
        if o.get("up"):
            m["flags"] = IFF_UP
            m["change"] = IFF_UP
        attrs = []
        if "mac" in o:
            attrs.append(["IFLA_ADDRESS", o["mac"]])
        if "mtu" in o:
            attrs.append(["IFLA_MTU", o["mtu"]])
        m["attrs"] = attrs
        return m, RTM_NEWLINK, ack
    if kind == "linkdel":
        m = ifinfmsg()
        m["index"] = index(o["dev"])
        return m, RTM_DELLINK, ack
    if kind in ("addradd", "addrdel"):
        addr, plen = o["cidr"].split("/")
        m = ifaddrmsg()
        m["family"] = family_of(addr)
        m["prefixlen"] = int(plen)
        m["index"] = index(o["dev"])
        if o.get("nodad"):
            m["flags"] = IFA_F_NODAD
        m["attrs"] = [["IFA_LOCAL", addr], ["IFA_ADDRESS", addr]]
        if kind == "addradd":
            return m, RTM_NEWADDR, ack | NLM_F_CREATE | NLM_F_EXCL
        return m, RTM_DELADDR, ack
    if kind in ("routereplace", "routedel"):
        gw = o.get("via")
        m = rtmsg()
        m["family"] = family_of(gw) if gw else socket.AF_INET
        m["dst_len"] = 0
        m["table"] = RT_TABLE_MAIN
        attrs = []
        if gw:
            attrs.append(["RTA_GATEWAY", gw])
        if "dev" in o:
            attrs.append(["RTA_OIF", index(o["dev"])])
        m["attrs"] = attrs
        if kind == "routereplace":
            m["proto"] = RTPROT_BOOT
            m["scope"] = RT_SCOPE_UNIVERSE
            m["type"] = RTN_UNICAST
            if o.get("onlink"):
                m["flags"] = RTNH_F_ONLINK
            return m, RTM_NEWROUTE, ack | NLM_F_CREATE | NLM_F_REPLACE
        m["proto"] = 0
        m["scope"] = RT_SCOPE_NOWHERE
        m["type"] = 0
        return m, RTM_DELROUTE, ack
    raise ValueError(f"unknown op {kind!r}")


def acks(sock, waiting, errors):
    """Reads the ACKs of the requests in `waiting` (sequence number → op index) into `errors`."""
    while waiting:
        for m in MARSHAL.parse(sock.recv(RECV_SIZE)):
            i = waiting.pop(m["header"]["sequence_number"], None)
            if i is None or m["header"]["type"] != NLMSG_ERROR:
                continue
            err = m["header"]["error"]
            if isinstance(err, NetlinkError):
                errors[i] = str(refused(err))
            elif err is not None:
                errors[i] = f"netlink helper: cannot decode the kernel's answer: {err}"


def run_ops(sock, ops):
    """Runs ops in order in the socket's namespace: one error (or None) per op."""
    errors = [None] * len(ops)
    names = Names()
    i = 0
    while i < len(ops):
        data = bytearray()
        waiting = {}
        while i < len(ops) and len(waiting) < SEND_MAX:
            o = ops[i]
            try:
                m, kind, flags = build(o, names)
                m["header"]["type"] = kind
                m["header"]["flags"] = flags
                m["header"]["sequence_number"] = i + 1
                m.encode()
                data += m.data
                waiting[i + 1] = i
            except Refused as e:
                errors[i] = str(e)
            except (OSError, ValueError, KeyError, TypeError) as e:
                errors[i] = f"netlink helper: {type(e).__name__}: {e}"
            i += 1
            if o.get("op") == "linkdel":
                break
        if waiting:
            sock.send(data)
            acks(sock, waiting, errors)
        names.known.clear()
    return {"errors": errors}


def dump(sock, msg, kind, seq):
    """One dump request's messages."""
    msg["header"]["type"] = kind
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_DUMP
    msg["header"]["sequence_number"] = seq
    msg.encode()
    sock.send(msg.data)
    out = []
    while True:
        for m in MARSHAL.parse(sock.recv(RECV_SIZE)):
            if m["header"]["sequence_number"] != seq:
                continue
            if m["header"]["error"] is not None:
                raise m["header"]["error"]
            if m["header"]["type"] == NLMSG_DONE:
                return out
            out.append(m)


def put(out, key, value):
    """Sets out[key] only for an attribute the kernel sent (`ip -j` leaves absent ones out)."""
    if value is not None:
        out[key] = value


def read_ns(sock):
    """Links with their IPv4 and IPv6 addresses (the fields `ip -j -d addr show` names) and IPv4
    routes of the main table with a gateway or device."""
    links = {}
    order = []
    masters = {}
    req = ifinfmsg()
    req["attrs"] = [["IFLA_EXT_MASK", RTEXT_FILTER_SKIP_STATS]]
    for m in dump(sock, req, RTM_GETLINK, 1):
        index = m["index"]
        link = {"ifindex": index, "flags": ["UP"] if m["flags"] & IFF_UP else [], "addr_info": []}
        put(link, "ifname", m.get_attr("IFLA_IFNAME"))
        put(link, "mtu", m.get_attr("IFLA_MTU"))
        mac = m.get_attr("IFLA_ADDRESS")
        if mac is not None and len(mac) == 17:
            link["address"] = mac
        peer = m.get_attr("IFLA_LINK")
        if peer is not None and peer != index:
            link["link_index"] = peer
        put(link, "ifalias", m.get_attr("IFLA_IFALIAS"))
        master = m.get_attr("IFLA_MASTER")
        if master is not None:
            masters[index] = master
        info = m.get_attr("IFLA_LINKINFO")
        if info is not None:
            kind = info.get_attr("IFLA_INFO_KIND")
            if kind is not None:
                link["linkinfo"] = {"info_kind": kind}
        links[index] = link
        order.append(index)
    names = {i: links[i].get("ifname") for i in order}
    for i, m in masters.items():
        if names.get(m):
            links[i]["master"] = names[m]
    req = ifaddrmsg()
    req["family"] = socket.AF_INET
    for m in dump(sock, req, RTM_GETADDR, 2):
        local = m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS")
        if local is not None and m["index"] in links:
            links[m["index"]]["addr_info"].append({"family": "inet", "local": local, "prefixlen": m["prefixlen"]})
    # IPv6 as `ip -j` shows it: scope, and `dynamic` for what the kernel autoconfigured (SLAAC).
    req = ifaddrmsg()
    req["family"] = socket.AF_INET6
    for m in dump(sock, req, RTM_GETADDR, 4):
        local = m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS")
        if local is None or m["index"] not in links:
            continue
        flags = m.get_attr("IFA_FLAGS")
        flags = m["flags"] if flags is None else flags
        a = {"family": "inet6", "local": local, "prefixlen": m["prefixlen"]}
        a["scope"] = "link" if m["scope"] == RT_SCOPE_LINK else "global" if m["scope"] == 0 else str(m["scope"])
        if not flags & IFA_F_PERMANENT:
            a["dynamic"] = True
        links[m["index"]]["addr_info"].append(a)
    routes = []
    # Strict checking: the kernel dumps the main table only (not the local table's routes); a
    # namespace that never had a route has no main table yet (ENOENT): no routes.
    req = rtmsg()
    req["family"] = socket.AF_INET
    req["attrs"] = [["RTA_TABLE", RT_TABLE_MAIN]]
    try:
        found = dump(sock, req, RTM_GETROUTE, 3)
    except NetlinkError as e:
        if e.code != errno.ENOENT:
            raise
        found = []
    for m in found:
        table = m.get_attr("RTA_TABLE")
        if (m["table"] if table is None else table) != RT_TABLE_MAIN:
            continue
        route = {"dst_len": m["dst_len"]}
        put(route, "dst", m.get_attr("RTA_DST"))
        put(route, "gateway", m.get_attr("RTA_GATEWAY"))
        oif = m.get_attr("RTA_OIF")
        if oif is not None:
            route["dev"] = names.get(oif)
        if m["type"] != RTN_UNICAST:
            route["type"] = m["type"]
        if m["dst_len"] == 0:
            route["dst"] = "default"
        routes.append(route)
    return {"links": [links[i] for i in order], "routes": routes}


def in_ns(ns, work, strict=False):
    """Runs work(sock) with an rtnetlink socket inside namespace ns; a dict with "fatal" when it
    cannot. Leaves the helper in that namespace: serve() returns home after each request."""
    try:
        enter(f"/run/netns/{ns}")
        sock = rtnl_socket(strict)
        try:
            return work(sock)
        finally:
            sock.close()
    except FileNotFoundError:
        return {"fatal": f'Cannot open network namespace "{ns}": No such file or directory'}
    except NetlinkError as e:
        return {"fatal": f"netlink helper: {refused(e)}"}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return {"fatal": f"netlink helper: {type(e).__name__}: {e}"}


def answer(req):
    if "read" in req:
        return {"reads": [in_ns(ns, read_ns, strict=True) for ns in req["read"]]}
    return {"results": [in_ns(b["ns"], lambda sock, ops=b["ops"]: run_ops(sock, ops)) for b in req["batches"]]}


def serve(home):
    for line in sys.stdin:
        if not line.strip():
            continue
        req = {}
        try:
            req = json.loads(line)
            try:
                out = {"id": req["id"], **answer(req)}
            finally:
                # Back home after each request: between requests the helper pins no namespace
                # (one that is deleted meanwhile goes at once).
                setns_fd(home, "back to the agent's namespace")
        except (ValueError, KeyError, TypeError) as e:
            out = {"id": req.get("id") if isinstance(req, dict) else None, "fatal": f"netlink helper: bad request: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
