"""Issue 15: feedback in Finnish, Swedish, English and a mix reaches the right department.

Each sentence is sent the way a resident's mail arrives: an RFC 5322 message through the mail parser
(which detects its language), then the shipped rules. Before issue 15 the Swedish `is` ("ice") sent
most English feedback to winter maintenance, and `jää*` caught the Finnish "jäänyt" ("stayed").
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gateway.mail import parse
from gateway.rules import CaseFields, Config, load_config, route

ROOT = Path(__file__).resolve().parents[2]
WED_10 = datetime(2025, 1, 15, 10, tzinfo=ZoneInfo("Europe/Helsinki"))
WINTER = "kaupunkiympariston-asiakaspalvelu"  # winter trouble without a map point
WORKS = "tyoyksikko"  # streets, parks, graffiti, fallen trees
REGISTRY = "kirjaamo"

SENTENCES = [
    # English: none of these is about ice, though every one has "is" or "park"
    ("The park bench in Kaivopuisto is broken", WORKS),
    ("the bus is always late", "hsl"),
    ("someone is parking on the pavement", "pysakoinninvalvonta"),
    ("There is a huge pothole on Hämeentie", WORKS),
    ("The tram is full every morning and it is too hot inside", "hsl"),
    ("My son's school is closed and nobody told us why", "kasvatus-ja-koulutus"),
    ("The library is closed on Sundays, which is a pity", "kulttuuri-ja-vapaa-aika"),
    ("It is impossible to get an appointment at the health centre", "sosiaali-ja-terveys"),
    ("Eleven cars are parked on the cycle path again", "pysakoinninvalvonta"),
    ("Someone groped me at the bus stop", "hsl"),
    ("This is just to say thank you for the good service", REGISTRY),
    ("The business next door is always open late", REGISTRY),
    # English winter feedback
    ("Ice on the pavement on Mannerheimintie", WINTER),
    ("The pavement is icy and nobody has gritted it", WINTER),
    ("Our street has not been ploughed, the snow is knee deep", WINTER),
    # Finnish: "jäänyt", "jäi", "jää" are the verb jäädä, not ice
    ("auto on jäänyt kadulle", REGISTRY),
    ("Auto on jäänyt kadulle jalkakäytävän päälle pysäköitynä", "pysakoinninvalvonta"),
    ("Bussi jäi tulematta ja jouduin odottamaan tunnin", "hsl"),
    ("Lapsi jää yksin kouluun iltapäivisin", "kasvatus-ja-koulutus"),
    ("Kävelin kaupungin halki ja puistossa oli roskia kaikkialla", WORKS),
    ("Tiedätkö, kenelle tästä kuuluu ilmoittaa? Tietoa ei löydy mistään", REGISTRY),
    # Finnish winter feedback
    ("Jäätä jalkakäytävällä", WINTER),
    ("Jalkakäytävä on ihan jäässä ja tosi liukas", WINTER),
    ("Kadulla on puoli metriä lunta eikä sitä ole aurattu", WINTER),
    ("Loskaa on nilkkoihin asti eikä kukaan ole hiekoittanut", WINTER),
    # Swedish: "istället", "skolan" and "bin" are not about ice, schools of English, or bins
    ("Bussen kom inte alls, jag fick gå istället", "hsl"),
    ("Parkbänken i Brunnsparken är trasig", WORKS),
    ("Det finns bin överallt vid lekplatsen", WORKS),
    ("Vår skola har mögel i gymnastiksalen", "kasvatus-ja-koulutus"),
    ("Bilen har stått felparkerad på trottoaren i tre dagar", "pysakoinninvalvonta"),
    # Swedish winter feedback
    ("Isigt på trottoaren", WINTER),
    ("Det är is på hela trottoaren utanför Stockmann", WINTER),
    ("Gatan har inte plogats och det är halkigt överallt", WINTER),
    # mixed
    ("Hei, the park bench on Kaivopuisto on rikki", WORKS),
    ("Moi, the pavement is super slippery, tosi liukasta", WINTER),
    ("Hej, the bus 55 oli myöhässä taas", "hsl"),
]


@pytest.fixture(scope="module")
def shipped() -> Config:
    return load_config(ROOT / "departments.yaml", ROOT / "rules.yaml", ROOT / "areas.geojson")


def as_mail(text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = "asukas@example.fi"
    msg["To"] = "palaute@hel.example"
    msg["Subject"] = "Palaute"
    msg["Message-ID"] = "<t@example.fi>"
    msg.set_content(text)
    return msg.as_bytes()


@pytest.mark.parametrize(("text", "department"), SENTENCES, ids=[s[0][:40] for s in SENTENCES])
def test_feedback_reaches_its_department(shipped: Config, text: str, department: str) -> None:
    msg = parse(as_mail(text))
    decision = route(shipped, CaseFields.from_message(msg), WED_10)
    assert decision.department == department, (msg.language, decision.rule, decision.reasons)


def test_the_table_is_large_and_has_all_three_languages() -> None:
    assert len(SENTENCES) >= 30
    detected = {parse(as_mail(text)).language for text, _ in SENTENCES}
    assert {"fi", "sv", "en"} <= detected


@pytest.mark.parametrize(
    ("text", "department"),
    [("Det är is på hela trottoaren", WINTER), ("the bus is always late", "hsl")],
)
def test_gateway_route_text_detects_the_language_as_mail_does(
    tmp_path: Path, text: str, department: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "route", "--text", text, "--at", "2025-01-15T10:00"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["department"] == department
