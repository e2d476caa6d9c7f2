#!/usr/bin/env python3
"""SMTP intake benchmark of the gateway: end-to-end throughput, accept latency, memory and CPU.

One run = a fresh database and maildir, the daemon (`gateway run`) as a subprocess, the shared corpus
(/work/shared/bench/make_corpus.py, cached in /tmp) sent over SMTP on 127.0.0.1 by concurrent client
sessions, and a monitor that polls the database (read-only) every ~100 ms until every receipt is
processed and every receipt email delivered.

    .venv/bin/python bench/smtp_throughput.py --db sqlite --n 5000 --senders 10
    .venv/bin/python bench/smtp_throughput.py --db postgres --n 5000 --senders 50
    .venv/bin/python bench/smtp_throughput.py --db sqlite --n 3000 --senders 50 --rate 100   # steady rate
    .venv/bin/python bench/smtp_throughput.py --n 100000 --senders 10 --rss-marks 10000,50000,100000
    .venv/bin/python bench/smtp_throughput.py --baseline      # stdlib parse-only baseline of the corpus
    .venv/bin/python bench/smtp_throughput.py --all           # the full set, as a Markdown table

Latency: each client session keeps one connection open; per message we time
  * `data`: from the end of the message body (the final "." sent) to the server's 250 — the durable
    accept proper;
  * `txn`: the whole transaction MAIL FROM .. RCPT TO .. DATA .. 250 on the already-open connection.
Messages beyond the corpus size cycle through it with a rewritten, unique Message-ID (otherwise the
gateway's dedupe would treat them as duplicates).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import re
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from email.utils import parseaddr
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS_TOOL = Path("/work/shared/bench/make_corpus.py")
CORPUS_CACHE = Path(os.environ.get("BENCH_CORPUS_CACHE", "/tmp/bench_corpus"))
RUNS_DIR = Path(os.environ.get("BENCH_RUNS_DIR", "/tmp/bench_runs"))
PG_ADMIN = os.environ.get("BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
RCPT = "palaute@hel.example"
HOST = "127.0.0.1"

MINIMAL_DEPARTMENTS = """\
version: 1
timezone: Europe/Helsinki
holidays: FI
addresses: [palaute@hel.example, feedback@hel.example, respons@hel.example]
departments:
  kirjaamo:
    name: {fi: Kirjaamo, sv: Registratorskontoret, en: Registry}
    email: kirjaamo@hel.example
    answer_within: 5 working days
"""
MINIMAL_RULES = "version: 1\ndefault: kirjaamo\nrules: []\n"


# --------------------------------------------------------------------------- corpus


def corpus_dir(n: int, seed: int = 1) -> Path:
    """The cached corpus of *n* messages (generated once with the shared tool)."""
    out = CORPUS_CACHE / f"c{n}" if seed == 1 else CORPUS_CACHE / f"c{n}-s{seed}"
    manifest = Path(str(out) + ".manifest.jsonl")
    if not (manifest.exists() and out.is_dir() and len(list(out.glob("*.eml"))) == n):
        CORPUS_CACHE.mkdir(parents=True, exist_ok=True)
        print(f"generating corpus of {n} into {out} ...", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(CORPUS_TOOL), "--n", str(n), "--out", str(out), "--seed", str(seed)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return out


_MSGID = re.compile(rb"^(Message-I[Dd]:[ \t]*<)([^>\r\n]*)(>)", re.M | re.I)
_FROM = re.compile(rb"^From:[ \t]*(.*(?:\r\n[ \t].*)*)", re.M)


def load_corpus(n: int) -> list[tuple[str, bytes]]:
    """(envelope sender, CRLF body) for each message, in arrival order."""
    d = corpus_dir(n)
    items = []
    for path in sorted(d.glob("*.eml")):
        raw = path.read_bytes()
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        head = raw.split(b"\r\n\r\n", 1)[0]
        m = _FROM.search(head)
        sender = parseaddr(m.group(1).decode("ascii", "replace"))[1] if m else ""
        items.append((sender or "resident@example.invalid", raw))
    return items


def message_for(corpus: list[tuple[str, bytes]], i: int) -> tuple[str, bytes]:
    """Message number *i*: the corpus in order, then cycling with a unique Message-ID per copy."""
    sender, raw = corpus[i % len(corpus)]
    if i >= len(corpus):
        head, sep, body = raw.partition(b"\r\n\r\n")
        head = _MSGID.sub(lambda m: m.group(1) + b"bench%d." % i + m.group(2) + m.group(3), head, count=1)
        raw = head + sep + body
    return sender, raw


# --------------------------------------------------------------------------- senders


def _send_one(s: smtplib.SMTP, sender: str, raw: bytes) -> tuple[float, float]:
    """One transaction on an open connection; returns (txn seconds, end-of-data -> 250 seconds)."""
    t0 = time.perf_counter()
    code, resp = s.mail(sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, resp, sender)
    code, resp = s.rcpt(RCPT)
    if code not in (250, 251):
        raise smtplib.SMTPRecipientsRefused({RCPT: (code, resp)})
    s.putcmd("data")
    code, resp = s.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, resp)
    q = smtplib._quote_periods(raw)  # type: ignore[attr-defined]
    if q[-2:] != b"\r\n":
        q += b"\r\n"
    s.send(q + b".\r\n")
    t1 = time.perf_counter()
    code, resp = s.getreply()
    t2 = time.perf_counter()
    if code != 250:
        raise smtplib.SMTPDataError(code, resp)
    return t2 - t0, t2 - t1


def _session(
    corpus: list[tuple[str, bytes]],
    indexes: list[int],
    port: int,
    interval: float,
    start_at: float,
    out: list,
) -> None:
    """One client session: one connection, its messages in order, paced when *interval* > 0."""
    txn, data, late, errors = [], [], [], 0
    s = None
    k = 0
    if start_at > time.time():
        time.sleep(start_at - time.time())
    while k < len(indexes):
        if interval:
            due = start_at + k * interval
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            else:
                late.append(-delay)
        try:
            if s is None:
                s = smtplib.SMTP(HOST, port, local_hostname="bench.local", timeout=120)
                s.ehlo()
            sender, raw = message_for(corpus, indexes[k])
            a, b = _send_one(s, sender, raw)
            txn.append(a)
            data.append(b)
            k += 1
        except (OSError, smtplib.SMTPException) as exc:
            errors += 1
            if errors > 50:
                print(f"session giving up: {exc!r}", file=sys.stderr)
                break
            with contextlib.suppress(Exception):
                if s is not None:
                    s.close()
            s = None
            time.sleep(0.05)
            # 4xx: retry the same message, like a real MTA; 5xx would also be retried here and counted
    with contextlib.suppress(Exception):
        if s is not None:
            s.quit()
    out.append((txn, data, late, errors, k))


def _sender_process(corpus, assignments, port, interval, start_at, q) -> None:
    """A process running several client sessions as threads (the GIL is released while waiting on I/O)."""
    results: list = []
    threads = [
        threading.Thread(target=_session, args=(corpus, idx, port, interval, start_at, results))
        for idx in assignments
    ]
    c0 = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    txn = [x for r in results for x in r[0]]
    data = [x for r in results for x in r[1]]
    late = [x for r in results for x in r[2]]
    q.put(
        {
            "txn": txn,
            "data": data,
            "late": late,
            "errors": sum(r[3] for r in results),
            "sent": sum(r[4] for r in results),
            "cpu": time.process_time() - c0,
            "end": time.time(),
        }
    )


# --------------------------------------------------------------------------- daemon and database


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def config_dir() -> tuple[Path, str]:
    if (ROOT / "departments.yaml").exists() and (ROOT / "rules.yaml").exists():
        return ROOT, "shipped (repo root)"
    d = Path(tempfile.mkdtemp(prefix="bench_cfg_"))
    (d / "departments.yaml").write_text(MINIMAL_DEPARTMENTS)
    (d / "rules.yaml").write_text(MINIMAL_RULES)
    return d, f"minimal ({d})"


class Db:
    """Read-only progress queries, cheap enough to poll every 100 ms over 100,000 rows."""

    def __init__(self, kind: str, url: str, path: Path | None = None) -> None:
        self.kind, self.url, self.path = kind, url, path
        self.conn = None

    def connect(self) -> bool:
        if self.conn is not None:
            return True
        try:
            if self.kind == "sqlite":
                import sqlite3

                if not self.path or not self.path.exists():
                    return False
                self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5)
            else:
                import psycopg

                self.conn = psycopg.connect(self.url, autocommit=True)
            self.one("SELECT count(*) FROM outbox")
            return True
        except Exception:
            self.conn = None
            return False

    def one(self, sql: str) -> int:
        rows = self.conn.execute(sql).fetchall()  # fetchall: no statement left open to pin a WAL snapshot
        return int(rows[0][0] or 0)

    def progress(self) -> dict:
        return {
            "receipts": self.one("SELECT max(id) FROM receipts"),
            "pending": self.one("SELECT count(*) FROM receipts WHERE state = 'pending'"),
            "outbox_pending": self.one("SELECT count(*) FROM outbox WHERE state = 'pending'"),
        }

    def unplanned(self) -> int:
        return self.one(
            "SELECT count(*) FROM cases c LEFT JOIN case_clocks k ON k.case_id = c.id WHERE k.case_id IS NULL"
        )

    def final(self) -> dict:
        rows = {}
        for name, sql in {
            "receipts": "SELECT count(*) FROM receipts",
            "receipts_done": "SELECT count(*) FROM receipts WHERE state = 'done'",
            "receipts_parked": "SELECT count(*) FROM receipts WHERE state = 'parked'",
            "cases": "SELECT count(*) FROM cases",
            "outbox_receipt_sent": "SELECT count(*) FROM outbox WHERE kind = 'receipt' AND state = 'sent'",
            "outbox_sent": "SELECT count(*) FROM outbox WHERE state = 'sent'",
            "outbox_parked": "SELECT count(*) FROM outbox WHERE state = 'parked'",
        }.items():
            rows[name] = self.one(sql)
        cur = self.conn.execute("SELECT outcome, count(*) FROM receipts GROUP BY outcome ORDER BY 2 DESC")
        rows["outcomes"] = {str(k): int(v) for k, v in cur.fetchall()}
        return rows

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self.conn is not None:
                self.conn.close()
        self.conn = None


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as c:
        c.execute(sql)


def proc_status(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) / 1024.0  # MiB
        fields_ = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        out["cpu"] = (int(fields_[11]) + int(fields_[12])) / tick  # utime + stime
        out["sys"] = int(fields_[12]) / tick
    except (OSError, IndexError, ValueError):
        pass
    return out


def process_tree(pid: int) -> dict[int, str]:
    """The daemon and every process under it (workers, parser processes), pid -> role."""
    roles: dict[int, str] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            argv = Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace").split("\0")
            kids = []
            for task in os.scandir(f"/proc/{p}/task"):
                kids += Path(task.path, "children").read_text().split()
        except OSError:
            continue  # gone meanwhile
        if p == pid:
            role = "accepting"
        elif "work" in argv and "--loops" in argv:
            role = "worker " + argv[argv.index("--loops") + 1]
        elif any("resource_tracker" in a for a in argv):
            role = "resource tracker"
        elif any("spawn_main" in a for a in argv):
            role = "parser"
        else:
            role = Path(argv[0]).name
        roles[p] = role
        todo += [int(k) for k in kids]
    return roles


def tree_status(pid: int) -> dict[str, dict]:
    """proc_status of each process of the daemon's tree, by role (a second one of a role gets a number)."""
    out: dict[str, dict] = {}
    for p, role in sorted(process_tree(pid).items()):
        key, i = role, 2
        while key in out:
            key, i = f"{role} {i}", i + 1
        out[key] = proc_status(p)
    return out


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    vals = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


# --------------------------------------------------------------------------- one run


@dataclass
class Result:
    name: str
    db: str
    n: int
    senders: int
    rate: float
    config: str = ""
    ok: bool = False
    note: str = ""
    e2e_per_s: float = 0.0
    accept_per_s: float = 0.0
    wall_s: float = 0.0
    accept_s: float = 0.0
    lat_data_ms: dict = field(default_factory=dict)
    lat_txn_ms: dict = field(default_factory=dict)
    late_ms: dict = field(default_factory=dict)
    send_errors: int = 0
    daemon_cpu_s: float = 0.0
    daemon_cpu_pct: float = 0.0
    sender_cpu_s: float = 0.0
    machine_busy_pct: float = 0.0
    others_cpu_pct: float = 0.0  # CPU of other processes on the machine during the run (of one core)
    loadavg_before: float = 0.0
    vmhwm_mib: float = 0.0
    rss_start_mib: float = 0.0
    rss_end_mib: float = 0.0
    rss_marks: dict = field(default_factory=dict)
    rss_series: list = field(default_factory=list)
    # every process of the gateway (accepting, workers, parsers), by role: RSS (MiB) at the start, at each
    # mark and at the end, its VmHWM, and its CPU seconds during the run
    # (s, receipts stored, receipts waiting for intake, mails waiting for delivery) about once a second:
    # which stage the backlog piles up in
    backlog_series: list = field(default_factory=list)
    # seconds from the start until every case also has its deadline tasks planned (the deadline worker's
    # sweep, which yields to mail waiting to go out, so it may finish after the end-to-end time)
    planned_s: float = 0.0
    procs_rss: dict = field(default_factory=dict)
    procs_vmhwm_mib: dict = field(default_factory=dict)
    procs_cpu_s: dict = field(default_factory=dict)
    procs_sys_s: dict = field(default_factory=dict)  # the part of procs_cpu_s spent in the kernel
    # the host's speed just before the run, by the shared corpus README's own measure (stdlib parsing
    # alone, one process; ≈ 660 msg/s on its reference machine): the same code drifts with it
    host_parse_per_s: float = 0.0
    final: dict = field(default_factory=dict)
    maildir_files: int = 0
    profile: str = ""
    commit: str = ""


def pct(values: list[float]) -> dict:
    if not values:
        return {}
    v = sorted(values)

    def q(p: float) -> float:
        return v[min(len(v) - 1, round(p * (len(v) - 1)))] * 1000

    return {
        "p50": round(q(0.50), 2),
        "p90": round(q(0.90), 2),
        "p99": round(q(0.99), 2),
        "max": round(v[-1] * 1000, 2),
        "mean": round(statistics.fmean(v) * 1000, 2),
    }


def runs_dir() -> Path:
    """The folder that each run's database and maildir go under, with ext4's "top of a directory
    hierarchy" flag (`chattr +T`) where the file system has it.

    Without it each run's folder lands in the block group of the run before, whose thousands of maildir
    files were just deleted; ext4 without a journal (this machine's root) will not reuse an inode freed in
    the last 60-360 s and checks every candidate one by one, so the next run's delivering worker spent
    4-6 s of kernel time per 3,000 mails skipping the previous run's files (bench/RESULTS.md). The flag
    makes ext4 spread the runs' folders over block groups, as a daemon that deletes nothing never meets it.
    """
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # not ext4, no chattr: measured as it falls
        subprocess.run(["chattr", "+T", str(RUNS_DIR)], capture_output=True, check=False)
    return RUNS_DIR


def run(
    name: str,
    db: str,
    n: int,
    senders: int,
    rate: float = 0.0,
    corpus_n: int = 5000,
    procs: int = 2,
    rss_marks: tuple[int, ...] = (),
    profile: str = "",
    timeout: float = 0.0,
    poll: float = 0.1,
    keep: bool = False,
) -> Result:
    cached = load_corpus(corpus_n)
    corpus = cached[:n]  # a prefix of the cached corpus: same seed, same messages
    res = Result(name=name, db=db, n=n, senders=senders, rate=rate)
    res.commit = machine()["commit"]  # others commit to gateway/ while benchmarks run: record what ran
    res.host_parse_per_s = host_speed(cached)
    cfg, res.config = config_dir()
    work = Path(tempfile.mkdtemp(prefix=f"{name}_", dir=runs_dir()))
    (work / "var").mkdir()
    maildir = work / "var" / "outbox"
    port = free_port()
    pg_name = ""
    if db == "sqlite":
        url = f"sqlite:///{work}/var/gateway.db"
        mon = Db("sqlite", url, work / "var" / "gateway.db")
    else:
        pg_name = f"bench_{os.getpid()}_{int(time.time())}"
        pg_admin(f"CREATE DATABASE {pg_name}")
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + pg_name
        mon = Db("postgres", url.replace("postgresql+psycopg://", "postgresql://"))
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    env = dict(
        os.environ,
        GATEWAY_DATABASE_URL=url,
        GATEWAY_CONFIG_DIR=str(cfg),
        GATEWAY_SMTP_HOST=HOST,
        GATEWAY_SMTP_PORT=str(port),
        GATEWAY_SMTP_HOSTNAME="gateway.bench",
        GATEWAY_NODE_NAME="bench",
        GATEWAY_REPLY_SECRET="bench-secret-of-32-bytes-or-more-0123456789",  # PostgreSQL runs need one
        GATEWAY_OUTBOX_MAILDIR=str(maildir),
        GATEWAY_LOG_LEVEL="WARNING",
        # the corpus repeats senders (up to 14 mails each): without this most receipts are suppressed
        GATEWAY_NOTICES_PER_RECIPIENT_PER_HOUR="1000000",
        # one client, sessions of thousands of mails, every case a new sender or not: the SMTP abuse limits
        # and the new-case limits (decisions 0025, 0022b) would cut the run or drop its receipts
        GATEWAY_SMTP_MAX_CONNECTIONS_PER_CLIENT="100000",
        GATEWAY_SMTP_SESSION_SECONDS="86400",
        GATEWAY_SMTP_MESSAGES_PER_SESSION="100000000",
        GATEWAY_NEW_CASES_PER_SENDER_PER_HOUR="0",
        GATEWAY_NEW_CASES_PER_CLIENT_PER_HOUR="0",
    )
    log = open(work / "daemon.log", "wb")  # noqa: SIM115 - closed in the finally below
    daemon = subprocess.Popen(
        [str(ROOT / ".venv/bin/gateway"), "run"], cwd=work, env=env, stdout=log, stderr=log
    )
    spy = None
    try:
        deadline = time.time() + 60
        while True:
            if daemon.poll() is not None:
                raise RuntimeError(f"daemon exited {daemon.returncode}; see {work / 'daemon.log'}")
            try:
                with socket.create_connection((HOST, port), timeout=0.5) as s:
                    if s.recv(512).startswith(b"220"):
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError("daemon did not listen within 60 s")
            time.sleep(0.1)
        time.sleep(0.3)  # let it settle (migrations done, workers idle)
        st0 = proc_status(daemon.pid)
        res.rss_start_mib = round(st0.get("VmRSS", 0), 1)
        tree0 = tree_status(daemon.pid)
        for role, st_ in tree0.items():
            res.procs_rss[role] = {"start": round(st_.get("VmRSS", 0), 1)}
        if profile:
            spy = subprocess.Popen(
                [
                    str(ROOT / ".venv/bin/py-spy"),
                    "record",
                    "--pid",
                    str(daemon.pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "-o",
                    profile,
                    "--nonblocking",
                    "--subprocesses",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(1.0)
        # split the message numbers over the sessions, round robin, and the sessions over the processes
        sessions = [list(range(i, n, senders)) for i in range(senders)]
        per_proc = [sessions[p::procs] for p in range(procs)]
        interval = senders / rate if rate else 0.0
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        start_at = time.time() + 0.5
        # pacing: stagger the sessions' phases evenly over one interval
        ps = []
        for p, assigned in enumerate(per_proc):
            if not assigned:
                continue
            # the phase offset is per session; approximate by per-process offset plus the session index
            pr = ctx.Process(
                daemon=True,
                target=_paced_process if interval else _sender_process,
                args=(
                    corpus,
                    assigned,
                    port,
                    interval,
                    start_at + (p * interval / procs if interval else 0),
                    q,
                ),
            )
            pr.start()
            ps.append(pr)
        cpu0 = tree_status(daemon.pid)
        m0 = machine_cpu()
        me0 = time.process_time()
        res.loadavg_before = round(os.getloadavg()[0], 2)
        t0 = start_at
        while time.time() < t0:
            time.sleep(0.005)
        done_at = None
        results = []
        next_rss = 0.0
        marks = list(rss_marks)
        limit = timeout or (60 + n / 20)
        while True:
            now = time.time()
            st = proc_status(daemon.pid)
            if now >= next_rss:
                res.rss_series.append((round(now - t0, 1), round(st.get("VmRSS", 0), 1)))
                next_rss = now + max(1.0, limit / 400)
            while not q.empty():
                results.append(q.get())
            if daemon.poll() is not None:
                raise RuntimeError(f"daemon died {daemon.returncode}; see {work / 'daemon.log'}")
            if mon.connect():
                pr_ = mon.progress()
                if not res.backlog_series or now - t0 >= res.backlog_series[-1][0] + 1.0:
                    res.backlog_series.append(
                        (round(now - t0, 1), pr_["receipts"], pr_["pending"], pr_["outbox_pending"])
                    )
                while marks and pr_["receipts"] - pr_["pending"] >= marks[0]:
                    mark = str(marks.pop(0))
                    res.rss_marks[mark] = round(st.get("VmRSS", 0), 1)
                    for role, st_ in tree_status(daemon.pid).items():
                        res.procs_rss.setdefault(role, {})[mark] = round(st_.get("VmRSS", 0), 1)
                if (
                    len(results) == len(ps)
                    and pr_["receipts"] >= n
                    and pr_["pending"] == 0
                    and pr_["outbox_pending"] == 0
                ):
                    done_at = time.time()
                    break
                if len(results) == len(ps) and sum(r["sent"] for r in results) < n and pr_["pending"] == 0:
                    res.note = "senders gave up before all messages were accepted"
                    done_at = time.time()
                    break
            if now - t0 > limit:
                res.note = f"timed out after {limit:.0f} s"
                break
            time.sleep(poll)
        m1 = machine_cpu()
        st1 = proc_status(daemon.pid)
        tree1 = tree_status(daemon.pid)
        while done_at and mon.connect() and time.time() < done_at + 60:
            if mon.unplanned() == 0:
                res.planned_s = round(time.time() - t0, 2)
                break
            time.sleep(poll)
        # read every sender's result before joining it (a child blocks until its queue is drained)
        until = time.time() + (30 if done_at else 5)
        while len(results) < len(ps) and time.time() < until:
            with contextlib.suppress(Exception):
                results.append(q.get(timeout=0.5))
        for pr in ps:
            pr.join(timeout=5)
            if pr.is_alive():  # timed out: the senders are still sending; stop them
                pr.terminate()
                pr.join(timeout=5)
        end = done_at or time.time()
        res.wall_s = round(end - t0, 2)
        res.e2e_per_s = round(n / (end - t0), 1) if done_at else 0.0
        last_250 = max((r["end"] for r in results), default=end)
        res.accept_s = round(last_250 - t0, 2)
        sent = sum(r["sent"] for r in results)
        res.accept_per_s = round(sent / (last_250 - t0), 1)
        res.lat_txn_ms = pct([x for r in results for x in r["txn"]])
        res.lat_data_ms = pct([x for r in results for x in r["data"]])
        res.late_ms = pct([x for r in results for x in r["late"]])
        res.send_errors = sum(r["errors"] for r in results)
        res.sender_cpu_s = round(sum(r["cpu"] for r in results), 1)
        for role, st_ in tree1.items():
            # a process started during the run (a replaced parser) counts from its own start
            res.procs_cpu_s[role] = round(st_.get("cpu", 0) - cpu0.get(role, {}).get("cpu", 0.0), 1)
            res.procs_sys_s[role] = round(st_.get("sys", 0) - cpu0.get(role, {}).get("sys", 0.0), 1)
            res.procs_rss.setdefault(role, {})["end"] = round(st_.get("VmRSS", 0), 1)
            res.procs_vmhwm_mib[role] = round(st_.get("VmHWM", 0), 1)
        res.daemon_cpu_s = round(sum(res.procs_cpu_s.values()), 1)
        res.daemon_cpu_pct = round(100 * res.daemon_cpu_s / max(end - t0, 1e-9), 0)
        res.machine_busy_pct = round(100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1), 0)
        busy_s = (m1[0] - m0[0]) / os.sysconf("SC_CLK_TCK")
        others = busy_s - res.daemon_cpu_s - res.sender_cpu_s - (time.process_time() - me0)
        res.others_cpu_pct = round(max(0.0, 100 * others / max(end - t0, 1e-9)), 0)
        res.vmhwm_mib = round(st1.get("VmHWM", 0), 1)
        res.rss_end_mib = round(st1.get("VmRSS", 0), 1)
        res.rss_series.append((round(time.time() - t0, 1), res.rss_end_mib))
        res.final = mon.final() if mon.connect() else {}
        new = maildir / "new"
        res.maildir_files = len(os.listdir(new)) if new.is_dir() else 0
        res.ok = bool(done_at) and sent == n and res.final.get("receipts") == n
        if res.final.get("outbox_sent", 0) != res.maildir_files:  # receipts and forwards alike
            res.note += f" maildir files {res.maildir_files} != outbox mails sent"
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=60)
            res.profile = profile
        return res
    finally:
        mon.close()
        if spy is not None and spy.poll() is None:
            spy.kill()
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        log.close()
        if pg_name:
            with contextlib.suppress(Exception):
                pg_admin(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)")
        if not keep and res.ok:
            subprocess.run(["rm", "-rf", str(work)], check=False)
        else:
            res.note += f" (run dir kept: {work})"


def _paced_process(corpus, assignments, port, interval, start_at, q) -> None:
    """Like _sender_process, but each session's schedule is offset so arrivals are evenly spread."""
    results: list = []
    k = len(assignments)
    threads = [
        threading.Thread(
            target=_session, args=(corpus, idx, port, interval, start_at + j * interval / max(k, 1), results)
        )
        for j, idx in enumerate(assignments)
    ]
    c0 = time.process_time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    q.put(
        {
            "txn": [x for r in results for x in r[0]],
            "data": [x for r in results for x in r[1]],
            "late": [x for r in results for x in r[2]],
            "errors": sum(r[3] for r in results),
            "sent": sum(r[4] for r in results),
            "cpu": time.process_time() - c0,
            "end": time.time(),
        }
    )


# --------------------------------------------------------------------------- baseline


def baseline(n: int = 5000) -> dict:
    """Parse-only throughput of the corpus in one process: stdlib email, policy.default, body + parts."""
    from email import policy
    from email.parser import BytesParser

    corpus = [raw for _, raw in load_corpus(n)]
    parser = BytesParser(policy=policy.default)
    t0 = time.perf_counter()
    c0 = time.process_time()
    for raw in corpus:
        msg = parser.parsebytes(raw)
        _ = msg["subject"], msg["from"], msg["message-id"], msg["in-reply-to"]
        body = msg.get_body(("plain", "html"))
        if body is not None:
            body.get_content()
        for part in msg.iter_attachments():
            part.get_content()
    wall = time.perf_counter() - t0
    return {
        "n": n,
        "per_s": round(n / wall, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(time.process_time() - c0, 2),
    }


REFERENCE_PARSE_PER_S = 660.0  # /work/shared/bench/README.md: parsing alone, one process, its machine


def host_speed(corpus: list[tuple[str, bytes]], n: int = 2000) -> float:
    """Messages per second that `BytesParser(policy=policy.default).parsebytes` alone manages on the first
    *n* messages of *corpus* in this process: the shared README's measure of how fast the machine is now."""
    from email import policy
    from email.parser import BytesParser

    sample = [raw for _, raw in corpus[:n]]
    parser = BytesParser(policy=policy.default)
    t0 = time.perf_counter()
    for raw in sample:
        parser.parsebytes(raw)
    return round(len(sample) / (time.perf_counter() - t0), 1)


# --------------------------------------------------------------------------- reporting


def machine() -> dict:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "gateway"], capture_output=True, text=True
    )
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "loadavg_before": [round(x, 2) for x in load],
        "commit": commit.stdout.strip()
        + (" + uncommitted changes in gateway/" if dirty.stdout.strip() else ""),
        "python": sys.version.split()[0],
    }


def table(results: list[Result]) -> str:
    head = (
        "| run | db | N | senders | offered rate | end-to-end msg/s | accept msg/s "
        "| accept p50 / p99 / max ms (end of DATA → 250) | whole txn p99 ms "
        "| gateway CPU (all its processes, of one core) | machine busy "
        "| accepting process VmHWM MiB | accepting process RSS start → end MiB "
        "| other processes' CPU | cases | receipt + other mails delivered "
        f"| host: stdlib parse-only msg/s (reference machine ≈ {REFERENCE_PARSE_PER_S:.0f}) | commit | ok |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        d, t = r.lat_data_ms, r.lat_txn_ms
        receipts = r.final.get("outbox_receipt_sent", 0)
        other_mail = r.final.get("outbox_sent", 0) - receipts
        rows.append(
            f"| {r.name} | {r.db} | {r.n} | {r.senders} | {f'{r.rate:g}/s' if r.rate else 'max'} "
            f"| {r.e2e_per_s} | {r.accept_per_s} | {d.get('p50')} / {d.get('p99')} / {d.get('max')} "
            f"| {t.get('p99')} | {r.daemon_cpu_pct:.0f}% | {r.machine_busy_pct:.0f}% | {r.vmhwm_mib} "
            f"| {r.rss_start_mib} → {r.rss_end_mib} | {r.others_cpu_pct:.0f}% | {r.final.get('cases')} "
            f"| {receipts} + {other_mail} | {r.host_parse_per_s or '–'} "
            f"| {r.commit.split()[0]} | {'yes' if r.ok else 'NO ' + r.note} |"
        )
    return head + "\n".join(rows) + "\n"


def procs_lines(r: Result) -> str:
    """Each of the gateway's processes: RSS at the start, at each mark and at the end; VmHWM; CPU."""
    lines = []
    for role, rss in r.procs_rss.items():
        marks = ", ".join(f"{k} {v}" for k, v in rss.items())
        lines.append(
            f"{r.name}: {role}: RSS MiB {marks}; VmHWM {r.procs_vmhwm_mib.get(role)} MiB; "
            f"CPU {r.procs_cpu_s.get(role)} s ({r.procs_sys_s.get(role)} in the kernel)"
        )
    return "\n".join(lines)


def print_result(r: Result) -> None:
    d = asdict(r)
    series = d.pop("rss_series")
    backlog = d.pop("backlog_series")
    print(json.dumps(d, ensure_ascii=False))
    if len(series) > 12:
        step = max(1, len(series) // 12)
        series = [*series[::step], series[-1]]
    print("RSS over time (s, MiB):", series, file=sys.stderr)
    print(f"Every case planned (deadline tasks) at {r.planned_s} s", file=sys.stderr)
    print("Backlog (s, stored, waiting for intake, mails waiting for delivery):", backlog, file=sys.stderr)
    print(procs_lines(r), file=sys.stderr)


ALL = [
    # name, db, n, senders, rate, extra
    ("sat-sqlite-10", "sqlite", 5000, 10, 0.0, {}),
    ("sat-sqlite-50", "sqlite", 5000, 50, 0.0, {}),
    ("sat-pg-10", "postgres", 5000, 10, 0.0, {}),
    ("sat-pg-50", "postgres", 5000, 50, 0.0, {}),
    ("steady-sqlite-100", "sqlite", 3000, 50, 100.0, {}),
    ("steady-pg-100", "postgres", 3000, 50, 100.0, {}),
    # well under the measured capacity, so that latency is not queueing
    ("steady-sqlite-30", "sqlite", 1500, 50, 30.0, {}),
    (
        "mem-sqlite-100k",
        "sqlite",
        100000,
        10,
        0.0,
        {
            "rss_marks": (10000, 25000, 50000, 75000, 100000),
            "timeout": float(os.environ.get("BENCH_MEM_TIMEOUT", 2400)),
        },
    ),
]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--n", type=int, default=5000, help="messages to send")
    ap.add_argument("--senders", type=int, default=10, help="concurrent SMTP sessions")
    ap.add_argument("--rate", type=float, default=0.0, help="total offered msgs/s (0 = as fast as possible)")
    ap.add_argument("--procs", type=int, default=2, help="client processes the sessions are spread over")
    ap.add_argument("--corpus-n", type=int, default=5000, help="corpus size; larger N cycles through it")
    ap.add_argument("--rss-marks", default="", help="processed-message counts at which to record RSS")
    ap.add_argument("--profile", default="", help="py-spy raw (collapsed) profile of the daemon to this file")
    ap.add_argument("--timeout", type=float, default=0.0)
    ap.add_argument("--name", default="")
    ap.add_argument("--keep", action="store_true", help="keep the run directory (database, maildir, log)")
    ap.add_argument("--baseline", action="store_true", help="only the stdlib parse-only baseline")
    ap.add_argument("--all", action="store_true", help="the full set; prints a Markdown table")
    ap.add_argument("--quick", action="store_true", help="with --all: skip the 100,000-message run")
    ap.add_argument("--only", default="", help="with --all: comma-separated run names")
    ap.add_argument("--table", default="", help="print the table of a --json-out file and exit")
    ap.add_argument("--json-out", default="", help="append each result as a JSON line to this file")
    a = ap.parse_args()

    def emit(r: Result) -> None:
        print_result(r)
        if a.json_out:
            with open(a.json_out, "a") as f:
                f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")

    if a.baseline:
        print(json.dumps(baseline(a.corpus_n)))
        return 0
    if a.table:
        with open(a.table) as f:
            rs = [Result(**json.loads(line)) for line in f if line.strip()]
        print(table(rs))
        for r in rs:
            print(procs_lines(r))
        return 0
    if a.all:
        info = machine()
        print(json.dumps(info), file=sys.stderr)
        base_before = baseline()
        print("baseline before:", base_before, file=sys.stderr)
        results = []
        for name, db, n, senders, rate, extra in ALL:
            if (a.quick and n > 5000) or (a.only and name not in a.only.split(",")):
                continue
            print(f"--- {name}", file=sys.stderr)
            r = run(name, db, n, senders, rate, procs=a.procs, **extra)
            emit(r)
            results.append(r)
        base_after = baseline()
        print(f"\nMachine: {info}")
        print(
            f"Baseline (stdlib parse-only, one process, corpus 5000): before {base_before['per_s']}/s, "
            f"after {base_after['per_s']}/s\n"
        )
        print(table(results))
        for r in results:
            print(procs_lines(r))
        return 0 if all(r.ok for r in results) else 1
    marks = tuple(int(x) for x in a.rss_marks.split(",") if x)
    name = a.name or f"{'steady' if a.rate else 'sat'}-{a.db}-{a.senders}"
    r = run(
        name,
        a.db,
        a.n,
        a.senders,
        a.rate,
        corpus_n=a.corpus_n,
        procs=a.procs,
        rss_marks=marks,
        profile=a.profile,
        timeout=a.timeout,
        keep=a.keep,
    )
    emit(r)
    print(table([r]), file=sys.stderr)
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
