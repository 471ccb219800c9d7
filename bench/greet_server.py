#!/usr/bin/env python3
# A minimal greet server of the kind udpd replaces, for bench/run: the same
# loop - recvfrom(1024); b"exit" -> b"Good bye!\n"; else b"Hello %s!\n" - on
# 127.0.0.1 and the port given.  Such a server prints a line per datagram; that
# is off unless -v, so the benchmark measures the server, not the terminal.
import signal
import socket
import sys


def main():
    args = sys.argv[1:]
    verbose = False
    if args and args[0] == "-v":
        verbose = True
        args = args[1:]
    if len(args) != 1 or not args[0].isdigit():
        sys.stderr.write("usage: greet_server.py [-v] PORT\n")
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(args[0])))
    if verbose:
        print("UDP bound on port %s..." % args[0])
    try:
        while True:
            data, addr = s.recvfrom(1024)
            if verbose:
                print("Receive from %s:%s" % addr)
            if data == b"exit":
                s.sendto(b"Good bye!\n", addr)
                continue
            s.sendto(b"Hello %s!\n" % data, addr)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
