"""The matrix world, built once per module inside a transaction rolled back at its end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client, override_settings

from tests.access.world import ACTORS, ANONYMOUS, API_ACTORS, World, world_build


class Actors:
    """A fresh test client per request, signed in as the actor (a session made once) or sending its key."""

    def __init__(self, world: World, sessions: dict[str, str]) -> None:
        self.world = world
        self.sessions = sessions

    def client(self, actor: str) -> Client:
        assert actor in ACTORS, actor
        if actor in API_ACTORS:
            return Client(headers={"X-API-Key": self.world.keys[actor]})
        client = Client()
        if actor != ANONYMOUS:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[actor]
        return client


@pytest.fixture(scope="module")
def actors(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Actors]:
    media = tmp_path_factory.mktemp("media")
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            world = world_build()
            sessions = {}
            for actor, user in world.users.items():
                client = Client()
                client.force_login(user, backend="identity.backends.RoleGrantModelBackend")
                sessions[actor] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield Actors(world, sessions)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
