"""The running app's shared parts: settings, config, database, Slack client, delivery worker, clock.

Handlers receive one Runtime and call domain functions with a session from it; they never build
their own engine or client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AppConfig, Settings
from bot.db import make_engine, make_read_engine, make_session_factory, session_scope
from bot.slack.client import make_client
from bot.slack.directory import SlackDirectory, UserNames
from models.base import utcnow


@dataclass
class Runtime:
    settings: Settings
    config: AppConfig
    engine: Engine
    factory: sessionmaker[Session]
    client: WebClient
    signing_secret: str
    bot_token: str
    now: Callable[[], datetime] = utcnow
    on_queued: list[Callable[[], None]] = field(default_factory=list)
    _directory: SlackDirectory | None = field(default=None, repr=False)
    _user_names: UserNames | None = field(default=None, repr=False)
    _read_factory: sessionmaker[Session] | None = field(default=None, repr=False)
    _read_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def directory(self) -> SlackDirectory:
        """Channel and user-group membership for permission checks, cached per process."""
        if self._directory is None:
            self._directory = SlackDirectory(self.client)
        return self._directory

    @property
    def user_names(self) -> UserNames:
        """People's names for pages and exports (users.info), cached per process."""
        if self._user_names is None:
            self._user_names = UserNames(self.client)
        return self._user_names

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.factory) as session:
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction for pages (the dashboard) that fails fast: a locked or unreachable
        database raises OperationalError within about READ_LOCK_TIMEOUT_MS, for the page to answer 503."""
        with self._read_lock:
            if self._read_factory is None:
                url = self.engine.url.render_as_string(hide_password=False)
                self._read_factory = make_session_factory(make_read_engine(url))
        with session_scope(self._read_factory) as session:
            yield session

    def dispose(self) -> None:
        """Close every pooled connection (at shutdown)."""
        self.engine.dispose()
        if self._read_factory is not None:
            self._read_factory.kw["bind"].dispose()

    def queued(self) -> None:
        """Something was committed to the outbox: wake the in-process worker, if any."""
        for callback in self.on_queued:
            callback()


def build_runtime(settings: Settings, config: AppConfig, *, bot_token: str, signing_secret: str,
                  slack_api_url: str) -> Runtime:
    engine = make_engine(settings.database_url)
    return Runtime(settings=settings, config=config, engine=engine, factory=make_session_factory(engine),
                   client=make_client(bot_token, slack_api_url), signing_secret=signing_secret,
                   bot_token=bot_token)
