#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# DNS update probe for bench-dns.sh: queries NAME (type QTYPE number) at
# SERVER:53 back to back (connected UDP socket, 200 ms timeout each) until
# it gets an answer, then keeps going for TAIL seconds. Prints
# "<epoch ms of the first answer or -1> <failed> <total>", where failed
# counts timeouts, ICMP port unreachable (server not listening) and rcodes
# other than NOERROR/NXDOMAIN: what a pod's resolver would see as errors.
import random, socket, struct, sys, time

server, name, qtype = sys.argv[1], sys.argv[2], int(sys.argv[3])
limit, tail = float(sys.argv[4]), float(sys.argv[5])
qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"

def query():
    qid = random.getrandbits(16)
    pkt = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", qtype, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.2)
    try:
        s.connect((server, 53))
        s.send(pkt)
        while True:
            r = s.recv(4096)
            if r[:2] == pkt[:2]:
                break
    except (socket.timeout, ConnectionRefusedError, OSError):
        return "err"
    finally:
        s.close()
    rcode, ancount = r[3] & 15, struct.unpack(">H", r[6:8])[0]
    if rcode == 0 and ancount > 0:
        return "ok"
    return "no" if rcode in (0, 3) else "err"

start = time.time()
first, fails, total = -1, 0, 0
while time.time() - start < limit:
    r = query()
    total += 1
    if r == "err":
        fails += 1
    elif r == "ok" and first < 0:
        first = int(time.time() * 1000)
    if first >= 0 and time.time() * 1000 - first > tail * 1000:
        break
print(first, fails, total)
