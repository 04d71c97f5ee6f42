#!/usr/bin/env python3
# Prints the IP TOS byte of the first datagram received on a multicast group, read with
# IP_RECVTOS (the kernel hands the received header's TOS over as ancillary data):
#   recv-tos.py GROUP PORT INTERFACE_ADDRESS TIMEOUT_S
import socket
import struct
import sys

group, port, iface, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group, port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton(iface))
s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
s.settimeout(timeout)
_, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(4))
for level, kind, data in anc:
    if level == socket.IPPROTO_IP and kind == socket.IP_TOS:
        print(data[0])
        sys.exit(0)
print("no IP_TOS ancillary data", file=sys.stderr)
sys.exit(1)
