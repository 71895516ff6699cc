#!/usr/bin/env python3
"""Concurrent TCP/UDP reachability probes for security-group kernel tests. Standard library only.
  probe.py TIMEOUT PROTO,SRC,DST,PORT ...
Prints one line per probe, in order: "reached" when anything came back (TCP: connected or reset;
UDP: a reply or ICMP port unreachable), "dropped" when nothing did within TIMEOUT seconds."""
import socket
import sys
import threading

timeout = float(sys.argv[1])
specs = [a.split(",") for a in sys.argv[2:]]
results = ["dropped"] * len(specs)


def one(i, proto, src, dst, port):
    fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.connect((dst, int(port)))
        if proto == "udp":
            s.send(b"probe")
            s.recv(100)
        results[i] = "reached"
    except ConnectionRefusedError:
        results[i] = "reached"
    except (socket.timeout, TimeoutError):
        results[i] = "dropped"
    except OSError as e:
        results[i] = f"error {e}"
    finally:
        s.close()


threads = [threading.Thread(target=one, args=(i, *s)) for i, s in enumerate(specs)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("\n".join(results))
