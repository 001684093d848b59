"""Where a reviewer's identity comes from: the OS account, an authenticating proxy, or an admin.

- The CLI records the operating-system user who runs it. ``--reviewer NAME`` naming someone
  else is refused unless ``--as-admin`` is given too; then the decision is recorded in NAME's
  name, and its audit event says who recorded it (``recorded_by``) and that it was an override.
- A web entry point (there is none today; the Dagster UI does not decide reviews) takes the
  user its authenticating reverse proxy passes on: ``reviewer_from_proxy_headers``.
- A program calling the core API with a name is an admin override by the OS user running it.

Every name passes one validator (``core.audit.identity.name_problem``), and ``audit verify``
checks the identity of every decision event with it.
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Mapping

from gemini_assets.core.audit.identity import Identity, IdentityError, IdentitySource, checked_name

PROXY_USER_HEADER = "X-Forwarded-User"


def os_user() -> str:
    """The login name of the process's effective user.

    Read from the password database by user id, not with ``getpass.getuser()``: that reads
    $LOGNAME/$USER first, which anyone can set to anyone's name (``USER=ana gemini-assets ...``).
    A user id without a name (a container run as an arbitrary uid) is recorded as ``uid-<n>``:
    true, and still unspoofable.
    """
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def os_identity() -> Identity:
    name = os_user()
    try:
        return Identity(name, name, IdentitySource.OS_USER)
    except IdentityError as exc:
        raise IdentityError(
            f"the OS user {name!r} is not usable as a reviewer name ({exc}); run as a user with a "
            "login-like name, or name the reviewer with --reviewer NAME --as-admin"
        ) from None


def cli_identity(requested: str | None, as_admin: bool = False) -> Identity:
    """The reviewer a CLI decision is recorded under: the OS user, or ``requested`` with ``--as-admin``."""
    if requested is None:
        if as_admin:
            raise IdentityError("--as-admin records a decision in someone else's name: give --reviewer NAME too")
        return os_identity()
    checked_name(requested)
    recorder = os_user()
    if requested == recorder:
        return Identity(requested, recorder, IdentitySource.OS_USER)
    if not as_admin:
        raise IdentityError(
            f"--reviewer {requested} is not you: decisions are recorded under your OS user ({recorder}). "
            f"To record a decision {requested} made, add --as-admin: the audit event then names "
            f"{recorder} as the one who recorded it"
        )
    return Identity(requested, recorder, IdentitySource.ADMIN_OVERRIDE)


def as_identity(reviewer: Identity | str | None) -> Identity:
    """The identity core code records: an established one as it is; a bare name from a calling
    program is an admin override by the OS user (the program chose the name, not the OS)."""
    if isinstance(reviewer, Identity):
        return reviewer
    if reviewer is None:
        return os_identity()
    recorder = os_user()
    source = IdentitySource.OS_USER if reviewer == recorder else IdentitySource.ADMIN_OVERRIDE
    return Identity(checked_name(reviewer), recorder, source)


def reviewer_from_proxy_headers(headers: Mapping[str, str], header: str = PROXY_USER_HEADER) -> Identity:
    """The reviewer of a web request: the authenticated user the reverse proxy passed on.

    Only for a service reached solely through a proxy that authenticates every request and
    overwrites ``header`` (a client must never be able to send it itself). Absent or empty, the
    request is refused: a web decision is never recorded without an authenticated user.
    """
    wanted = header.lower()
    values = [value for name, value in headers.items() if name.lower() == wanted]
    if len(values) > 1:
        raise IdentityError(f"{header} is given {len(values)} times: refusing an ambiguous user")
    user = values[0].strip() if values else ""
    if not user:
        raise IdentityError(f"no authenticated user: the proxy passed no {header}")
    return Identity(checked_name(user, f"{header} user"), os_user(), IdentitySource.PROXY)
