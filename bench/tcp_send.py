#!/usr/bin/env python3
"""tcp_send.py PORT FILE: writes FILE to 127.0.0.1:PORT over one TCP connection, 1 MiB at a
time (the benches' feed for rsyslogd's imptcp, the reference of issue 17's ingest bar)."""
import socket
import sys

s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        s.sendall(b)
s.close()
