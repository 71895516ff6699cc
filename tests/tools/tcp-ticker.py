#!/usr/bin/env python3
"""A live TCP flow for kernel tests of connection cutting. Standard library only.
  tcp-ticker.py serve PORT        accept connections on PORT; print "got <port> <n>" (flushed) for
                                  every message received, so the reader sees when a flow stops
  tcp-ticker.py send HOST PORT    connect, then send one message every 100 ms until killed;
                                  print "connected" once the connection is up"""
import socket
import sys
import threading
import time

mode = sys.argv[1]
if mode == "serve":
    port = int(sys.argv[2])
    # Dual stack: IPv4 clients arrive as v4-mapped addresses.
    srv = socket.socket(socket.AF_INET6)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("::", port))
    srv.listen(8)
    print(f"listening {port}", flush=True)

    def serve(conn):
        n = 0
        buf = b""
        while True:
            data = conn.recv(4096)
            if not data:
                print(f"closed {port}", flush=True)
                return
            buf += data
            while b"\n" in buf:
                _, buf = buf.split(b"\n", 1)
                n += 1
                print(f"got {port} {n}", flush=True)

    while True:
        c, _ = srv.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
elif mode == "send":
    host, port = sys.argv[2], int(sys.argv[3])
    s = socket.create_connection((host, port), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("connected", flush=True)
    i = 0
    while True:
        i += 1
        s.sendall(f"tick {i}\n".encode())
        time.sleep(0.1)
else:
    sys.exit(f"unknown mode {mode}; use serve PORT or send HOST PORT")
