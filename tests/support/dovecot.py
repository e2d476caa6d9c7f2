"""A real Dovecot on a loopback port with a throwaway configuration, and an IMAP client to feed it."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from tests.support.daemon import wait_for
from tests.support.process import free_port, listening

PASSWORD = "test-password"
USERS = 100  # accounts palaute0 .. palaute99: one per test, so that tests can share one server


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)), None
    )


def _users() -> tuple[str, str, int, int]:
    """(internal user, login user, mail uid, mail gid) that work for whoever runs the tests.

    Dovecot refuses to run its login processes as root and refuses uid 0 for mail, so as root the
    mail belongs to `nobody` and the services run as the users the Debian package created.
    """
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    nobody = pwd.getpwnam("nobody")
    internal = "dovecot" if _exists("dovecot") else "nobody"
    login = "dovenull" if _exists("dovenull") else "nobody"
    return internal, login, nobody.pw_uid, nobody.pw_gid


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
        return True
    except KeyError:
        return False


CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = gateway-test-{port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal_group}
default_login_user = {login}
first_valid_uid = 1
log_path = {root}/dovecot.log
mail_location = maildir:{mail}/%u
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """One Dovecot instance: start, stop and start again on the same port, then clean up."""

    def __init__(self) -> None:
        binary = dovecot_binary()
        assert binary is not None
        self.binary = binary
        self.doveadm = shutil.which("doveadm") or str(Path(binary).with_name("doveadm"))
        # Outside pytest's tmp_path: Dovecot's unprivileged processes cannot enter its root-only parents.
        root = self.root = Path(tempfile.mkdtemp(prefix="gateway-dovecot-"))
        root.chmod(0o755)
        self.port = free_port()
        internal, login, uid, gid = _users()
        self.mail = root / "mail"
        self.mail.mkdir()
        os.chown(self.mail, uid, gid)
        (root / "passwd").write_text("".join(f"palaute{i}:{{PLAIN}}{PASSWORD}\n" for i in range(USERS)))
        self.user = "palaute0"
        self._next_user = 0
        self.conf = root / "dovecot.conf"
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf.write_text(
            CONF.format(
                root=root,
                port=self.port,
                mail=self.mail,
                uid=uid,
                gid=gid,
                internal=internal,
                internal_group=_group_of(internal),
                login=login,
            )
        )

    def start(self) -> Dovecot:
        # In the foreground (-F), so that the server is our child and stopping it cannot miss.
        with open(self.root / "start.log", "ab") as out:
            self.proc = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.conf)], stdout=out, stderr=out, env=real_clock_env()
            )
        wait_for(lambda: listening(self.port) or self.proc.poll() is not None, 15, "Dovecot to listen")  # type: ignore[union-attr]
        assert self.proc.poll() is None, (self.root / "start.log").read_text()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        wait_for(lambda: not listening(self.port), 15, "Dovecot to stop listening")

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_user(self) -> str:
        """Switch to an account no test has used yet: an empty mailbox, without a new server."""
        self._next_user += 1
        assert self._next_user < USERS, "more tests than accounts: raise USERS"
        self.user = f"palaute{self._next_user}"
        return self.user

    def client(self) -> Any:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(self.user, PASSWORD)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver *raw* the way the outside world does: IMAP APPEND (as an MDA or a migration would)."""
        with self.client() as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)

    def count(self, folder: str) -> int:
        with self.client() as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.select_folder(folder, readonly=True)[b"EXISTS"])

    def messages(self, folder: str) -> list[bytes]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            fetched = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]"])
            return [bytes(fetched[uid][b"BODY[]"]) for uid in sorted(fetched)]

    def recreate(self, folder: str) -> None:
        """Delete and create *folder* again: the server gives it a new UIDVALIDITY."""
        with self.client() as client:
            client.delete_folder(folder)
            client.create_folder(folder)


def real_clock_env() -> dict[str, str]:
    """Our environment without libfaketime: the suite may run under `faketime` (issue 15), but a mail
    server, like the PostgreSQL server, lives on the real clock; and Dovecot under libfaketime never
    answered (its timed waits and timeouts stall)."""
    hidden = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC", "DONT_FAKE_MONOTONIC")
    return {k: v for k, v in os.environ.items() if k not in hidden}


def _group_of(user: str) -> str:
    import grp

    return grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
