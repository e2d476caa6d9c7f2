"""The gateway's exception tree.

    GatewayError
    ├── SenderFault          bad input from outside: answered with a 5xx/4xx and a reason, logged at INFO
    │   └── UnknownRecipient
    └── SystemFault          our side failed: answered with a retry (451, outbox backoff), logged at ERROR
        └── StorageError     the database could not commit

Configuration problems have their own type, `gateway.rules.ConfigError`, because they carry a list of
`file:line: message` problems rather than one message.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Base of everything the gateway raises on purpose."""


class SenderFault(GatewayError):
    """The input was wrong; retrying the same input will not help."""


class UnknownRecipient(SenderFault):
    """An address that is not one of the city's."""


class SystemFault(GatewayError):
    """Something on our side failed; the same input may succeed later."""


class StorageError(SystemFault):
    """The database refused or could not be reached."""


class LeaseLost(StorageError):
    """Another process took over what this one had claimed (a receipt, a task, a mailbox) after its lease
    ran out: this process's work on it is rolled back, and the other finishes it."""


class Conflict(StorageError):
    """A write met another one: the same Message-ID stored twice, a tracking code drawn twice. Retrying
    after a while settles it."""


class SettingsError(GatewayError):
    """A settings file or environment variable could not be read."""
