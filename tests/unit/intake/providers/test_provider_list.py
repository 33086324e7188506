"""The provider list is bot.config.SOURCE_TYPES: every type, "generic" (cxloop's own webhook) included, has
its adapter module in bot/intake/providers/, and every adapter module there is a listed type."""

from __future__ import annotations

import pkgutil

import bot.intake.providers as providers
from bot.config import SOURCE_TYPES
from bot.intake.providers import adapter_for


def test_source_types_and_provider_modules_are_one_list() -> None:
    modules = {m.name for m in pkgutil.iter_modules(providers.__path__)} - {"base"}
    assert modules == set(SOURCE_TYPES)
    for source_type in modules:
        adapter = adapter_for(source_type)
        assert callable(adapter.verify) and callable(adapter.parse), source_type
