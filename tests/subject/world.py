"""A fake outside world, run inside a network namespace the test created.

``python world.py LOG ADDRESS`` listens on ADDRESS (TCP 80 and 443, UDP 9999)
and answers DNS on UDP 53 with ADDRESS for every A query; every contact is a
line in LOG. It prints ``ready`` once listening and runs until killed.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading


def log(path: str, line: str) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


def tcp(path: str, address: str, port: int) -> None:
    server = socket.create_server((address, port))
    while True:
        conn, peer = server.accept()
        log(path, f"tcp {port} from {peer[0]}")
        conn.close()


def udp(path: str, address: str, port: int) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, port))
    while True:
        data, peer = sock.recvfrom(4096)
        log(path, f"udp {port} from {peer[0]}: {data[:40]!r}")


def _qname(data: bytes) -> tuple[str, int]:
    labels, at = [], 12
    while data[at]:
        labels.append(data[at + 1 : at + 1 + data[at]].decode("ascii", "replace"))
        at += 1 + data[at]
    return ".".join(labels), at + 5  # the zero byte, QTYPE and QCLASS


def dns(path: str, address: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 53))
    while True:
        data, peer = sock.recvfrom(4096)
        name, end = _qname(data)
        qtype = struct.unpack("!H", data[end - 4 : end - 2])[0]
        log(path, f"dns {name} type {qtype} from {peer[0]}")
        answers = 1 if qtype == 1 else 0
        reply = data[:2] + struct.pack("!HHHHH", 0x8180, 1, answers, 0, 0) + data[12:end]
        if answers:
            reply += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
        sock.sendto(reply, peer)


def main() -> None:
    path, address = sys.argv[1], sys.argv[2]
    jobs = [(tcp, (path, address, 80)), (tcp, (path, address, 443))]
    jobs += [(udp, (path, address, 9999)), (dns, (path, address))]
    for target, args in jobs:
        threading.Thread(target=target, args=args, daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
