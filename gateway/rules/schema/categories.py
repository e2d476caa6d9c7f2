"""Reads departments.yaml's `categories:`: the topics the web form offers and Open311 lists as services
(issue 17). Each has names in Finnish, Swedish and English and an Open311 `service_code`; rules match on
the key with `category:`."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any

from gateway.rules.config import Category
from gateway.rules.reader import Reader
from gateway.rules.yamlload import YMap

CATEGORY_KEYS = ("name", "description", "service_code", "keywords", "group")
KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
SERVICE_CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
LANGUAGES = ("fi", "sv", "en")


def load_categories(r: Reader, top: YMap) -> dict[str, Category]:
    """The categories of *top*, in file order; every problem reported with its line."""
    node = top.get("categories")
    if node is None:
        return {}
    if not isinstance(node, YMap):
        r.error(top.line_of("categories"), "categories: expected a mapping of category keys")
        return {}
    found: dict[str, Category] = {}
    codes: dict[str, str] = {}
    for key, value in node.items():
        key = str(key)
        line = node.line_of(key)
        where = f"categories.{key}"
        if not KEY.match(key):
            r.error(line, f"{where}: a key is lower-case letters, digits and '-', like 'street-lighting'")
            continue
        category = _category(r, key, value, line, where)
        if category is None:
            continue
        if category.service_code in codes:
            first = codes[category.service_code]
            r.error(line, f"{where}.service_code: {category.service_code!r} is already the code of {first!r}")
            continue
        codes[category.service_code] = key
        found[key] = category
    return found


def _category(r: Reader, key: str, node: Any, line: int, where: str) -> Category | None:
    c = r.mapping(node, where, line, CATEGORY_KEYS, ("name", "service_code"))
    if c is None:
        return None
    before = len(r.problems)
    names = _texts(r, c, "name", where)
    for lang in LANGUAGES:
        if "name" in c and lang not in names and isinstance(c.get("name"), YMap):
            r.error(c.line_of("name"), f"{where}.name: missing the {lang} name (fi, sv and en are shown)")
    descriptions = _texts(r, c, "description", where) if "description" in c else {}
    code = r.string(c.get("service_code"), f"{where}.service_code", c.line_of("service_code"))
    if code is not None and not SERVICE_CODE.match(code):
        r.error(c.line_of("service_code"), f"{where}.service_code: letters, digits, '.', '_', '-' only")
    keywords = r.strings(c["keywords"], f"{where}.keywords", c.line_of("keywords")) if "keywords" in c else []
    group = r.string(c["group"], f"{where}.group", c.line_of("group")) if "group" in c else ""
    if len(r.problems) > before or code is None or keywords is None or group is None:
        return None
    return Category(
        key=key,
        name=MappingProxyType(names),
        service_code=code,
        description=MappingProxyType(descriptions),
        keywords=tuple(word for word, _ in keywords),
        group=group,
    )


def _texts(r: Reader, c: YMap, field: str, where: str) -> dict[str, str]:
    """A text in each language (`{fi: ..., sv: ..., en: ...}`), or one text taken as Finnish."""
    value = c.get(field)
    texts: dict[str, str] = {}
    if isinstance(value, YMap):
        for lang, text in value.items():
            if str(lang) not in LANGUAGES:
                r.error(value.line_of(lang), f"{where}.{field}.{lang}: languages are fi, sv and en")
                continue
            found = r.string(text, f"{where}.{field}.{lang}", value.line_of(lang))
            if found is not None:
                texts[str(lang)] = found
    else:
        found = r.string(value, f"{where}.{field}", c.line_of(field))
        if found is not None:
            texts = {lang: found for lang in LANGUAGES}
    return texts
