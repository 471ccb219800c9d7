#!/usr/bin/env python3
"""tests/fleet/chaos_client.py - posts unique texts to the chat room and
retries each until it is acknowledged.

    chaos_client.py HOST PORT CLIENTS EVENTS STATUS STOP

CLIENTS posts are in flight at a time, each from its own UDP socket (a
flow of its own for the balancer).  A post is sent again from the same
socket (same source port: the same message for udpd's retry window) when
it got no answer within 1 s, an "outcome unknown", a "not stored" or an
ICMP error; a new text starts once it got "ok <seq>".  Every send and
every answer is written to EVENTS as one JSON object per line, with the
wall-clock time.  STATUS holds the number of acks so far (rewritten every
0.1 s).  When the file STOP appears no new text starts; the posts in
flight are retried for up to 8 s more, then the client exits; it exits
after 150 s in any case.
"""
import json
import os
import select
import socket
import sys
import time

RETRY_AFTER = 1.0      # s without an answer
PAUSE = 0.05           # s before resending after an error answer
PACE = 0.01            # s between a client's ack and its next text
DRAIN = 8.0            # s to finish the posts in flight after STOP
LIFETIME = 150.0       # s: the longest run, STOP or not


class Post:
    def __init__(self, addr, text):
        self.text = text
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(addr)
        self.sock.setblocking(False)
        self.resend_at = 0.0   # send when now >= resend_at
        self.sent_at = None

    def close(self):
        self.sock.close()


def classify(reply):
    if reply.startswith("ok "):
        return "ok"
    if reply.startswith("error: outcome unknown"):
        return "unknown"
    if reply.startswith("error: not stored"):
        return "notstored"
    return "other"


def main():
    host, port, clients, events, status, stop = sys.argv[1:7]
    addr = (host, int(port))
    out = open(events, "w")
    acks = 0
    n = 0
    posts = []
    start_next = [0.0] * int(clients)
    slots = [None] * int(clients)
    stopping_since = None
    last_status = 0.0

    def log(**ev):
        ev["t"] = time.time()
        out.write(json.dumps(ev) + "\n")

    born = time.time()
    while True:
        now = time.time()
        if stopping_since is None and (os.path.exists(stop) or
                                       now - born > LIFETIME):
            stopping_since = now
        if stopping_since is not None and (
                all(s is None for s in slots) or now - stopping_since > DRAIN):
            break
        for i, post in enumerate(slots):
            if post is None and stopping_since is None and now >= start_next[i]:
                n += 1
                post = slots[i] = Post(addr, "c%d-%d-%d" % (os.getpid(), i, n))
            if post is None:
                continue
            if post.resend_at is not None and now >= post.resend_at:
                try:
                    post.sock.send(post.text.encode() + b"\n")
                    log(ev="send", text=post.text)
                except OSError as e:
                    log(ev="senderr", text=post.text, err=str(e))
                post.sent_at = now
                post.resend_at = None
            elif post.resend_at is None and now - post.sent_at >= RETRY_AFTER:
                log(ev="timeout", text=post.text)
                post.resend_at = now
        socks = {p.sock: (i, p) for i, p in enumerate(slots) if p is not None}
        ready, _, _ = select.select(list(socks), [], [], 0.005)
        now = time.time()
        for s in ready:
            i, post = socks[s]
            try:
                reply = s.recv(65535).decode("utf-8", "replace").rstrip("\n")
            except ConnectionRefusedError:
                log(ev="refused", text=post.text)
                post.resend_at = now + PAUSE * 4
                continue
            except BlockingIOError:
                continue
            kind = classify(reply)
            if kind == "ok":
                log(ev="ok", text=post.text, seq=int(reply.split()[1]))
                acks += 1
                post.close()
                slots[i] = None
                start_next[i] = now + PACE
            else:
                log(ev=kind, text=post.text, answer=reply)
                if post.resend_at is None:
                    post.resend_at = now + PAUSE
        if now - last_status >= 0.1:
            with open(status + ".tmp", "w") as f:
                f.write("%d\n" % acks)
            os.rename(status + ".tmp", status)
            last_status = now
    out.close()
    with open(status + ".tmp", "w") as f:
        f.write("%d\n" % acks)
    os.rename(status + ".tmp", status)


if __name__ == "__main__":
    main()
