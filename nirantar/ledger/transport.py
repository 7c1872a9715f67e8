"""Signed requests between nodes.

Every sync request carries four headers::

    X-Nirantar-Node:      the sender's node name
    X-Nirantar-To:        the receiving node's name (empty only for hello and joining)
    X-Nirantar-Time:      the sender's clock, ms since the epoch
    X-Nirantar-Signature: Ed25519 over "METHOD\\nPATH\\nTIME\\nSHA256(BODY)\\nNODE\\nTO"

The receiver checks the signature against the key the sender was enrolled with
(or, for a join request, the key the request itself presents) and refuses a
time more than five minutes from its own, so a captured request can't be
replayed later. Requests that read or write the log name the node they are
for, and a node refuses one meant for another: a request captured on its way to
one peer (or sent to a wrong URL) can't be replayed to a different node to read
its log. Events need no transport security of their own - each is signed by its
origin - so these headers only decide who may ask.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nirantar.ledger import keys
from nirantar.ledger.hlc import wall_ms

NODE = "X-Nirantar-Node"
TO = "X-Nirantar-To"
TIME = "X-Nirantar-Time"
SIGNATURE = "X-Nirantar-Signature"
MAX_SKEW_MS = 5 * 60 * 1000


class Unauthenticated(Exception):
    """The request is not signed by the node it names. The message says why."""


def _message(method: str, path: str, timestamp: str, body: bytes, node: str, to: str) -> bytes:
    digest = hashlib.sha256(body).hexdigest()
    return f"{method.upper()}\n{path}\n{timestamp}\n{digest}\n{node}\n{to}".encode()


def sign(
    key: Ed25519PrivateKey, node: str, method: str, path: str, body: bytes, to: str = ""
) -> dict[str, str]:
    timestamp = str(wall_ms())
    return {
        NODE: node,
        TO: to,
        TIME: timestamp,
        SIGNATURE: keys.sign(key, _message(method, path, timestamp, body, node, to)),
    }


def verify(
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    key_for: Callable[[str], str | None],
    to: str | None = None,
) -> str:
    """The sender's node name, if the request is signed by it; else Unauthenticated.

    With ``to`` (this node's name), the request must also be addressed to this node.
    """
    node = headers.get(NODE, "")
    addressed = headers.get(TO, "")
    timestamp = headers.get(TIME, "")
    signature = headers.get(SIGNATURE, "")
    if not node or not timestamp.isdigit() or not signature:
        raise Unauthenticated("the request is not signed by a node")
    if abs(int(timestamp) - wall_ms()) > MAX_SKEW_MS:
        raise Unauthenticated(
            f"the request's time is more than {MAX_SKEW_MS // 60000} minutes from this node's "
            "(a replay, or a clock that needs setting)"
        )
    public_key = key_for(node)
    if public_key is None:
        raise Unauthenticated(f"{node} is not enrolled in this hospital")
    message = _message(method, path, timestamp, body, node, addressed)
    if not keys.verify(public_key, signature, message):
        raise Unauthenticated(f"the signature is not {node}'s")
    if to is not None and addressed != to:
        raise Unauthenticated(
            f"the request is addressed to {addressed or 'no node'}, not to {to} "
            "(a replay, or a peer URL that points at the wrong node)"
        )
    return node


def join_code(public_key: str) -> str:
    """A short code derived from a node's public key, read aloud to the approving admin.

    Both sides compute it, so the admin can see the request on the hub is the
    node in front of them and not an impostor's.
    """
    digest = hashlib.sha256(public_key.encode()).digest()
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L
    value = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(8):
        value, index = divmod(value, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars[:4]) + "-" + "".join(chars[4:])
