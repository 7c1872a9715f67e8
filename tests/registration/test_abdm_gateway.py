"""The seam to ABDM's gateway: not configured by default, a hospital's class when named,
and never called on the way to registering a patient."""

from datetime import date

import pytest

from nirantar.registration import abdm


class FakeGateway:
    """What a hospital with NHA credentials would supply, answering from memory."""

    def verify_number(self, abha_number):
        if abha_number != "91510165305101":
            raise abdm.AbhaNotFound(abha_number)
        return abdm.AbhaProfile(
            abha_number="91510165305101",
            abha_address="ram.sharma@abdm",
            name="Ram Kumar Sharma",
            sex="M",
            date_of_birth=date(1980, 1, 2),
            mobile="",
            kyc_verified=True,
        )

    def verify_address(self, abha_address):
        return self.verify_number("91510165305101")


class Exploding:
    def __init__(self):
        raise AssertionError("the gateway must not be reached while registering")


def test_without_a_gateway_every_call_says_it_is_not_configured(settings):
    settings.ABDM_GATEWAY = ""
    gateway = abdm.gateway()
    with pytest.raises(abdm.GatewayNotConfigured, match="not connected"):
        gateway.verify_number("91510165305101")
    with pytest.raises(abdm.GatewayNotConfigured):
        gateway.verify_address("ram.sharma@abdm")


def test_a_hospital_names_its_own_gateway_in_the_settings(settings):
    settings.ABDM_GATEWAY = f"{__name__}.FakeGateway"
    gateway = abdm.gateway()
    assert gateway.verify_address("ram.sharma@abdm").abha_number == "91510165305101"
    with pytest.raises(abdm.AbhaNotFound):
        gateway.verify_number("91234567890123")


def test_registering_with_an_abha_never_calls_the_gateway(settings, clerk_api, ram):
    settings.ABDM_GATEWAY = f"{__name__}.Exploding"
    ram.update(abha_number="91-5101-6530-5101", abha_address="ram.sharma@abdm")
    assert clerk_api.post("/api/v1/patients", ram).status_code == 201
    assert clerk_api.get("/api/v1/patients?q=ram.sharma@abdm").status_code == 200
