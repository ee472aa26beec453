from datetime import time

import pytest
from django.test import Client

from clinic.roles import CLINICIAN, FRONT_DESK
from tests.factories import ClinicianFactory, LocationFactory, UserFactory, WorkingHoursFactory


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def desk(db):
    return _logged_in(UserFactory(username="desk", role=FRONT_DESK))


@pytest.fixture
def doctor_user(db):
    return UserFactory(username="doctor", role=CLINICIAN)


@pytest.fixture
def doctor(doctor_user):
    return _logged_in(doctor_user)


@pytest.fixture
def location(db):
    return LocationFactory(name="Riverside", time_zone="America/New_York")


@pytest.fixture
def clinician(location, doctor_user):
    """Dr Lee works at Riverside 09:00–17:00 every day of the week."""
    lee = ClinicianFactory(name="Dr Lee", user=doctor_user, locations=[location])
    for weekday in range(7):
        WorkingHoursFactory(clinician=lee, location=location, weekday=weekday, start_time=time(9), end_time=time(17))
    return lee
