"""Runtime settings: embedded defaults, overridden by a TOML file, then by GATEWAY_* variables."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from gateway.errors import SettingsError
from gateway.mail.body import ParseLimits
from gateway.settings.mailboxes import MailboxSettings, parse_mailboxes


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the daemon. The README lists them; the defaults run with no set-up at all."""

    # storage
    database_url: str = "sqlite:///var/gateway.db"
    auto_migrate: bool = True  # apply Alembic migrations at start (the embedded default)
    # where operations keep departments.yaml, rules.yaml and areas.geojson
    config_dir: Path = Path(".")
    templates_dir: Path | None = None  # a folder of templates that override the shipped ones
    config_poll_seconds: float = 2.0  # how often the daemon looks for edited configuration files; 0: never
    # SMTP intake
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_hostname: str = field(
        default_factory=socket.gethostname
    )  # the banner; never looked up per connection
    max_message_size: int = 25 * 1024 * 1024
    # how much of one message is parsed and kept (issue 15): the rest stays in the raw receipt, and the
    # case says how much was left out
    max_attachments: int = 20  # attachments kept on the case and forwarded
    max_mime_parts: int = 1000  # MIME parts parsed
    # what SMTP clients may take (gateway/channels/smtp_limits.py): beyond each a temporary 4xx refusal
    smtp_max_connections: int = 200  # open sessions in all
    smtp_max_connections_per_client: int = 20  # open sessions from one client address
    smtp_idle_seconds: float = 60.0  # silence before a session is closed
    smtp_session_seconds: float = 600.0  # the longest one session may last, NOOPs or not
    smtp_messages_per_session: int = 1000  # MAIL, DATA, RSET per session (RCPT 100 times that)
    smtp_data_in_flight_bytes: int = 64 * 1024 * 1024  # DATA held in memory over all sessions
    # local parts accepted at every domain of the city's addresses (RFC 5321 §4.5.1 requires postmaster);
    # their mail opens a case for `role_department` (empty: the rules' default) with no receipt sent back
    role_addresses: str = "postmaster,abuse"
    role_department: str = ""
    # the web front (issues 17, 18): the form, the tracking page, the webhook API, Open311, the console and
    # the open column, served by a web process beside the accepting one (`web_processes`, decision 0030)
    http_enabled: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # the address residents reach the web front at, for the links in our mail; empty: http://host:port
    public_url: str = ""
    # reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-separated addresses);
    # from anyone else those headers are ignored and the connection's own address counts
    http_trusted_proxies: str = ""
    http_max_body_bytes: int = (
        72 * 1024 * 1024
    )  # 5 photos of 10 MB as base64 (4/3 of their bytes) and the text
    # how fast one client address may send (beyond it 429 with Retry-After); 0: no limit
    web_posts_per_client_per_minute: int = 10  # the form, the webhook and Open311 POSTs
    web_posts_per_minute: int = 1200  # all clients together
    track_lookups_per_client_per_minute: int = 30  # tracking codes looked up: no enumeration
    # an API client's key is remembered this long: `gateway client disable` takes effect within it; 0: read
    # it for every request
    web_client_key_seconds: float = 10.0
    # the open column, its feed and the Open311 listing are served again from memory this long (publishing
    # or withdrawing forgets them at once); 0: every request is answered afresh
    web_public_cache_seconds: float = 10.0
    # GET requests handled at once by one process (others wait their turn): where the accepting process
    # serves the web itself, this bounds how long a mail's step waits behind pages; 0: no bound
    web_concurrent_reads: int = 4
    # processes that serve the web front, beside the one that accepts mail (docs/decisions/0030): pages
    # then never hold up an SMTP sender's 250; 0 serves it in the accepting process, beside SMTP; -1 (the
    # default) is one when the daemon runs worker processes (`workers`), else none. Rate limits and the
    # memory of pages are kept per web process: with several, a client may send that many times more
    web_processes: int = -1
    form_min_seconds: float = 3.0  # a form sent sooner after it was shown is a robot's
    form_max_age_hours: float = 24.0  # an older form is shown again, with what was written in it
    # staff console sessions (issue 18): one ends after this long unused, and this long after login anyway
    staff_session_idle_minutes: float = 30.0
    staff_session_hours: float = 10.0
    # the city's bounding box, "south,west,north,east" in degrees: coordinates outside it are refused
    city_bounds: str = "60.08,24.78,60.30,25.27"
    # outbound mail: a relay when outbound_host is set, else a maildir
    outbox_maildir: Path = Path("var/outbox")
    outbound_host: str = ""
    outbound_port: int = 25
    outbound_starttls: bool = False
    outbound_username: str = ""
    outbound_password: str = ""
    outbound_timeout: float = 30.0
    outbox_max_attempts: int = 8
    # what our own mail looks like
    code_prefix: str = "HEL"
    sender_address: str = ""  # From of our mail; the first accepted address when empty
    sender_name: str = "Helsingin kaupunki | Helsingfors stad | City of Helsinki"
    mail_domain: str = ""  # right-hand side of our Message-IDs; the sender's domain when empty
    # loop and storm protection: automatic notices (receipts, how-to-answer ...) per recipient and per
    # case in an hour, and how long an address that bounced gets no mail
    notices_per_recipient_per_hour: int = 5
    notices_per_case_per_hour: int = 10
    # answers and follow-ups relayed on one case in an hour; beyond it they are only recorded on the case
    # (two unmarked autoresponders would otherwise ping-pong through it)
    relays_per_case_per_hour: int = 6
    unreachable_days: float = 3.0
    # the language of the mail staff read (hand-overs, reminders, alarms): fi, sv or en
    staff_language: str = "fi"
    # tries of a reminder, interim notice or alarm task that keeps failing before it is given up
    deadline_max_attempts: int = 8
    # master key of our signatures (reply tokens, loop marks), 32 bytes or more; empty on SQLite: generated
    # into var/reply_secret (0600) at first start; "change-me" and short keys are refused (gateway/signing.py)
    reply_secret: str = ""
    # domains of the city's own staff: anyone there may answer through a case's signed reply address;
    # empty: the domains of the department addresses in departments.yaml (comma-separated)
    staff_domains: str = ""
    # the authserv-id of our own mail server's Authentication-Results (RFC 8601): when set, an answer
    # counts only with a DKIM or DMARC pass for its From domain from that server; empty: not checked
    trusted_authserv_id: str = ""
    # new cases an hour from one sender address and from one SMTP client address; beyond them a case is
    # still opened and handed over, but its receipt is not sent (backscatter, issue 15); 0: no limit
    new_cases_per_sender_per_hour: int = 20
    new_cases_per_client_per_hour: int = 300
    # IMAP mailboxes read besides SMTP: [[mailboxes]] tables in the file, GATEWAY_MAILBOXES as a JSON list
    mailboxes: tuple[MailboxSettings, ...] = ()
    # workers
    # processes that run intake, outbox and deadlines beside the one that accepts mail (gateway/workers.py);
    # 0 runs everything in one process; of two or more, one delivers and fires deadlines, the rest take in;
    # -1 (the default) is what measured best on two cores: 2 on SQLite, 3 on PostgreSQL (bench/RESULTS.md)
    workers: int = -1
    worker_niceness: int = 5  # added to the workers' nice value: accepting mail comes first on a busy CPU
    intake_batch: int = 16  # receipts a round: claimed and parsed together
    # processes that parse receipts for each intake process, so that it settles one chunk in the database
    # while they parse the next on another core; 0 parses in the intake process itself
    intake_parsers: int = 1
    # how long intake may hold a write transaction before it commits what it has settled and goes on in a
    # new one: on SQLite, where writers take turns, this bounds how long a sender waits for its 250
    intake_commit_ms: float = 10.0
    # how long a claimed receipt or outbox row belongs to one process before another may take it over
    intake_lease_seconds: float = 60.0
    outbox_lease_seconds: float = 300.0
    poll_interval: float = 0.5  # how often idle workers look for work another node committed
    node_name: str = field(default_factory=socket.gethostname)
    # tests of several processes only: "<speed>@<unix epoch>" runs the app clock (due times, not task
    # leases) that many times fast from that instant, the same in every process (gateway/clock.py)
    fast_clock: str = ""
    # logging
    log_level: str = "INFO"
    log_format: str = "json"  # or "console"

    @property
    def parse_limits(self) -> ParseLimits:
        return ParseLimits(max_attachments=self.max_attachments, max_mime_parts=self.max_mime_parts)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def worker_processes(self) -> int:
        """How many worker processes to run: `workers`, or for -1 the measured best for the database.
        SQLite's writers take turns, so a second intake process adds nothing there; PostgreSQL's do not."""
        if self.workers >= 0:
            return self.workers
        return 2 if self.is_sqlite else 3

    @property
    def web_process_count(self) -> int:
        """How many web processes to run: `web_processes`, or for -1 one when there are worker processes."""
        if self.web_processes >= 0:
            return self.web_processes
        return 1 if self.worker_processes > 0 else 0

    @property
    def web_url(self) -> str:
        """Where residents reach the web front, without a trailing slash (links in mail and pages)."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """`city_bounds` as (south, west, north, east)."""
        south, west, north, east = (float(x) for x in self.city_bounds.split(","))
        return south, west, north, east

    @property
    def trusted_proxies(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.http_trusted_proxies.split(",") if a.strip())

    def path(self, name: str) -> Path:
        """A configuration file's path inside config_dir."""
        return self.config_dir / name


STAFF_LANGUAGES = ("fi", "sv", "en")  # the languages of the shipped templates


def _convert(name: str, kind: Any, raw: object) -> object:
    text = str(raw)
    try:
        if kind in (bool, "bool"):
            if isinstance(raw, bool):
                return raw
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(f"not a boolean: {text!r}")
        if kind in (int, "int"):
            return int(text)
        if kind in (float, "float"):
            return float(text)
        if kind in ("Path", "Path | None"):
            return Path(text) if text else None
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None
    return text


def load_settings(file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Return the settings: defaults, then *file* (TOML), then GATEWAY_<NAME> variables.

    GATEWAY_SETTINGS names the file when *file* is not given. Unknown keys are errors, not ignored:
    a misspelt setting that silently keeps its default is worse than a refusal to start.
    """
    env = os.environ if environ is None else environ
    known = {f.name: f.type for f in fields(Settings)}
    values: dict[str, object] = {}
    path = file or (Path(env["GATEWAY_SETTINGS"]) if env.get("GATEWAY_SETTINGS") else None)
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from None
        for key, raw in data.items():
            if key == "mailboxes":
                values[key] = parse_mailboxes(raw, str(path), env)
                continue
            if key not in known:
                raise SettingsError(f"{path}: unknown setting {key!r}")
            values[key] = _convert(f"{path}: {key}", known[key], raw)
    for name, kind in known.items():
        var = f"GATEWAY_{name.upper()}"
        if var in env:
            if name == "mailboxes":
                try:
                    values[name] = parse_mailboxes(json.loads(env[var]), var, env)
                except json.JSONDecodeError as exc:
                    raise SettingsError(f"{var}: not JSON: {exc}") from None
                continue
            values[name] = _convert(var, kind, env[var])
    settings = dataclasses.replace(Settings(), **values)  # type: ignore[arg-type]
    if settings.max_attachments < 0 or settings.max_mime_parts < 1:
        raise SettingsError("max_attachments must be 0 or more and max_mime_parts 1 or more")
    if settings.intake_parsers < 0:
        raise SettingsError(f"intake_parsers: {settings.intake_parsers} is not 0 or a number of processes")
    if settings.staff_language not in STAFF_LANGUAGES:
        raise SettingsError(f"staff_language: {settings.staff_language!r} is not one of fi, sv, en")
    try:
        south, west, north, east = settings.bounds
    except ValueError:
        raise SettingsError(f"city_bounds: {settings.city_bounds!r} is not 'south,west,north,east'") from None
    if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
        raise SettingsError(f"city_bounds: {settings.city_bounds!r} is not 'south,west,north,east'")
    if settings.workers < -1:
        raise SettingsError(f"workers: {settings.workers} is not -1 (automatic), 0 or a number of processes")
    return settings
