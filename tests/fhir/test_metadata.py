"""GET /fhir/metadata - the CapabilityStatement."""


def test_it_says_fhir_4_0_1_and_what_is_implemented(fhir_as):
    response = fhir_as(None).get("/fhir/metadata")
    assert response.status_code == 200
    body = response.json()
    assert body["resourceType"] == "CapabilityStatement"
    assert body["fhirVersion"] == "4.0.1"
    [rest] = body["rest"]
    by_type = {r["type"]: r for r in rest["resource"]}
    patient, encounter = by_type["Patient"], by_type["Encounter"]
    observation, location = by_type["Observation"], by_type["Location"]
    assert patient["type"] == "Patient"
    assert {i["code"] for i in patient["interaction"]} == {"read", "search-type", "create"}
    assert {p["name"] for p in patient["searchParam"]} >= {
        "identifier",
        "name",
        "phone",
        "birthdate",
        "gender",
        "_count",
    }
    assert encounter["type"] == "Encounter"
    assert {i["code"] for i in encounter["interaction"]} == {"read", "search-type"}
    assert {p["name"] for p in encounter["searchParam"]} >= {"patient", "subject", "_count"}
    assert observation["type"] == "Observation"
    assert {p["name"] for p in observation["searchParam"]} >= {"patient", "category", "code"}
    assert location["type"] == "Location"
    assert {p["name"] for p in location["searchParam"]} >= {"type", "partof"}
    for kind in ("ServiceRequest", "DiagnosticReport", "Condition", "MedicationRequest"):
        assert {i["code"] for i in by_type[kind]["interaction"]} == {"read", "search-type"}
        assert {p["name"] for p in by_type[kind]["searchParam"]} == {
            "patient",
            "subject",
            "encounter",
            "_count",
            "_offset",
        }
    assert rest["interaction"] == [{"code": "transaction"}]


def test_it_serves_json_only(fhir_as):
    client = fhir_as(None)
    assert client.get("/fhir/metadata?_format=json").status_code == 200
    assert client.get("/fhir/metadata", Accept="application/json").status_code == 200
    assert client.get("/fhir/metadata?_format=xml").status_code == 406
    assert client.get("/fhir/metadata", Accept="application/fhir+xml").status_code == 406


def test_an_unknown_resource_type_is_a_404_operation_outcome(fhir_as):
    response = fhir_as(None).get("/fhir/Procedure/1")
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def test_a_method_the_endpoint_lacks_is_405_with_allow(clerk_fhir):
    response = clerk_fhir.client.delete("/fhir/metadata")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["resourceType"] == "OperationOutcome"


def test_an_odd_path_is_still_a_fhir_404(fhir_as):
    """Found by the fuzz test: a newline in the path escaped <path:> into Django's HTML 404."""
    for path in ("/fhir/Patient/%2F%0A", "/fhir/%0A", "/fhir/Patient/a/b"):
        assert fhir_as(None).get(path).status_code == 404, path
