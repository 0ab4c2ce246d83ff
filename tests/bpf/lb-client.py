#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Socket-level client for tests/suites/21-bpf-lb.sh: prints what the
# application sees, so the suite can check that the cgroup socket LB
# translated (reply content names the backend) and hid the translation
# (getpeername / recvfrom show the VIP).
#   lb-client.py tcp VIP PORT            -> "<reply> <peer ip>:<port>"
#   lb-client.py udp VIP PORT            -> "<reply> <from ip>:<port>" (unconnected)
#   lb-client.py udpc VIP PORT           -> connected UDP, "<reply> <peer>"
#   lb-client.py hold VIP PORT CMD...    -> connect, read greeting, run CMD,
#                                           then echo over the same connection
import socket
import subprocess
import sys


def main():
    mode, vip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    try:
        if mode in ("tcp", "hold"):
            s = socket.create_connection((vip, port), timeout=3)
            greet = s.makefile().readline().strip()
            peer = s.getpeername()
            if mode == "hold":
                subprocess.run(sys.argv[4:], check=True, stdout=subprocess.DEVNULL)
                s.sendall(b"still-here\n")
                data = b""
                while b"still-here" not in data:
                    chunk = s.recv(100)
                    if not chunk:
                        break
                    data += chunk
                print(greet, "echo-ok" if b"still-here" in data else "echo-lost")
                return 0
            print(greet, "%s:%d" % peer)
        elif mode == "udp":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.sendto(b"hi\n", (vip, port))
            data, frm = s.recvfrom(100)
            print(data.decode().strip(), "%s:%d" % frm)
        elif mode == "udpc":
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(3)
            s.connect((vip, port))
            s.send(b"hi\n")
            data = s.recv(100)
            print(data.decode().strip(), "%s:%d" % s.getpeername())
    except OSError as e:
        print("error", e.errno)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
