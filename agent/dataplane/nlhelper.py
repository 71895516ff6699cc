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
`nsenter --net`), opens a fresh pyroute2 IPRoute socket there (a netlink socket belongs to the
namespace it was opened in) and sends each op as one request with an ACK, so every op gets its own
error (like `ip -force -batch`). The ops are the small subset of `ip` the guest planner emits
(plan-guest.ts); nl.ts translates those lines.

Needs pyroute2 (Debian: python3-pyroute2). Without it the helper exits at once with code 69 and a
message on stderr; nl.ts then configures guests with `ip` processes instead.
"""

import json
import os
import socket
import sys

try:
    from pyroute2 import IPRoute
    from pyroute2.netlink.exceptions import NetlinkError
    from pyroute2.netns import setns as _setns
except ImportError as e:
    sys.stderr.write(
        f"netlink helper: pyroute2 is not importable by {sys.executable} ({e}); "
        "install python3-pyroute2 (scripts/ensure-deps.sh) or name an interpreter that has it in BRIDGEHEAD_PYTHON\n"
    )
    sys.exit(69)

RT_TABLE_MAIN = 254
RTPROT_BOOT = 3
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_NOWHERE = 255
RTN_UNICAST = 1
RTNH_F_ONLINK = 4
IFF_UP = 0x1


class Refused(Exception):
    """An op the kernel (or the lookup before it) refused; its message is what `ip` would print."""


def setns_fd(fd, what):
    try:
        _setns(fd)
    except OSError as e:
        raise OSError(e.errno, f"setns {what}: {os.strerror(e.errno)}") from None


def setns(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns_fd(fd, path)
    finally:
        os.close(fd)


def refused(e):
    """ip's wording for a kernel refusal: the extended ACK's message when the kernel gave one."""
    msg = e.args[1] if len(e.args) > 1 else None
    if msg and msg != os.strerror(e.code):
        return Refused(f"Error: {msg}.")
    return Refused(f"RTNETLINK answers: {os.strerror(e.code)}")


def ifindex(dev):
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        raise Refused(f'Cannot find device "{dev}"') from None


def family_of(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def do_op(ipr, o):
    kind = o["op"]
    try:
        if kind == "link":
            kw = {}
            if o.get("up"):
                kw["state"] = "up"
            if "mac" in o:
                kw["address"] = o["mac"]
            if "mtu" in o:
                kw["mtu"] = o["mtu"]
            ipr.link("set", index=ifindex(o["dev"]), **kw)
        elif kind == "linkdel":
            ipr.link("del", index=ifindex(o["dev"]))
        elif kind in ("addradd", "addrdel"):
            addr, plen = o["cidr"].split("/")
            cmd = "add" if kind == "addradd" else "del"
            ipr.addr(cmd, index=ifindex(o["dev"]), address=addr, local=addr, prefixlen=int(plen))
        elif kind in ("routereplace", "routedel"):
            gw = o.get("via")
            kw = {"family": family_of(gw) if gw else socket.AF_INET, "dst_len": 0, "table": RT_TABLE_MAIN}
            if gw:
                kw["gateway"] = gw
            if "dev" in o:
                kw["oif"] = ifindex(o["dev"])
            if kind == "routereplace":
                kw.update(proto=RTPROT_BOOT, scope=RT_SCOPE_UNIVERSE, type=RTN_UNICAST)
                if o.get("onlink"):
                    kw["flags"] = RTNH_F_ONLINK
                ipr.route("replace", **kw)
            else:
                kw.update(proto=0, scope=RT_SCOPE_NOWHERE, type=0)
                ipr.route("del", **kw)
        else:
            raise ValueError(f"unknown op {kind!r}")
    except NetlinkError as e:
        raise refused(e) from None


def read_ns(ipr):
    """Links with their IPv4 addresses (the fields `ip -j -d addr show` names) and IPv4 routes of
    the main table with a gateway or device."""
    links = {}
    order = []
    masters = {}
    for m in ipr.get_links():
        index = m["index"]
        link = {"ifindex": index, "flags": ["UP"] if m["flags"] & IFF_UP else [], "addr_info": []}
        name = m.get_attr("IFLA_IFNAME")
        if name is not None:
            link["ifname"] = name
        mtu = m.get_attr("IFLA_MTU")
        if mtu is not None:
            link["mtu"] = mtu
        mac = m.get_attr("IFLA_ADDRESS")
        if mac is not None and len(mac) == 17:
            link["address"] = mac
        peer = m.get_attr("IFLA_LINK")
        if peer is not None and peer != index:
            link["link_index"] = peer
        alias = m.get_attr("IFLA_IFALIAS")
        if alias is not None:
            link["ifalias"] = alias
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
    for m in ipr.get_addr(family=socket.AF_INET):
        local = m.get_attr("IFA_LOCAL") or m.get_attr("IFA_ADDRESS")
        if local is not None and m["index"] in links:
            links[m["index"]]["addr_info"].append({"family": "inet", "local": local, "prefixlen": m["prefixlen"]})
    routes = []
    for m in ipr.get_routes(family=socket.AF_INET):
        table = m.get_attr("RTA_TABLE")
        if (m["table"] if table is None else table) != RT_TABLE_MAIN:
            continue
        route = {"dst_len": m["dst_len"]}
        dst = m.get_attr("RTA_DST")
        if dst is not None:
            route["dst"] = dst
        gw = m.get_attr("RTA_GATEWAY")
        if gw is not None:
            route["gateway"] = gw
        oif = m.get_attr("RTA_OIF")
        if oif is not None:
            route["dev"] = names.get(oif)
        if m["type"] != RTN_UNICAST:
            route["type"] = m["type"]
        if m["dst_len"] == 0:
            route["dst"] = "default"
        routes.append(route)
    return {"links": [links[i] for i in order], "routes": routes}


def in_ns(home, ns, work):
    """Runs work(ipr) with a netlink socket inside namespace ns; a dict with "fatal" when it cannot."""
    try:
        setns(f"/run/netns/{ns}")
        ipr = IPRoute(ext_ack=True)
        try:
            return work(ipr)
        finally:
            ipr.close()
    except FileNotFoundError:
        return {"fatal": f'Cannot open network namespace "{ns}": No such file or directory'}
    except NetlinkError as e:
        return {"fatal": f"netlink helper: {refused(e)}"}
    except (OSError, ValueError, KeyError, TypeError) as e:
        return {"fatal": f"netlink helper: {type(e).__name__}: {e}"}
    finally:
        # Back home after each namespace: the helper never pins a namespace that may be deleted.
        setns_fd(home, "back to the agent's namespace")


def run_ops(ops):
    def work(ipr):
        errors = []
        for o in ops:
            try:
                do_op(ipr, o)
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
