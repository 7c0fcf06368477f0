#!/usr/bin/env python3
"""cluster_garbage.py PORT: sends malformed cluster requests to a node on
raw sockets and prints one "ok - ..." / "not ok - ..." line per case: the
node must close each such connection (within 2 s)."""
import socket
import struct
import sys

PORT = int(sys.argv[1])


def closed_by_peer(payload, name, half_close=False):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=2)
    try:
        s.sendall(payload)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        s.settimeout(2)
        while True:
            data = s.recv(65536)
            if not data:
                print("ok - " + name)
                return
    except ConnectionResetError:
        print("ok - " + name)
    except socket.timeout:
        print("not ok - %s: the connection stayed open" % name)
    finally:
        s.close()


def packet(payload):
    return struct.pack(">H", len(payload)) + payload


closed_by_peer(packet(b"\xff\x01\x02\x03 garbage"), "a packet of unknown type closes the connection")
closed_by_peer(packet(b"\x00\x01\x02"), "a truncated request closes the connection")
closed_by_peer(packet(b""), "an empty packet closes the connection")
header = b"\x01" + struct.pack("<III", 0x10, 7, 100)
piece = b"\x03" + struct.pack("<I", 7) + b"x" * 200
closed_by_peer(packet(header) + packet(piece), "pieces larger than the announced size close the connection")
closed_by_peer(packet(b"\x55" * 65535), "a 65535-byte garbage packet closes the connection")
closed_by_peer(b"\xff\xff" + b"\x00" * 1000, "a packet cut short by the peer's close is dropped", True)
