"""The gateway's exception tree: every exception class the gateway raises on purpose is here.

    GatewayError
    ├── SenderFault            bad input from outside: answered with a 5xx/4xx and a reason, logged at INFO
    │   ├── UnknownRecipient   an address that is not one of the city's (SMTP 550)
    │   ├── UnknownDepartment  a reroute to a department departments.yaml does not have
    │   └── NoSuchCase         no case has that tracking code
    ├── SystemFault            our side failed: answered with a retry (451, outbox backoff), logged at ERROR
    │   ├── StorageError       the database could not commit, or refused
    │   │   ├── Conflict       a unique key met twice (two nodes, one Message-ID): retried after the lease
    │   │   └── LeaseLost      another process took over a claim whose lease ran out: ours is rolled back
    │   └── Disconnected       an IMAP server went away without an error of its client library
    ├── DeliveryError          a delivery attempt of the outbox failed
    │   ├── TemporaryFailure   4xx, a timeout, a refused connection: tried again with backoff
    │   └── PermanentFailure   5xx: the mail is parked with the reason
    ├── SettingsError          a settings file or GATEWAY_* variable could not be read or is refused
    └── ConfigError            departments.yaml / rules.yaml / areas.geojson cannot be used; it carries
                               every `file:line: message` problem found, not just the first

Nothing else is raised on purpose: a bare `assert` guards nothing at run time (`python -O` drops it),
and the store turns SQLAlchemy's exceptions into these before they leave it.
"""

from __future__ import annotations

from collections.abc import Iterable


class GatewayError(Exception):
    """Base of everything the gateway raises on purpose."""


class SenderFault(GatewayError):
    """The input was wrong; retrying the same input will not help."""


class UnknownRecipient(SenderFault):
    """An address that is not one of the city's."""


class UnknownDepartment(SenderFault):
    """The named department is not in departments.yaml."""


class NoSuchCase(SenderFault):
    """No case has that tracking code."""


class SystemFault(GatewayError):
    """Something on our side failed; the same input may succeed later."""


class StorageError(SystemFault):
    """The database refused or could not be reached."""


class Conflict(StorageError):
    """A write met another one: the same Message-ID stored twice, a tracking code drawn twice. Retrying
    after a while settles it."""


class LeaseLost(StorageError):
    """Another process took over what this one had claimed (a receipt, a task, a mailbox) after its lease
    ran out: this process's work on it is rolled back, and the other finishes it."""


class Disconnected(SystemFault):
    """The server went away without an exception from imapclient: a BYE, or IDLE answering instantly."""


class DeliveryError(GatewayError):
    """A delivery attempt failed."""


class TemporaryFailure(DeliveryError):
    """Try again later (4xx, a timeout, a refused connection)."""


class PermanentFailure(DeliveryError):
    """Do not try again (5xx): the message is parked with the reason."""


class SettingsError(GatewayError):
    """A settings file or environment variable could not be read."""


class ConfigError(GatewayError):
    """The configuration cannot be used; ``problems`` lists every error found (`gateway.rules.Problem`,
    printed as `file:line: message`), not just the first."""

    def __init__(self, problems: Iterable[object]) -> None:
        self.problems: tuple[object, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
