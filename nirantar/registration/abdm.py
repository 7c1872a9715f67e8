"""The seam to ABDM's national gateway, for checking an ABHA and fetching its demographics.

Nirantar checks only the *shape* of an ABHA number or address (``rules.py``). Whether
one exists, and whose it is, only the gateway can say - and calling it needs what
this project does not have: the hospital registered with the National Health
Authority as a health facility (an HFR id) and an integrator's client id and secret
from the ABDM sandbox, then production. So this module is the interface a hospital
that has them implements, and a default that says "not configured".

Nothing on the registration path calls the gateway: a counter must keep registering
while the internet (or the gateway) is down, and an ABHA the clerk typed is stored as
given. A gateway answer, once there is one, is for a person to act on - a clerk who
copies the demographics into a registration or correction, which is an ordinary event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class AbhaProfile:
    """What the gateway says about one ABHA: enough to fill or check a registration."""

    abha_number: str  # 14 digits, as Nirantar stores it
    abha_address: str  # lower-cased, name@abdm
    name: str
    sex: str  # M, F or O
    date_of_birth: date | None
    mobile: str  # '' if the gateway does not share it
    kyc_verified: bool  # the ABHA was made against Aadhaar or another verified document


class GatewayNotConfigured(Exception):
    """This node has no ABDM gateway: the hospital has not set one up (see docs/operator.md)."""


class AbhaNotFound(Exception):
    """The gateway knows no such ABHA number or address."""


class AbhaGateway(Protocol):
    """What a hospital implements to talk to ABDM. Both methods may block on the network:
    call them from a screen the clerk asked for, never inside a write transaction."""

    def verify_number(self, abha_number: str) -> AbhaProfile:
        """The profile behind a 14-digit ABHA number, or AbhaNotFound.

        ABDM shares demographics only after the patient consents (an OTP to their
        mobile, or their PHR app); an implementation runs that exchange."""
        ...

    def verify_address(self, abha_address: str) -> AbhaProfile:
        """The profile behind an ABHA address (name@abdm), or AbhaNotFound."""
        ...


class NotConfigured:
    """The default: every call says the gateway is not set up here."""

    def verify_number(self, abha_number: str) -> AbhaProfile:
        raise GatewayNotConfigured(_MESSAGE)

    def verify_address(self, abha_address: str) -> AbhaProfile:
        raise GatewayNotConfigured(_MESSAGE)


_MESSAGE = (
    "this node is not connected to the ABDM gateway: the ABHA is stored as typed, "
    "its format checked but not its existence"
)


def gateway() -> AbhaGateway:
    """The configured gateway: the class named by the ``ABDM_GATEWAY`` setting
    (a dotted path, from ``NIRANTAR_ABDM_GATEWAY``), else ``NotConfigured``."""
    path = getattr(settings, "ABDM_GATEWAY", "")
    if not path:
        return NotConfigured()
    gateway_class: type[AbhaGateway] = import_string(path)
    return gateway_class()
