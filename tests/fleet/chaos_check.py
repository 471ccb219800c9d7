#!/usr/bin/env python3
"""tests/fleet/chaos_check.py - checks the chat room after the chaos test.

    chaos_check.py EVENTS STREAM FAULTS

EVENTS: the client's JSON lines (chaos_client.py).  STREAM: the room as
`redis-cli --raw XRANGE KEY - +` prints it (five lines per entry: id,
"seq", seq, "line", line).  FAULTS: one "NAME TIME" line per fault, in
order, TIME the wall clock when it began.

Asserted: every acknowledged (text, seq) is in the room exactly once; no
text is in the room twice; no seq was acknowledged for two texts, nor a
text acknowledged with two seqs; a text whose every send was answered
"not stored" is not in the room; after each fault acks resume, and every
text first sent after a fault began is acknowledged above every seq
acknowledged before it.  Printed: the count of each answer, and per fault
the time from its start to the first ack above the seqs acked before it.
Exit status 1 when an assertion fails.
"""
import collections
import json
import sys


def read_stream(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 5 != 0:
        raise SystemExit("stream dump: %d lines, not 5 per entry" % len(lines))
    entries = []
    for i in range(0, len(lines), 5):
        fields = dict(zip(lines[i + 1::2][:2], lines[i + 2::2][:2]))
        seq = int(fields["seq"])
        text = fields["line"].rsplit(" ", 1)[-1]
        entries.append((seq, text))
    return entries


def main():
    events = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    entries = read_stream(sys.argv[2])
    faults = [(l.split()[0], float(l.split()[1]))
              for l in open(sys.argv[3]) if l.strip()]
    errors = []

    counts = collections.Counter(e["ev"] for e in events)
    reasons = collections.Counter(
        e["answer"].split(":")[0] + ":" + e["answer"].split(":")[1]
        if e["ev"] in ("unknown", "notstored") else e.get("answer", "")
        for e in events if e["ev"] in ("unknown", "notstored", "other"))
    acked = collections.defaultdict(set)     # text -> seqs
    by_seq = collections.defaultdict(set)    # seq -> texts
    first_sent = {}
    sends = collections.Counter()
    answered = collections.defaultdict(set)  # text -> kinds of answer
    for e in events:
        if e["ev"] == "send":
            first_sent.setdefault(e["text"], e["t"])
            sends[e["text"]] += 1
        elif e["ev"] == "ok":
            acked[e["text"]].add(e["seq"])
            by_seq[e["seq"]].add(e["text"])
        if e["ev"] != "send":
            answered[e["text"]].add(e["ev"])

    in_room = collections.Counter(t for _, t in entries)
    seq_of = {}
    for seq, text in entries:
        seq_of.setdefault(text, seq)
    room_seqs = collections.Counter(s for s, _ in entries)

    for text, seqs in sorted(acked.items()):
        if len(seqs) > 1:
            errors.append("%s acknowledged with seqs %s" % (text, sorted(seqs)))
        if in_room[text] == 0:
            errors.append("%s acknowledged (ok %s), not in the room" %
                          (text, min(seqs)))
        elif seq_of[text] not in seqs:
            errors.append("%s acknowledged as %s, in the room as %d" %
                          (text, sorted(seqs), seq_of[text]))
    for text, n in in_room.items():
        if n > 1:
            errors.append("%s is in the room %d times" % (text, n))
    for seq, n in room_seqs.items():
        if n > 1:
            errors.append("seq %d is in the room %d times" % (seq, n))
    for seq, texts in by_seq.items():
        if len(texts) > 1:
            errors.append("seq %d acknowledged for %s" % (seq, sorted(texts)))
    for text, kinds in answered.items():
        if kinds == {"notstored"} and text not in acked and in_room[text]:
            errors.append("%s answered only \"not stored\", in the room" % text)

    oks = sorted((e["t"], e["seq"], e["text"]) for e in events
                 if e["ev"] == "ok")
    print("answers: %d sends; %s" % (counts["send"], ", ".join(
        "%s %d" % (k, counts[k]) for k in
        ("ok", "unknown", "notstored", "other", "timeout", "refused",
         "senderr"))))
    for reason, n in sorted(reasons.items()):
        print("  %6d  %s" % (n, reason))
    print("room: %d entries, %d texts acknowledged, %d in the room never "
          "acknowledged" % (len(entries), len(acked),
                            len(set(in_room) - set(acked))))
    for name, start in faults:
        before = max((s for t, s, _ in oks if t < start), default=0)
        # acks of posts begun after the fault (not those in flight)
        resumed = [t for t, s, text in oks if t >= start and s > before
                   and first_sent.get(text, 0) >= start]
        if not resumed:
            errors.append("%s: no ack above %d after it" % (name, before))
            print("fault %-14s acks did not resume" % name)
            continue
        print("fault %-14s acks resumed after %.2f s (above seq %d)" %
              (name, resumed[0] - start, before))
        for t, s, text in oks:
            if t >= start and first_sent.get(text, 0) >= start and s <= before:
                errors.append("%s: %s first sent after it, acked %d <= %d" %
                              (name, text, s, before))
    for e in errors[:20]:
        print("FAIL: " + e)
    if len(errors) > 20:
        print("FAIL: ... %d more" % (len(errors) - 20))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
