#!/usr/bin/env python3
"""ke_client.py - a small NTS-KE client (RFC 8915 section 4) for the tests.

ke_client.py PORT [options]: connects to 127.0.0.1:PORT with TLS 1.3 and
ALPN ntske/1, sends a request (by default chrony's: NTPv4, AEAD 15), and
prints the response records, one line each: "<type> <critical> <hex body>".
Exit 0 with a response, 2 when TLS fails (the reason on stderr), 3 when the
server closes without a response.

  --ca FILE        verify the server against FILE (else no verification)
  --request HEX    send these bytes instead
  --alpn NAME      offer NAME (repeatable; "" offers none)
  --hold FIFO      after the handshake, wait for a line on FIFO before
                   sending (a session held open across a reload)
  --fingerprint    also print "cert <sha256 of the server certificate>"
  --source ADDR    connect from ADDR (127.0.0.x: another source)
  --slow SECONDS   send the request one byte per SECONDS
  --tls12          offer TLS 1.2 at most
  --repeat N       run N sessions back to back, print nothing but one line
                   "<exit status of each session...> <seconds taken>"
                   and exit 0 (a rate limit judged against the time taken)
"""
import argparse
import hashlib
import socket
import ssl
import struct
import sys
import time

CHRONY = bytes.fromhex("80010002000080040002000f80000000")


def main():
    a = options()
    if a.repeat > 0:
        return repeat(a)
    return session(a)


def repeat(a):
    start = time.monotonic()
    codes = []
    for _ in range(a.repeat):
        try:
            codes.append(session(a, quiet=True))
        except OSError:
            codes.append(3)
    print(" ".join(str(c) for c in codes),
          "%.3f" % (time.monotonic() - start))
    return 0


def options():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--ca")
    ap.add_argument("--request")
    ap.add_argument("--alpn", action="append")
    ap.add_argument("--hold")
    ap.add_argument("--fingerprint", action="store_true")
    ap.add_argument("--source", default="127.0.0.1")
    ap.add_argument("--slow", type=float, default=0)
    ap.add_argument("--tls12", action="store_true")
    ap.add_argument("--repeat", type=int, default=0)
    return ap.parse_args()


def session(a, quiet=False):
    out = sys.stdout if not quiet else open("/dev/null", "w")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if a.ca:
        ctx.load_verify_locations(a.ca)
        ctx.check_hostname = False
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if a.tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    alpn = a.alpn if a.alpn is not None else ["ntske/1"]
    alpn = [p for p in alpn if p]
    if alpn:
        ctx.set_alpn_protocols(alpn)
    raw = socket.create_connection(("127.0.0.1", a.port), timeout=15,
                                   source_address=(a.source, 0))
    try:
        s = ctx.wrap_socket(raw)
    except (ssl.SSLError, OSError) as e:
        print("tls: %s" % e, file=sys.stderr)
        return 2
    if a.fingerprint:
        der = s.getpeercert(binary_form=True)
        print("cert", hashlib.sha256(der).hexdigest(), flush=True, file=out)
    if a.hold:
        with open(a.hold) as f:
            f.readline()
    req = bytes.fromhex(a.request) if a.request is not None else CHRONY
    data = b""
    try:
        if a.slow > 0:
            for b in req:
                s.sendall(bytes([b]))
                time.sleep(a.slow)
        else:
            s.sendall(req)
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (ssl.SSLError, OSError) as e:
        print("read: %s" % e, file=sys.stderr)
        if not data:
            return 3
    if not data:
        return 3
    i = 0
    while i + 4 <= len(data):
        t, n = struct.unpack(">HH", data[i:i + 4])
        print(t & 0x7fff, 1 if t & 0x8000 else 0, data[i + 4:i + 4 + n].hex(),
              file=out)
        i += 4 + n
    if i != len(data):
        print("trailing", data[i:].hex(), file=out)
    return 0


sys.exit(main())
