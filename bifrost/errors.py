"""Error types of Bifrost, mapped one to one to the bus error codes and CLI exit codes.

Every failure that crosses a boundary (RPC reply, CLI exit) is a `BifrostError`
subclass, so a caller can catch by kind and the CLI can pick its exit code.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """The error codes an RPC reply can carry (DESIGN section 3)."""

    BAD_REQUEST = "BAD_REQUEST"
    UNKNOWN_METHOD = "UNKNOWN_METHOD"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    REJECTED = "REJECTED"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    UNAVAILABLE = "UNAVAILABLE"
    TIMEOUT = "TIMEOUT"
    INTERNAL = "INTERNAL"


class ExitCode(IntEnum):
    """Process exit codes of the CLI (DESIGN section 7)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    UNAVAILABLE = 3
    REJECTED = 4


class BifrostError(Exception):
    """Base of every Bifrost error; carries a code, a message and optional details."""

    code: ClassVar[ErrorCode] = ErrorCode.INTERNAL
    exit_code: ClassVar[ExitCode] = ExitCode.ERROR

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_wire(self) -> dict[str, Any]:
        """The `error` map of an RPC reply."""
        return {"code": self.code.value, "message": self.message, "details": self.details}


class BadRequest(BifrostError):
    """The request or frame is malformed or fails its schema."""

    code = ErrorCode.BAD_REQUEST


class InvalidParameter(BadRequest):
    """A value that makes no sense for the parameter it was given to (a strategy parameter,
    a cost, a convention); the message names the parameter and the rule it breaks.

    A bad argument, so the CLI exits 2 (usage); on the wire it is a BAD_REQUEST whose
    details carry `parameter` (and `constraint`), which is how the client rebuilds it.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, parameter: str, message: str, constraint: str = "") -> None:
        super().__init__(message, {"parameter": parameter, "constraint": constraint})
        self.parameter = parameter
        self.constraint = constraint


class LookAhead(BadRequest):
    """A strategy's indicator reads bars after the one it is for (its values change when
    later bars are removed); details name the indicator and the first bar that changed."""


class UnknownMethod(BifrostError):
    """The service has no such RPC method."""

    code = ErrorCode.UNKNOWN_METHOD


class Unauthenticated(BifrostError):
    """The caller's identity could not be established."""

    code = ErrorCode.UNAUTHENTICATED


class Forbidden(BifrostError):
    """The caller's role does not allow the method."""

    code = ErrorCode.FORBIDDEN


class RateLimited(BifrostError):
    """The caller sent more requests than its budget allows."""

    code = ErrorCode.RATE_LIMITED


class Rejected(BifrostError):
    """Risk or compliance refused the request; the message gives the reason."""

    code = ErrorCode.REJECTED
    exit_code = ExitCode.REJECTED


class NotFound(BifrostError):
    """The thing asked for does not exist."""

    code = ErrorCode.NOT_FOUND


class Conflict(BifrostError):
    """The request clashes with existing state (e.g. a reused client order id)."""

    code = ErrorCode.CONFLICT


class Unavailable(BifrostError):
    """A needed service is not running or not ready."""

    code = ErrorCode.UNAVAILABLE
    exit_code = ExitCode.UNAVAILABLE


class Timeout(BifrostError):
    """The request's deadline passed before a reply arrived."""

    code = ErrorCode.TIMEOUT
    exit_code = ExitCode.UNAVAILABLE


class Internal(BifrostError):
    """A handler failed in a way the caller could not have caused."""

    code = ErrorCode.INTERNAL


class ConfigError(BifrostError):
    """A config file is missing, unreadable or holds a wrong or unknown key."""

    code = ErrorCode.BAD_REQUEST


_BY_CODE: dict[ErrorCode, type[BifrostError]] = {
    cls.code: cls
    for cls in (
        BadRequest,
        UnknownMethod,
        Unauthenticated,
        Forbidden,
        RateLimited,
        Rejected,
        NotFound,
        Conflict,
        Unavailable,
        Timeout,
        Internal,
    )
}


def error_from_wire(error: dict[str, Any]) -> BifrostError:
    """Rebuild the typed error from an RPC reply's `error` map."""
    try:
        code = ErrorCode(str(error.get("code")))
    except ValueError:
        code = ErrorCode.INTERNAL
    details = error.get("details")
    details = details if isinstance(details, dict) else {}
    message = str(error.get("message", ""))
    if code is ErrorCode.BAD_REQUEST and isinstance(details.get("parameter"), str):
        return InvalidParameter(details["parameter"], message, str(details.get("constraint", "")))
    return _BY_CODE[code](message, details)
