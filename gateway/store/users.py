"""Staff accounts and their sessions (issue 18): who may use the console, in which role and for which
departments, their passwords as argon2 hashes, and the server-side sessions that logging out, a new
password or disabling a user end at once.

A role's permissions are in `PERMISSIONS`, the one table that says what each role may do. A user is never
deleted, only disabled: the events they signed keep naming someone, and an address is never reused.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, RowMapping, delete, select, update

from gateway.errors import Conflict
from gateway.store.db import savepoint
from gateway.store.tables import staff_sessions, user_departments, users

Role = Literal["agent", "handler", "moderator", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
# What a role may do. `read_all`: every department's cases; without it, only the user's departments'.
Permission = Literal["enter", "route", "answer", "publish", "read_all", "manage_users"]
PERMISSIONS: Mapping[Role, frozenset[Permission]] = MappingProxyType(
    {
        "agent": frozenset({"enter", "route", "read_all"}),  # takes calls and visits, routes cases
        "handler": frozenset({"answer"}),  # sees and answers its departments' cases
        "moderator": frozenset({"publish", "read_all"}),  # publishes answered cases
        "admin": frozenset(get_args(Permission)),  # all, and manages users
    }
)
MIN_PASSWORD, MAX_PASSWORD = 12, 1024  # characters; the upper bound keeps hashing cheap to refuse
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True)
class User:
    """A staff account as the console and the commands see it: never its password hash."""

    id: int
    email: str
    name: str
    role: Role
    departments: tuple[str, ...]  # a handler's; empty for the other roles
    created_at: datetime
    disabled_at: datetime | None
    password_changed_at: datetime

    @property
    def enabled(self) -> bool:
        return self.disabled_at is None

    def can(self, permission: Permission) -> bool:
        return permission in PERMISSIONS[self.role]

    def sees(self, department: str | None) -> bool:
        """Whether the user may see a case of *department*."""
        return self.can("read_all") or (department is not None and department in self.departments)


@dataclass(frozen=True, slots=True)
class StaffSession:
    """A live session: its id (the hash of the cookie's token), its user and its CSRF token."""

    id: str
    user: User
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    csrf_token: str


# -- passwords -------------------------------------------------------------------------------------------


def check_password(password: str) -> str | None:
    """Why *password* cannot be a staff password (an English sentence), or None when it can."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"a password may have at most {MAX_PASSWORD} characters"
    return None


def hash_password(password: str) -> str:
    """The argon2id hash of *password*, with argon2-cffi's defaults (RFC 9106's second recommended set)."""
    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether *password* is the one *password_hash* was made of (never raises for a wrong one)."""
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than today's defaults (rehashed at login)."""
    try:
        return PasswordHasher().check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


# -- users -----------------------------------------------------------------------------------------------


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str) -> str | None:
    """Why *email* (normalised) cannot name a staff account, or None when it can."""
    if len(email) > 254 or not EMAIL.fullmatch(email):
        return f"{email[:80]!r} is not an email address"
    return None


def add_user(
    conn: Connection,
    email: str,
    name: str,
    role: Role,
    departments: Sequence[str],
    password_hash: str,
    now: datetime,
) -> User:
    """Make a staff account. ValueError for a bad address, name or role; Conflict when the address has an
    account already (enabled or disabled)."""
    email = normalise_email(email)
    if problem := check_email(email):
        raise ValueError(problem)
    if not name.strip():
        raise ValueError("a user needs a name")
    if role not in ROLES:
        raise ValueError(f"{role!r} is not a role ({', '.join(ROLES)})")
    if find_user(conn, email) is not None:
        raise Conflict(f"a user {email!r} exists already")
    with savepoint(conn):  # another command adding the same address at once: a Conflict too
        user_id = conn.execute(
            users.insert()
            .values(
                email=email,
                name=name.strip(),
                role=role,
                password_hash=password_hash,
                created_at=now,
                disabled_at=None,
                password_changed_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
    keys = list(dict.fromkeys(departments))
    if keys:
        conn.execute(user_departments.insert(), [{"user_id": user_id, "department": k} for k in keys])
    return User(int(user_id), email, name.strip(), role, tuple(keys), now, None, now)


_USER = select(
    users.c.id,
    users.c.email,
    users.c.name,
    users.c.role,
    users.c.created_at,
    users.c.disabled_at,
    users.c.password_changed_at,
)


def _departments(conn: Connection, user_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    query = (
        select(user_departments.c.user_id, user_departments.c.department)
        .where(user_departments.c.user_id.in_(user_ids))
        .order_by(user_departments.c.department)
    )
    for user_id, department in conn.execute(query):
        found.setdefault(int(user_id), []).append(str(department))
    return {user_id: tuple(keys) for user_id, keys in found.items()}


def _user(m: RowMapping, departments: tuple[str, ...]) -> User:
    return User(
        int(m["id"]),
        m["email"],
        m["name"],
        m["role"],
        departments,
        m["created_at"],
        m["disabled_at"],
        m["password_changed_at"],
    )


def find_user(conn: Connection, email: str) -> User | None:
    row = conn.execute(_USER.where(users.c.email == normalise_email(email))).first()
    if row is None:
        return None
    return _user(row._mapping, _departments(conn, [row.id]).get(row.id, ()))


def find_login(conn: Connection, email: str) -> tuple[User, str] | None:
    """The account of *email*, disabled or not, with its password hash: for checking a login only."""
    row = conn.execute(
        _USER.add_columns(users.c.password_hash).where(users.c.email == normalise_email(email))
    ).first()
    if row is None:
        return None
    return _user(row._mapping, _departments(conn, [row.id]).get(row.id, ())), str(row.password_hash)


def list_users(conn: Connection) -> list[User]:
    """Every account, by address, disabled ones too."""
    rows = conn.execute(_USER.order_by(users.c.email)).all()
    departments = _departments(conn, [r.id for r in rows])
    return [_user(r._mapping, departments.get(r.id, ())) for r in rows]


def disable_user(conn: Connection, user_id: int, now: datetime) -> int:
    """Disable an account from *now* on and end its sessions; how many sessions ended. An account
    disabled before keeps the time it was first disabled."""
    conn.execute(
        update(users).where(users.c.id == user_id, users.c.disabled_at.is_(None)).values(disabled_at=now)
    )
    return end_sessions(conn, user_id)


def set_password(
    conn: Connection, user_id: int, password_hash: str, now: datetime, keep: str | None = None
) -> int:
    """A new password for an account: every session of it ends but *keep* (the session of the person
    who changed it from the console, if any); how many ended."""
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, password_changed_at=now)
    )
    return end_sessions(conn, user_id, keep=keep)


def replace_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    """The same password hashed again with today's parameters (at login): not a password change."""
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


# -- sessions --------------------------------------------------------------------------------------------


def session_id(token: str) -> str:
    """What a session is stored under: the SHA-256 of its cookie's token, never the token itself."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start_session(conn: Connection, user_id: int, now: datetime, lifetime: timedelta) -> tuple[str, str]:
    """A new session for *user_id* that ends at *now* + *lifetime* at the latest: its cookie token and
    its CSRF token. Only the token's hash is stored."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(
        staff_sessions.insert().values(
            id=session_id(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
            csrf_token=csrf,
        )
    )
    return token, csrf


def find_session(conn: Connection, token: str, now: datetime, idle: timedelta) -> StaffSession | None:
    """The live session of cookie *token*: not past its absolute end, used within *idle*, of an enabled
    user. None for anything else."""
    rows = conn.execute(
        _USER.add_columns(
            staff_sessions.c.id.label("session_id"),
            staff_sessions.c.created_at.label("session_created_at"),
            staff_sessions.c.last_seen_at,
            staff_sessions.c.expires_at,
            staff_sessions.c.csrf_token,
        )
        .add_columns(user_departments.c.department.label("in_department"))
        .join(staff_sessions, staff_sessions.c.user_id == users.c.id)
        .outerjoin(user_departments, user_departments.c.user_id == users.c.id)  # one query a page
        .where(
            staff_sessions.c.id == session_id(token),
            staff_sessions.c.expires_at > now,
            staff_sessions.c.last_seen_at > now - idle,
            users.c.disabled_at.is_(None),
        )
        .order_by(user_departments.c.department)
    ).all()
    if not rows:
        return None
    row = rows[0]
    user = _user(row._mapping, tuple(str(r.in_department) for r in rows if r.in_department is not None))
    return StaffSession(
        row.session_id, user, row.session_created_at, row.last_seen_at, row.expires_at, row.csrf_token
    )


def touch_session(conn: Connection, sid: str, now: datetime) -> None:
    """The session was used at *now*: its idle time starts again."""
    conn.execute(update(staff_sessions).where(staff_sessions.c.id == sid).values(last_seen_at=now))


def end_session(conn: Connection, sid: str) -> None:
    conn.execute(delete(staff_sessions).where(staff_sessions.c.id == sid))


def end_sessions(conn: Connection, user_id: int, keep: str | None = None) -> int:
    """End every session of *user_id* but *keep*; how many ended."""
    query = delete(staff_sessions).where(staff_sessions.c.user_id == user_id)
    if keep is not None:
        query = query.where(staff_sessions.c.id != keep)
    return int(conn.execute(query).rowcount)


def purge_sessions(conn: Connection, now: datetime, idle: timedelta) -> int:
    """Delete the sessions that can no longer be used (past their end or idle too long)."""
    query = delete(staff_sessions).where(
        (staff_sessions.c.expires_at <= now) | (staff_sessions.c.last_seen_at <= now - idle)
    )
    return int(conn.execute(query).rowcount)
