#!/usr/bin/env python3
"""Deletes conntrack entries by their exact original tuple, straight over ctnetlink (pyroute2).

`conntrack -D` dumps the whole table for every entry it deletes (~65 ms per entry with 10,000
entries here), so cutting thousands of flows would take minutes; an IPCTNL_MSG_CT_DELETE with the
full tuple is one hash lookup in the kernel. Called by ct-cut.ts inside the node's namespace.

stdin, one entry per line:  PROTONUM SRC DST SPORT DPORT ICMPTYPE ICMPCODE ICMPID  ("-" = absent)
stdout:                     "deleted N gone M" (gone: ended before we got to it)
exit 1 with a message per failed entry on stderr when the kernel refused one.
Needs pyroute2 (Debian: python3-pyroute2); without it, exit 69 at once with a message on stderr and
ct-cut.ts deletes through `conntrack -R` instead.
"""
import errno
import socket
import sys

try:
    from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
    from pyroute2.netlink.nfnetlink import NFNL_SUBSYS_CTNETLINK
    from pyroute2.netlink.nfnetlink.nfctsocket import IPCTNL_MSG_CT_DELETE, NFCTAttrTuple, NFCTSocket, nfct_msg
except ImportError as e:
    sys.stderr.write(
        f"ct-delete.py: pyroute2 is not importable by {sys.executable} ({e}); "
        "install python3-pyroute2 (scripts/ensure-deps.sh) or name an interpreter that has it in BRIDGEHEAD_PYTHON\n"
    )
    sys.exit(69)

ICMP, ICMPV6 = 1, 58
BATCH = 256


def tuple_of(fields):
    protonum, src, dst, sport, dport, itype, icode, iid = fields
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    num = int(protonum)
    kw = {"family": fam, "saddr": src, "daddr": dst, "proto": num}
    if num in (ICMP, ICMPV6):
        kw.update(icmp_id=int(iid), icmp_type=int(itype), icmp_code=int(icode))
    elif sport != "-":
        # GRE's keys travel in the ports' attributes, as in the kernel's tuple.
        kw.update(sport=int(sport), dport=int(dport))
    return fam, NFCTAttrTuple(**kw)


def request(fields):
    """The IPCTNL_MSG_CT_DELETE request for one entry, built by pyroute2 (NFCTSocket.entry("del") would
    wait for each ACK in turn; nlm_request_batch sends BATCH of them at once)."""
    fam, orig = tuple_of(fields)
    msg = nfct_msg.create_from(tuple_orig=orig)
    msg["nfgen_family"] = fam
    msg["header"]["type"] = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK
    return msg


def main():
    entries = [line.split() for line in sys.stdin if line.strip()]
    deleted = gone = 0
    failures = []
    # One socket for both families (the family travels in each message's nfgenmsg); the requests
    # go out BATCH at a time in one send, and each gets its own ACK.
    with NFCTSocket() as ct:
        for start in range(0, len(entries), BATCH):
            chunk = entries[start : start + BATCH]
            answers = list(ct.nlm_request_batch([request(f) for f in chunk], noraise=True))
            if len(answers) != len(chunk):
                sys.exit(f"ct-delete.py: ctnetlink answered {len(answers)} of {len(chunk)} deletions; nothing was retried")
            for fields, answer in zip(chunk, answers):
                err = answer["header"].get("error")
                if err is None:
                    deleted += 1
                elif err.code == errno.ENOENT:
                    gone += 1
                else:
                    failures.append(f"{' '.join(fields)}: {errno.errorcode.get(err.code, err.code)}")
    print(f"deleted {deleted} gone {gone}")
    for f in failures:
        print(f"cannot delete {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


main()
