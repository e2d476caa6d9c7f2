"""The files the package reads at run time are declared as package data, so a wheel has them (issue 15)."""

from __future__ import annotations

import configparser
from fnmatch import fnmatch
from pathlib import Path

from gateway.rules.wordcheck import common_words

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gateway"


def test_every_data_file_of_the_package_is_declared() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in setup["options.package_data"]["gateway"].splitlines() if p.strip()]
    files = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".py", ".pyc")
    ]
    assert any(f.startswith("rules/common_words/") for f in files)
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []
    # setuptools only applies package data to packages it knows: the data folders must be found too
    assert setup["options"]["packages"].strip() == "find_namespace:"


def test_the_common_word_lists_load() -> None:
    lists = common_words()
    assert set(lists) == {"fi", "sv", "en"}
    assert all(len(words) == 400 for words in lists.values())
    assert "is" in lists["en"] and "jää" in lists["fi"] and "istället" in lists["sv"]
    assert "is" not in lists["sv"] and "lunta" not in lists["fi"]
