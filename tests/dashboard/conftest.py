import pytest


@pytest.fixture
def dash_client(client):
    """``dash_client(user)``: a browser-like client signed in as the user, English pages."""

    def make(user):
        client.force_login(user)
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        return client

    return make
