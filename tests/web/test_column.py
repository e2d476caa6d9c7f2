"""The open feedback column against a real daemon on SQLite and PostgreSQL (issue 18): what is listed and
in which order, every filter, search in Finnish and Swedish, paging, one page per case, one 404 for
everything not published, the Atom feed under the same filters, escaping everywhere, and nothing of the
resident's: the column reads only the moderated texts."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

import feedparser
import httpx
import pytest

from gateway.model.tracking_code import new_code
from gateway.rules.areas import load_areas
from gateway.store import column
from gateway.store.cases import insert_case
from gateway.store.column import fts5_query, search_words, stem_prefix
from gateway.store.public import publish
from gateway.store.tables import publications
from tests.support.daemon import RunningDaemon
from tests.web.test_form import SHIPPED, url

DAY = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)
AREAS = load_areas(SHIPPED / "areas.geojson", [])
ATOM = "{http://www.w3.org/2005/Atom}"


def point_in(area: str) -> tuple[float, float]:
    """A (lat, lon) inside the shipped area *area*."""
    point = AREAS[area].geometry.representative_point()
    return (point.y, point.x)


@pytest.fixture
def web(start_gateway: Callable[..., RunningDaemon]) -> RunningDaemon:
    return start_gateway(config_dir=SHIPPED)


@dataclass
class Made:
    code: str
    case_id: int


def make_case(
    gw: RunningDaemon,
    question: str,
    answer: str = "Kiitos palautteesta. Asia on korjattu.",
    *,
    at: datetime = DAY,
    category: str | None = None,
    department: str | None = None,
    place: str | None = None,
    published: bool = True,
    withdrawn: bool = False,
    name: str = "Maija Meikäläinen",
    email: str = "maija.meikalainen@example.fi",
    text: str = "Hei, tässä asukkaan omat sanat puhelinnumeroineen 040 1234567.",
    language: str = "fi",
) -> Made:
    """A case as intake stores it (the resident's name, address and words on the case) and, unless told
    otherwise, published with the moderated *question* and *answer* at *at*."""
    code = new_code()
    location = point_in(place) if place else None
    with gw.db.write() as conn:
        case_id = insert_case(
            conn,
            code=code,
            status="answered",
            channel="web",
            created_at=at - timedelta(days=3),
            updated_at=at,
            resident_email=email,
            resident_name=name,
            language=language,
            subject="",
            text=text,
            category=category,
            department=department,
            latitude=location[0] if location else None,
            longitude=location[1] if location else None,
            address="Mannerheimintie 5 A 7",
            resident_phone="0401234567",
        )
        if published:
            publish(conn, case_id, question, answer, at, "moderaattori@hel.example")
        if withdrawn:
            conn.execute(
                publications.update().where(publications.c.case_id == case_id).values(withdrawn_at=at)
            )
    return Made(code, case_id)


def get(gw: RunningDaemon, path: str, **params: str) -> httpx.Response:
    return httpx.get(url(gw, path), params=params)


def main_of(page: httpx.Response) -> str:
    return page.text.partition('<main id="main"')[2].partition("</main>")[0]


def listed(page: httpx.Response) -> list[str]:
    """The codes of the cases the list shows, in order."""
    assert page.status_code == 200, page.text[:300]
    return re.findall(r'<h3 id="entry-(HEL-[0-9A-Z]{4}-[0-9A-Z]{4})">', page.text)


# -- the list -------------------------------------------------------------------------------------------


def test_published_cases_are_listed_newest_first_with_their_public_texts(web: RunningDaemon) -> None:
    old = make_case(web, "Puiston penkki on rikki.", "Penkki korjataan ensi viikolla.", at=DAY)
    tie_a = make_case(web, "Katuvalo vilkkuu.", "Lamppu vaihdetaan.", at=DAY + timedelta(hours=1))
    tie_b = make_case(web, "Roskis on täynnä.", "Tyhjennetään.", at=DAY + timedelta(hours=1))
    new = make_case(web, "Kuoppa pyörätiessä.", "Kuoppa paikataan.", at=DAY + timedelta(days=1))
    hidden = make_case(web, "Ei julkaistu kysymys.", published=False)
    gone = make_case(web, "Vedetty pois kysymys.", at=DAY + timedelta(days=2), withdrawn=True)

    page = get(web, "/open", lang="en")
    assert listed(page) == [new.code, tie_b.code, tie_a.code, old.code]  # ties: the later case first
    body = main_of(page)
    assert "4 published answers" in body
    assert "Kuoppa pyörätiessä." in body and "Kuoppa paikataan." in body
    assert hidden.code not in page.text and gone.code not in page.text and "Vedetty" not in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert "4 julkaistua vastausta" in main_of(get(web, "/open", lang="fi"))
    assert "4 publicerade svar" in main_of(get(web, "/open", lang="sv"))


def test_nothing_of_the_resident_appears_in_the_list_the_case_page_or_the_feed(web: RunningDaemon) -> None:
    made = make_case(web, "Penkki on rikki Kaivopuistossa.", "Penkki korjataan.", category="park-maintenance")
    pages = [get(web, "/open"), get(web, f"/open/{made.code}"), get(web, "/open/feed.atom")]
    assert [p.status_code for p in pages] == [200, 200, 200]
    for page in pages:
        assert "Penkki on rikki" in page.text
        for personal in (
            "Maija",
            "Meikäläinen",
            "maija.meikalainen",
            "Mannerheimintie",
            "0401234567",
            "040 123",
        ):
            assert personal not in page.text
        assert "asukkaan omat sanat" not in page.text and "moderaattori" not in page.text


def test_an_empty_column_says_so(web: RunningDaemon) -> None:
    body = main_of(get(web, "/open", lang="en"))
    assert "No published answers" in body and "No answers have been published yet." in body


# -- filters --------------------------------------------------------------------------------------------


def test_the_list_is_filtered_by_topic_area_and_office(web: RunningDaemon) -> None:
    south_snow = make_case(
        web, "Lunta jalkakäytävällä.", category="winter-maintenance", department="tyoyksikko",
        place="etelainen-suurpiiri", at=DAY,
    )  # fmt: skip
    east_snow = make_case(
        web, "Auraamaton katu.", category="winter-maintenance", department="talvikunnossapito-ita",
        place="itainen-suurpiiri", at=DAY + timedelta(hours=1),
    )  # fmt: skip
    south_park = make_case(
        web, "Puiston valot.", category="park-maintenance", department="tyoyksikko",
        place="etelainen-suurpiiri", at=DAY + timedelta(hours=2),
    )  # fmt: skip
    nowhere = make_case(web, "Ei paikkaa.", category="winter-maintenance", at=DAY + timedelta(hours=3))

    assert listed(get(web, "/open", topic="winter-maintenance")) == [
        nowhere.code,
        east_snow.code,
        south_snow.code,
    ]
    assert listed(get(web, "/open", area="etelainen-suurpiiri")) == [south_park.code, south_snow.code]
    assert listed(get(web, "/open", area="itainen-suurpiiri")) == [east_snow.code]
    assert listed(get(web, "/open", office="tyoyksikko")) == [south_park.code, south_snow.code]
    both = get(web, "/open", topic="winter-maintenance", area="etelainen-suurpiiri", lang="en")
    assert listed(both) == [south_snow.code] and "1 published answer<" in both.text
    assert listed(get(web, "/open", topic="graffiti")) == []
    # the form shows what was applied; a value the configuration does not know is left out
    assert '<option value="winter-maintenance" selected>' in both.text
    assert '<option value="etelainen-suurpiiri" selected>' in both.text
    assert len(listed(get(web, "/open", topic="no-such-topic", area="<x>", office="nobody"))) == 4
    names = main_of(get(web, "/open", lang="sv"))
    assert (
        "Vinterunderhåll" in names and "Södra stordistriktet" in names and "Stadsmiljöns arbetsenhet" in names
    )
    # the office filter names an office: "Handläggare" and "Käsittelijä" read as a person
    assert '<label for="office">Handläggande enhet</label>' in names and "Alla enheter" in names
    fi = main_of(get(web, "/open"))
    assert '<label for="office">Käsittelevä yksikkö</label>' in fi and "Kaikki yksiköt" in fi
    assert "Käsittelijä" not in fi


@pytest.mark.parametrize("few", [column.FEW, 0], ids=["matches-first", "newest-first"])
def test_search_finds_finnish_and_swedish_words_in_their_inflected_forms(
    web: RunningDaemon, few: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Either way PostgreSQL's page is read (matches first when they are few, else the newest first,
    testing each), the same cases are found."""
    monkeypatch.setattr(column, "FEW", few)
    snow = make_case(web, "Lumi tukkii pyörätien.", "Pyörätie aurataan huomenna aamulla.", at=DAY)
    snow_again = make_case(web, "Lumen kasat kadulla.", "Kasat ajetaan pois.", at=DAY + timedelta(hours=1))
    gradation = make_case(web, "Lunta on liikaa.", "Lunta siirretään.", at=DAY + timedelta(hours=2))
    swedish = make_case(
        web, "Snöhögen vid gatan är för hög.", "Vi plogar gatorna i morgon.", at=DAY + timedelta(hours=3)
    )
    other = make_case(web, "Puiston penkki.", "Korjataan.", at=DAY + timedelta(hours=4))
    make_case(web, "Lumi peittää kyltin.", at=DAY + timedelta(hours=5), withdrawn=True)  # never found

    def found(q: str) -> set[str]:
        return set(listed(get(web, "/open", q=q)))

    # Finnish: a case ending off, then a final vowel: "lumesta" asks for lum*, which lumi and lumen share
    assert found("lumesta") == {snow.code, snow_again.code}
    assert found("lumi") == {snow.code, snow_again.code}
    assert "2 published answers" in get(web, "/open", q="lumi", lang="en").text  # the count leaves it out too
    assert found("pyörätiellä") == {snow.code}
    assert found("kaduilla") == {snow_again.code}  # kadu* (SQLite), Finnish stem 'kadu' (PostgreSQL)
    # consonant gradation changes the stem itself: lunta is found by its own forms, not by lumi's
    assert found("lunta") == {gradation.code}
    # Swedish: definite and plural endings
    assert found("snöhögarna") == {swedish.code}
    assert found("gatan") == {swedish.code}
    assert found("plogning") == {swedish.code}
    # the answer counts as much as the question; every word must match
    assert found("aurataan") == {snow.code}
    assert found("lumi huomenna") == {snow.code}
    assert found("lumi gatan") == set()
    assert other.code not in found("penkki lumi")
    assert "1 published answer<" in get(web, "/open", q="Snöhögen", lang="en").text


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "lumi OR",
        "NEAR(lumi",
        "lum*",
        "a:b",
        "-lumi",
        "'; DROP TABLE publications; --",
        "&|!():*",
        "ä" * 500,
    ],
)
def test_search_syntax_of_either_database_is_only_words(web: RunningDaemon, query: str) -> None:
    make_case(web, "Lumi tukkii pyörätien.")
    page = get(web, "/open", q=query)
    assert page.status_code == 200
    assert get(web, "/open/feed.atom", q=query).status_code == 200


def test_query_words_and_their_prefixes() -> None:
    assert search_words("  Lumi, LUMI; lunta!  snö_hög ") == ("lumi", "lunta", "snö", "hög")
    assert len(search_words(" ".join(f"sana{i}" for i in range(20)))) == 8
    assert [stem_prefix(w) for w in ("lumesta", "lumi", "kadulla", "snöhögarna", "gatan", "plogning")] == [
        "lum", "lum", "kad", "snöhög", "gat", "plog",
    ]  # fmt: skip
    assert stem_prefix("snö") == "snö" and stem_prefix("2024") == "2024"
    assert fts5_query(("lumi", "ja", "12")) == '"lum"* AND "ja" AND "12"'


# -- paging ---------------------------------------------------------------------------------------------


def test_the_list_is_paged_twenty_at_a_time_with_links_that_keep_the_filters(web: RunningDaemon) -> None:
    made = [
        make_case(
            web, f"Kysymys numero {i} lumesta.", category="winter-maintenance", at=DAY + timedelta(hours=i)
        )
        for i in range(45)
    ]
    make_case(web, "Toinen aihe.", category="graffiti", at=DAY + timedelta(days=5))
    newest_first = [m.code for m in reversed(made)]
    first = get(web, "/open", topic="winter-maintenance", lang="en")
    assert listed(first) == newest_first[:20] and "45 published answers" in first.text
    nav = first.text.partition('<nav class="pager" aria-label="Pages">')[2].partition("</nav>")[0]
    assert 'aria-current="page"' in nav and 'rel="prev"' not in nav
    assert 'href="/open?topic=winter-maintenance&amp;page=2&amp;lang=en" rel="next"' in nav
    current = re.search(r'<a href="([^"]+)" aria-current="page"', nav)
    assert current is not None and "page=" not in current.group(1)
    second = get(web, "/open", topic="winter-maintenance", page="2", lang="en")
    assert listed(second) == newest_first[20:40]
    assert 'href="/open?topic=winter-maintenance&amp;lang=en" rel="prev"' in second.text
    assert 'aria-current="page" aria-label="Page 2"><strong>2</strong>' in second.text
    third = get(web, "/open", topic="winter-maintenance", page="3")
    assert listed(third) == newest_first[40:] and 'rel="next"' not in third.text
    assert listed(get(web, "/open", topic="winter-maintenance", page="9")) == []
    assert listed(get(web, "/open", topic="winter-maintenance", page="nonsense")) == newest_first[:20]
    assert listed(get(web, "/open", q="lumesta", page="3")) == newest_first[40:]


# -- the case page --------------------------------------------------------------------------------------


def test_a_published_case_has_a_page_of_its_own(web: RunningDaemon) -> None:
    made = make_case(
        web,
        "Katuvalo on ollut rikki jo viikon ajan, ja tie on pimeä.\n\nSe on Töölössä.",
        "Kiitos palautteesta.\n\nValo korjataan tiistaina.",
        category="streetlight",
        department="tyoyksikko",
        at=datetime(2026, 2, 3, 23, 30, tzinfo=UTC),  # 4.2. in Helsinki
    )
    page = get(web, f"/open/{made.code.lower()}", lang="en")
    assert page.status_code == 200
    body = main_of(page)
    assert '<h1 lang="fi">Katuvalo on ollut rikki jo viikon ajan, ja tie on…</h1>' in body
    assert "<p>Katuvalo on ollut rikki jo viikon ajan, ja tie on pimeä.</p><p>Se on Töölössä.</p>" in body
    assert "<p>Valo korjataan tiistaina.</p>" in body
    assert "Street lighting" in body and "Urban Environment works unit" in body
    assert '<time datetime="2026-02-04">4.2.2026</time>' in body and made.code in body
    assert "<title>Katuvalo on ollut rikki jo viikon ajan, ja tie on… – " in page.text
    short = make_case(web, "Katuvalo vilkkuu.", "Korjataan.")  # a heading that is the whole question
    short_page = main_of(get(web, f"/open/{short.code}", lang="en"))
    assert short_page.count("Katuvalo vilkkuu.") == 1 and ">Question<" not in short_page
    assert "Katuvalaistus" in get(web, f"/open/{made.code}", lang="fi").text
    assert f'href="/open/{made.code}?lang=en"' in get(web, "/open", lang="en").text


def test_unpublished_withdrawn_unknown_and_malformed_codes_get_one_404_page(web: RunningDaemon) -> None:
    hidden = make_case(web, "Ei julkaistu.", published=False)
    gone = make_case(web, "Vedetty pois.", withdrawn=True)
    answers = [
        get(web, f"/open/{code}")
        for code in (hidden.code, gone.code, "HEL-0000-0000", "not-a-code", "HEL-ZZZZ-ZZZZ%3Cscript%3E")
    ]
    assert {a.status_code for a in answers} == {404}
    bodies = {main_of(a) for a in answers}
    assert len(bodies) == 1 and "Tunnusta ei löytynyt" in bodies.pop()


# -- the feed -------------------------------------------------------------------------------------------


def test_the_atom_feed_has_the_newest_fifty_with_their_texts(web: RunningDaemon) -> None:
    made = [
        make_case(
            web, f"Kysymys {i}: lumi tukkii kadun numero {i}.", f"Vastaus {i}.", at=DAY + timedelta(hours=i)
        )
        for i in range(55)
    ]
    make_case(web, "Vedetty pois.", at=DAY + timedelta(days=9), withdrawn=True)
    response = get(web, "/open/feed.atom", lang="en")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and feed.feed.language == "en"
    assert feed.feed.title == "Open feedback – City of Helsinki – Feedback"
    assert len(feed.entries) == 50
    newest = made[-1]
    entry = feed.entries[0]
    base = web.settings.web_url
    assert entry.id == f"{base}/open/{newest.code}"
    assert entry.link == f"{base}/open/{newest.code}?lang=en"
    assert entry.title == "Kysymys 54: lumi tukkii kadun numero 54."
    assert entry.updated == "2026-02-04T15:00:00Z"  # 54 hours after DAY
    assert entry.content[0].type == "text/plain"
    assert entry.content[0].value == "Kysymys 54: lumi tukkii kadun numero 54.\n\nAnswer:\nVastaus 54."
    assert [e.id.rsplit("/", 1)[1] for e in feed.entries] == [m.code for m in reversed(made)][:50]
    assert "Vedetty" not in response.text
    assert feed.feed.updated == entry.updated


def test_the_feed_honours_the_filters(web: RunningDaemon) -> None:
    snow = make_case(web, "Lumi tukkii kadun.", category="winter-maintenance", place="itainen-suurpiiri")
    park = make_case(web, "Penkki rikki.", category="park-maintenance", place="etelainen-suurpiiri")
    swedish = make_case(web, "Snöhögen är hög.", category="winter-maintenance", place="etelainen-suurpiiri")

    def codes(**params: str) -> list[str]:
        feed = feedparser.parse(get(web, "/open/feed.atom", **params).content)
        assert not feed.bozo
        return [e.id.rsplit("/", 1)[1] for e in feed.entries]

    assert set(codes()) == {snow.code, park.code, swedish.code}
    assert set(codes(topic="winter-maintenance")) == {snow.code, swedish.code}
    assert codes(area="etelainen-suurpiiri", topic="winter-maintenance") == [swedish.code]
    assert codes(q="lumella") == [snow.code]
    assert codes(q="snöhögarna") == [swedish.code]
    assert codes(topic="graffiti") == []
    page = get(web, "/open", topic="winter-maintenance", lang="sv")
    assert 'href="/open/feed.atom?topic=winter-maintenance&amp;lang=sv"' in page.text


# -- escaping -------------------------------------------------------------------------------------------

ATTACK = 'Katu <script>alert("x")</script> ja "><img src=x onerror=alert(1)> sekä & \x0b loppu'


def test_a_published_question_with_markup_is_shown_as_text_everywhere(web: RunningDaemon) -> None:
    made = make_case(web, ATTACK, "Vastaus <b>lihavoitu</b> & 'lainattu'.")
    for page in (get(web, "/open"), get(web, f"/open/{made.code}")):
        assert page.status_code == 200
        assert (
            "<script>alert" not in page.text
            and "<img src=x" not in page.text
            and "<b>lihavoitu" not in page.text
        )
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text
    feed = get(web, "/open/feed.atom")
    assert b"<script>" not in feed.content and b"<img" not in feed.content and b"<b>" not in feed.content
    root = ET.fromstring(feed.content)  # well-formed although the text held a character XML forbids
    [entry] = root.findall(f"{ATOM}entry")
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "text"
    assert content.text == ATTACK.replace("\x0b", "") + "\n\nVastaus:\nVastaus <b>lihavoitu</b> & 'lainattu'."
    parsed = feedparser.parse(feed.content)
    assert (
        parsed.entries[0].title
        == 'Katu <script>alert("x")</script> ja "><img src=x onerror=alert(1)> sekä & loppu'
    )


def test_query_values_are_escaped_back_into_the_form(web: RunningDaemon) -> None:
    page = get(web, "/open", q='"><script>alert(1)</script>')
    assert page.status_code == 200 and "<script>alert(1)" not in page.text
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in page.text


def test_the_column_words_exist_in_every_language() -> None:
    from gateway.web.pages import load_texts

    texts = load_texts()
    keys = {lang: {k for k in words if k.startswith("open_")} for lang, words in texts.items()}
    assert keys["fi"] == keys["sv"] == keys["en"] and "open_count_many" in keys["fi"]
    for words in texts.values():
        assert "{n}" in words["open_count_many"]
        # the column and the tracking page name the office that handles a case with the same words
        assert words["open_office_label"] == words["office_label"]


def test_the_migration_keeps_the_search_index_in_step_with_publications(database_url: str) -> None:
    """Publish, edit, withdraw, republish and erase: the search finds exactly what is published now."""
    from gateway.store import migrate
    from gateway.store.column import Filters, published
    from gateway.store.db import Database, make_engine
    from gateway.store.tables import cases

    db = Database(make_engine(database_url))
    try:
        migrate.upgrade(db)

        def found(word: str) -> list[str]:
            with db.read() as conn:
                return [e.code for e in published(conn, Filters(words=search_words(word))).entries]

        with db.write() as conn:
            case_id = insert_case(
                conn, code="HEL-AAAA-0001", status="answered", channel="web", created_at=DAY, updated_at=DAY,
                resident_email="", resident_name="", language="fi", subject="", text="",
            )  # fmt: skip
            publish(conn, case_id, "Lumi tukkii kadun.", "Aurataan.", DAY, "m")
        assert found("lumi") == ["HEL-AAAA-0001"]
        with db.write() as conn:  # moderation edits the public text
            conn.execute(
                publications.update()
                .where(publications.c.case_id == case_id)
                .values(question="Jää on liukas.")
            )
        assert found("lumi") == [] and found("jäätä") == ["HEL-AAAA-0001"]
        with db.write() as conn:
            conn.execute(publications.update().values(withdrawn_at=DAY))
        assert found("jää") == []
        with db.write() as conn:  # publish() again replaces the row
            publish(conn, case_id, "Hiekoitus puuttuu.", "Hiekoitetaan.", DAY, "m")
        assert found("hiekoitus") == ["HEL-AAAA-0001"] and found("jää") == []
        with db.write() as conn:  # erasing the case takes its publication and its words with it
            conn.execute(cases.delete().where(cases.c.id == case_id))
        assert found("hiekoitus") == []
        if db.dialect == "sqlite":
            with db.write() as conn:  # FTS5's own check that the index matches the table
                conn.exec_driver_sql(
                    "INSERT INTO publications_fts (publications_fts, rank) VALUES ('integrity-check', 1)"
                )
        with db.write() as conn:
            again = insert_case(
                conn, code="HEL-AAAA-0002", status="answered", channel="web", created_at=DAY, updated_at=DAY,
                resident_email="", resident_name="", language="fi", subject="", text="",
            )  # fmt: skip
            publish(conn, again, "Hiekkaa on liikaa.", "Harjataan.", DAY, "m")
        migrate.downgrade(db, "0011-1")  # and up again: the index is built from what is published
        migrate.upgrade(db)
        assert found("hiekkaa") == ["HEL-AAAA-0002"] and found("hiekoitus") == []
    finally:
        db.dispose()


BOTH_DATABASES = True  # its queries differ by database (tests/web/conftest.py)
