def test_a_clinician_creates_and_reads_a_patient(clinician_client):
    created = clinician_client.post(
        "/api/v1/patients/",
        {
            "mrn": "A1",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "date_of_birth": "1980-01-02",
            "email": "ada@example.com",
            "phone": "+44 20 7946 0958",
            "time_zone": "Europe/London",
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["phone"] == "+442079460958"
    read = clinician_client.get(f"/api/v1/patients/{created.json()['id']}/")
    assert read.status_code == 200
    assert read.json()["mrn"] == "A1"
