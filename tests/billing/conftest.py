"""Named people at the billing counter, and patients with something to pay for."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_user


@pytest.fixture
def cashier(hospital: Any) -> Any:
    return make_user("kavita", "billing", "Kavita Joshi")


@pytest.fixture
def second_cashier(hospital: Any) -> Any:
    return make_user("imran", "billing", "Imran Qureshi")


@pytest.fixture
def supervisor(hospital: Any) -> Any:
    return make_user("meena", "accounts", "Meena Iyer")


@pytest.fixture
def till(api_as: Any, cashier: Any) -> Any:
    return api_as(cashier)


@pytest.fixture
def boss(api_as: Any, supervisor: Any) -> Any:
    return api_as(supervisor)


@pytest.fixture
def patient(clerk_api: Any, ram: dict[str, Any]) -> Any:
    """patient(**fields) -> UHID of a newly registered patient (general unless told)."""
    count = iter(range(1, 100))

    def make(**fields: Any) -> str:
        n = next(count)
        person = {**ram, "mobile": f"98111111{n:02d}", "name_en": f"Ram Kumar {'X' * n}"}
        person.update(fields)
        created = clerk_api.post("/api/v1/patients", person)
        assert created.status_code == 201, created.content
        return str(created.json()["uhid"])

    return make


def pay(api: Any, uhid: str, amount: Any, mode: str = "cash", **extra: Any) -> Any:
    return api.post("/api/v1/payments", {"uhid": uhid, "amount": amount, "mode": mode, **extra})
