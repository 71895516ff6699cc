#!/usr/bin/env python3
"""Sends unsolicited IPv6 neighbour advertisements (override flag set) claiming TARGET is at this
interface's MAC, from this interface's own MAC and link-local address (so only the ND target is a
lie). For kernel tests of anti-spoofing: `send-na.py IFACE TARGET [COUNT]`. Standard library only."""
import ipaddress
import socket
import struct
import sys
import time

iface, target = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 3
mac = bytes.fromhex(open(f"/sys/class/net/{iface}/address").read().strip().replace(":", ""))
# The link-local address the kernel derives from the MAC (modified EUI-64).
eui = bytes([mac[0] ^ 2]) + mac[1:3] + b"\xff\xfe" + mac[3:6]
src = ipaddress.IPv6Address(b"\xfe\x80" + b"\x00" * 6 + eui).packed
dst = ipaddress.IPv6Address("ff02::1").packed
tgt = ipaddress.IPv6Address(target).packed
# ICMPv6 type 136, flags: override (0x20000000); option 2 = target link-layer address.
body = struct.pack("!BBHI", 136, 0, 0, 0x20000000) + tgt + bytes([2, 1]) + mac
pseudo = src + dst + struct.pack("!I", len(body)) + b"\x00\x00\x00\x3a"
data = pseudo + body
s = sum((data[i] << 8) + data[i + 1] for i in range(0, len(data), 2))
while s >> 16:
    s = (s & 0xFFFF) + (s >> 16)
body = body[:2] + struct.pack("!H", ~s & 0xFFFF) + body[4:]
ip6 = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src + dst
frame = b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + ip6 + body
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((iface, 0))
for _ in range(count):
    sock.send(frame)
    time.sleep(0.1)
