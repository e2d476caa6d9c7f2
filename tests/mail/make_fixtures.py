"""Writes tests/mail/fixtures/*.eml: hand-written mail in the formats real clients send.

Run `.venv/bin/python tests/mail/make_fixtures.py` after editing; the .eml files are committed, so the
tests read exactly the bytes a mail server would hand us (8-bit charsets included).
"""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4 + b"\xff\xd9"  # 1,038 bytes
PNG = b"\x89PNG\r\n\x1a\n" + bytes(42)  # 50 bytes
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii")


def qp(text: str, charset: str = "utf-8") -> str:
    return quopri.encodestring(text.encode(charset)).decode("ascii")


def write(name: str, text: str, encoding: str = "utf-8", crlf: bool = True) -> None:
    data = text.lstrip("\n").encode(encoding)
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    (FIXTURES / name).write_bytes(data)


OUTLOOK_FI_PLAIN = """Hei,

kiitos vastauksesta. Valli on edelleen Kalevankadun ja Abrahaminkadun kulmassa, eikä
pyörätuolilla pääse suojatielle. Voisiko aura käydä vielä tänään?

Ystävällisin terveisin
Liisa Virtanen

________________________________
Lähettäjä: Kaupungin palaute <palaute@hel.example>
Lähetetty: maanantai 3. helmikuuta 2025 10.12
Vastaanottaja: Liisa Virtanen <liisa.virtanen@example.fi>
Aihe: Lumiaura jätti vallin suojatielle (HEL-7K3M-Q9TD)

Hei, palautteesi on vastaanotettu ja välitetty rakennusvirastolle.
"""


def outlook_fi() -> None:
    write(
        "outlook_fi_reply.eml",
        f"""
Received: from mail.example.fi (mail.example.fi [192.0.2.10])
	by mx.hel.example (Postfix) with ESMTPS id 4Xyz for <palaute@hel.example>;
	Mon, 03 Feb 2025 10:40:01 +0200
From: Liisa Virtanen <Liisa.Virtanen@Example.FI>
To: Kaupungin palaute <Palaute@HEL.example>
Subject: VS: Lumiaura jätti vallin suojatielle (HEL-7K3M-Q9TD)
Thread-Topic: Lumiaura jätti vallin suojatielle (HEL-7K3M-Q9TD)
Thread-Index: AQHbdmVzS2xhbGxhIGtvaGRhbg==
Date: Mon, 3 Feb 2025 08:39:55 +0000
Message-ID: <HE1PR0701MB2345.eurprd07.prod.outlook.com>
In-Reply-To: <case-7K3M-Q9TD.ack@hel.example>
References: <case-7K3M-Q9TD@hel.example>
 <case-7K3M-Q9TD.ack@hel.example>
Accept-Language: fi-FI, en-US
Content-Language: fi-FI
X-MS-Has-Attach:
X-Auto-Response-Suppress: All
Content-Type: multipart/alternative;
	boundary="_000_HE1PR0701MB2345_"
MIME-Version: 1.0

--_000_HE1PR0701MB2345_
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

{qp(OUTLOOK_FI_PLAIN)}
--_000_HE1PR0701MB2345_
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

{
            qp(
                "<html><body><p>Hei,</p><p>kiitos vastauksesta. Valli on edelleen Kalevankadun kulmassa.</p>"
                "<hr><p><b>Lähettäjä:</b> Kaupungin palaute</p></body></html>"
            )
        }
--_000_HE1PR0701MB2345_--
""",
    )


def gmail_fi() -> None:
    plain = """Hei!

Kuoppa on nyt kasvanut niin isoksi, että pyöräilijä kaatui siihen eilen illalla.
Laitan kuvan liitteeksi.

ma 3.2.2025 klo 10.12 Kaupungin palaute <palaute+hel-7k3m-q9td@hel.example>
kirjoitti:

> Hei,
>
> palautteesi on vastaanotettu.
>
> Tunnus: HEL-7K3M-Q9TD
>
"""
    write(
        "gmail_fi_reply.eml",
        f"""
MIME-Version: 1.0
Date: Tue, 4 Feb 2025 07:31:12 +0200
References: <case-7K3M-Q9TD@hel.example>
In-Reply-To: <case-7K3M-Q9TD@hel.example>
Message-ID: <CAH9xYz+abc123@mail.gmail.com>
Subject: Re: Kuoppa Mannerheimintiellä
From: =?UTF-8?Q?Matti_Meik=C3=A4l=C3=A4inen?= <matti.meikalainen@gmail.example>
To: Kaupungin palaute <palaute+hel-7k3m-q9td@hel.example>
Content-Type: multipart/mixed; boundary="000000000000a1b2c3"

--000000000000a1b2c3
Content-Type: multipart/alternative; boundary="000000000000a1b2c2"

--000000000000a1b2c2
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp(plain)}
--000000000000a1b2c2
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

{qp('<div dir="ltr">Hei!<div><br></div><div>Kuoppa on nyt kasvanut.</div></div>')}
--000000000000a1b2c2--

--000000000000a1b2c3
Content-Type: image/jpeg; name="IMG_20250203_221501.jpg"
Content-Disposition: attachment; filename="IMG_20250203_221501.jpg"
Content-Transfer-Encoding: base64
X-Attachment-Id: f_m6p0abc0

{b64(JPEG)}
--000000000000a1b2c3--
""",
    )


def apple_mail_en() -> None:
    write(
        "apple_mail_en.eml",
        f"""
From: Jane Smith <jane.smith@icloud.example>
Content-Type: multipart/alternative;
	boundary="Apple-Mail=_5B2C1A2E-1F3D-4C5B-9A8E-0D1E2F3A4B5C"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.600.62\\))
Subject: Re: Broken swing in Sibelius Park
Date: Wed, 5 Feb 2025 14:02:33 +0200
In-Reply-To: <case-ABCD-EFGH@hel.example>
To: City Feedback <feedback@hel.example>
References: <case-ABCD-EFGH@hel.example>
Message-Id: <8F3B2A1C-4D5E-4F60-8A9B-0C1D2E3F4A5B@icloud.example>
X-Mailer: Apple Mail (2.3774.600.62)

--Apple-Mail=_5B2C1A2E-1F3D-4C5B-9A8E-0D1E2F3A4B5C
Content-Transfer-Encoding: quoted-printable
Content-Type: text/plain;
	charset=utf-8

{
            qp('''Thank you for the quick answer. The swing is still hanging from one chain and the
children keep trying to use it. Could someone put a tape around it until it is fixed?

> On 5 Feb 2025, at 9.15, City Feedback <feedback@hel.example> wrote:
>
> Thank you for your feedback. Your case has been passed on.
>
''')
        }
--Apple-Mail=_5B2C1A2E-1F3D-4C5B-9A8E-0D1E2F3A4B5C
Content-Transfer-Encoding: quoted-printable
Content-Type: text/html;
	charset=utf-8

<html><body>Thank you for the quick answer.<blockquote type=3D"cite">old</blockquote></body></html>
--Apple-Mail=_5B2C1A2E-1F3D-4C5B-9A8E-0D1E2F3A4B5C--
""",
    )


def thunderbird_sv() -> None:
    write(
        "thunderbird_sv.eml",
        """
Message-ID: <3f2a9c1e-7b8d-4e6f-a1b2-c3d4e5f6a7b8@telia.example>
Date: Thu, 6 Feb 2025 19:45:10 +0200
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Subject: Re: =?UTF-8?Q?Gatubelysningen_p=C3=A5_Runebergsgatan?=
Content-Language: sv-FI
To: Stadens respons <respons@hel.example>
References: <case-Q9TD-7K3M@hel.example>
From: Anna Andersson <anna.andersson@telia.example>
In-Reply-To: <case-Q9TD-7K3M@hel.example>
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: 8bit

Hej,

lamporna på Runebergsgatan är fortfarande släckta mellan nummer 20 och 34.
Det är mycket mörkt på kvällarna och barnen går till skolan där.

Den 2025-02-04 kl. 09:30, skrev Stadens respons:
> Hej, tack för din respons. Ärendet har skickats vidare.
>
> Ärendenummer: HEL-Q9TD-7K3M

--\u0020
Anna Andersson
Runebergsgatan 22 B 14
""",
    )


def iphone_fi() -> None:
    write(
        "iphone_fi.eml",
        f"""
Content-Type: multipart/mixed; boundary=Apple-Mail-7A1B2C3D
Content-Transfer-Encoding: 7bit
From: Pekka Korhonen <pekka.korhonen@elisa.example>
Mime-Version: 1.0 (1.0)
Date: Fri, 7 Feb 2025 08:03:44 +0200
Subject: Kaatunut puu Keskuspuistossa
Message-Id: <E1B2C3D4-A5B6-47C8-9D0E-1F2A3B4C5D6E@elisa.example>
To: palaute@hel.example
X-Mailer: iPhone Mail (21F90)

--Apple-Mail-7A1B2C3D
Content-Type: text/plain;
	charset=utf-8
Content-Transfer-Encoding: quoted-printable

{
            qp('''Keskuspuiston kävelytien yli on kaatunut iso koivu Laakson kohdalla. Kulku on
kokonaan poikki sekä pyörille että jalankulkijoille.

Lähetetty iPhonesta''')
        }
--Apple-Mail-7A1B2C3D
Content-Type: image/jpeg;
	name=IMG_0042.jpeg;
	x-apple-part-url=5A6B7C8D
Content-Disposition: inline;
	filename=IMG_0042.jpeg
Content-Transfer-Encoding: base64

{b64(JPEG)}
--Apple-Mail-7A1B2C3D--
""",
    )


def android_sv() -> None:
    write(
        "android_sv.eml",
        """
From: Erik Lindqvist <erik.lindqvist@gmail.example>
To: respons@hel.example
Subject: Trasig trafikljus vid Hagnäs
Date: Sat, 08 Feb 2025 17:20:00 +0200
Message-ID: <android-4f5e6d7c@gmail.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Trafikljuset vid Hagnäs torg blinkar bara gult sedan i morse och bilarna kör
mycket fort över övergångsstället.

Skickat från min Galaxy
""",
    )


def outlook_sv() -> None:
    write(
        "outlook_sv_reply.eml",
        f"""
From: Karin Holm <karin.holm@firma.example>
To: Stadens respons <respons@hel.example>
Subject: SV: Snöröjning Tölö (HEL-2B3C-4D5E)
Date: Mon, 10 Feb 2025 11:05:00 +0100
Message-ID: <AM0PR01MB5555.eurprd01.prod.outlook.com>
MIME-Version: 1.0
Content-Type: text/plain; charset="iso-8859-1"
Content-Transfer-Encoding: quoted-printable
X-Auto-Response-Suppress: DR, RN, NRN, OOF, AutoReply

{
            qp(
                '''Hej,

trottoaren på Tölögatan är fortfarande inte plogad. Äldre personer vågar inte gå ut.

Med vänliga hälsningar
Karin Holm

Från: Stadens respons <respons@hel.example>
Skickat: den 7 februari 2025 08:00
Till: Karin Holm <karin.holm@firma.example>
Ämne: Snöröjning Tölö (HEL-2B3C-4D5E)

Tack för din respons.
''',
                "iso-8859-1",
            )
        }""",
    )


def outlook_en() -> None:
    write(
        "outlook_en_original.eml",
        """
From: "Brown, Oliver" <Oliver.Brown@Contractor.Example>
To: feedback@hel.example
Cc: Site Manager <SITE.manager@contractor.example>, ops@hel.example
Subject: RE: Fence left open at the Kalasatama building site
Date: Tue, 11 Feb 2025 09:12:00 +0000
Message-ID: <DB7PR03MB4444@contractor.example>
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

Hello,

the fence was closed this morning and a guard now checks it every evening.

Best regards,
Oliver Brown
Site Supervisor

-----Original Message-----
From: City Feedback <feedback@hel.example>
Sent: Monday, February 10, 2025 4:30 PM
To: Brown, Oliver <Oliver.Brown@contractor.example>
Subject: Fence left open at the Kalasatama building site

A resident reports that the site fence is open at night.
""",
    )


def latin9_body() -> None:
    write(
        "latin9_body.eml",
        """
From: =?iso-8859-15?q?Sein=E4j=E4rvi=2C_Aino?= <aino@kolumbus.example>
To: palaute@hel.example
Subject: =?iso-8859-15?q?Pys=E4k=F6intivirhemaksu_=A4_60?=
Date: Wed, 12 Feb 2025 12:00:00 +0200
Message-ID: <latin9-0001@kolumbus.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-15
Content-Transfer-Encoding: 8bit

Sain pysäköintivirhemaksun 60 €, vaikka kyltti oli lumen peitossa enkä nähnyt sitä.
Pyydän maksun oikaisua. Kuva kyltistä on tallessa.
""",
        encoding="iso-8859-15",
    )


def cp1252_body() -> None:
    write(
        "cp1252_body.eml",
        """
From: John Doe <john.doe@example.com>
To: feedback@hel.example
Subject: Parking fine - “no sign visible”
Date: Wed, 12 Feb 2025 13:00:00 +0200
Message-ID: <cp1252-0001@example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=windows-1252
Content-Transfer-Encoding: 8bit

I received a parking fine of 60 € although the sign was covered in snow – I couldn’t see it.
Please review the fine; I have a photo of the sign.
""",
        encoding="cp1252",
    )


def split_encoded_subject() -> None:
    # "Pyörätie on jäässä – liukastuin" split mid-character across encoded words and folded.
    write(
        "encoded_subject_split.eml",
        """
From: =?utf-8?B?TWF0dGkgTWVpa8Ok?= =?utf-8?B?bMOkaW5lbg==?= <matti@example.fi>
To: palaute@hel.example
Subject: =?utf-8?Q?Py=C3=B6r=C3=A4tie_on_j=C3?=
 =?utf-8?Q?=A4=C3=A4ss=C3=A4_=E2=80=93_liukastuin?=
Date: Thu, 13 Feb 2025 07:15:00 +0200
Message-ID: <split-0001@example.fi>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Pyörätie Käpylässä on aivan jäässä, liukastuin aamulla matkalla töihin.
""",
    )


def raw_utf8_headers() -> None:
    write(
        "raw_utf8_subject.eml",
        """
From: Pöö Mäkinen <poo@example.fi>
To: palaute@hel.example
Subject: Pöö =?utf-8?q?ja_p=C3=A4=C3=A4?= ja kää
Date: Thu, 13 Feb 2025 08:00:00 +0200
Message-ID: <raw8bit-0001@example.fi>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Puistonpenkki on rikki Pöö-puistossa, lauta puuttuu kokonaan istuimesta.
""",
    )


def raw_latin1_headers() -> None:
    write(
        "raw_latin1_header.eml",
        """
From: Jörgen Åström <jorgen@example.se>
To: respons@hel.example
Subject: Hål i cykelvägen vid Gräsviken
Date: Thu, 13 Feb 2025 09:00:00 +0200
Message-ID: <raw8bit-0002@example.se>
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: 8bit

Det finns ett stort hål i cykelvägen vid Gräsviken, nära bron. Någon kommer att skada sig.
""",
        encoding="latin-1",
    )


def rfc2231_filenames() -> None:
    write(
        "rfc2231_filename.eml",
        f"""
From: Sari Nieminen <sari@example.fi>
To: palaute@hel.example
Subject: Liitteenä kuvat työmaasta
Date: Fri, 14 Feb 2025 10:00:00 +0200
Message-ID: <rfc2231-0001@example.fi>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Työmaan aita on kaatunut jalkakäytävälle. Kuvat ja pöytäkirja liitteenä.

--b1
Content-Type: application/pdf; name*=utf-8''P%C3%B6yt%C3%A4kirja%20ty%C3%B6maa.pdf
Content-Disposition: attachment; filename*=utf-8''P%C3%B6yt%C3%A4kirja%20ty%C3%B6maa.pdf
Content-Transfer-Encoding: base64

{b64(PDF)}
--b1
Content-Type: image/jpeg
Content-Disposition: attachment;
 filename*0*=utf-8''Ty%C3%B6maan%20aita%20kaatunut%20;
 filename*1*=Kalevankatu%2012.jpg
Content-Transfer-Encoding: base64

{b64(JPEG)}
--b1
Content-Type: image/jpeg; name="=?utf-8?B?a8OkdmVseXRpZS5qcGc=?="
Content-Disposition: attachment; filename="=?utf-8?B?a8OkdmVseXRpZS5qcGc=?="
Content-Transfer-Encoding: base64

{b64(JPEG[:100])}
--b1
Content-Type: application/octet-stream
Content-Disposition: attachment
Content-Transfer-Encoding: base64

{b64(b"no name here")}
--b1--
""",
    )


def html_only() -> None:
    write(
        "html_only_table.eml",
        f"""
From: Helena Koskinen <helena@example.fi>
To: palaute@hel.example
Subject: Roska-astiat täynnä
Date: Sat, 15 Feb 2025 16:00:00 +0200
Message-ID: <html-0001@example.fi>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

{
            qp('''<!DOCTYPE html><html><head><style>p {color: red}</style><title>x</title></head><body>
<p>Hei,</p>
<p>Roska-astiat Kaivopuistossa ovat olleet t&auml;ynn&auml; jo viikon &ndash;
roskia lent&auml;&auml; ymp&auml;ri puistoa.&nbsp;Kuvat alla.</p>
<table><tr><th>Paikka</th><th>Astioita</th></tr>
<tr><td>Kaivopuiston ranta</td><td>4</td></tr>
<tr><td>Ursulan kahvila</td><td>2</td></tr></table>
<p>Terveisin<br>Helena &amp; Jussi</p>
</body></html>''')
        }
""",
    )


def nested_related() -> None:
    write(
        "nested_related.eml",
        f"""
From: Outlook User <user@outlook.example>
To: palaute@hel.example
Subject: Katuvalo rikki
Date: Sun, 16 Feb 2025 18:00:00 +0200
Message-ID: <nested-0001@outlook.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed"

--mixed
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Katuvalo on rikki Fleminginkadulla talon 12 kohdalla, koko kortteli on pimeänä.

--alt
Content-Type: multipart/related; boundary="rel"; type="text/html"

--rel
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: 8bit

<html><body><p>Katuvalo on rikki Fleminginkadulla.</p><img src="cid:image001.png@01DB"></body></html>
--rel
Content-Type: image/png; name="image001.png"
Content-ID: <image001.png@01DB>
Content-Disposition: inline; filename="image001.png"
Content-Transfer-Encoding: base64

{b64(PNG)}
--rel--

--alt--

--mixed
Content-Type: application/pdf; name="kartta.pdf"
Content-Disposition: attachment; filename="kartta.pdf"
Content-Transfer-Encoding: base64

{b64(PDF)}
--mixed--
""",
    )


FORWARDED_INNER = """From: Urakoitsija Oy <info@urakoitsija.example>
To: Liisa Virtanen <liisa.virtanen@example.fi>
Subject: Vastaus: lumityöt
Date: Mon, 10 Feb 2025 15:00:00 +0200
Message-ID: <inner-0001@urakoitsija.example>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Emme hoida tätä aluetta, ottakaa yhteyttä kaupunkiin.
"""


def forwarded() -> None:
    write(
        "forwarded_rfc822.eml",
        f"""
From: Liisa Virtanen <liisa.virtanen@example.fi>
To: palaute@hel.example
Subject: Fwd: Vastaus: lumityöt
Date: Mon, 10 Feb 2025 16:00:00 +0200
Message-ID: <fwd-0001@example.fi>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="fwd"

--fwd
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Urakoitsija sanoo, ettei se hoida Kalevankadun lumitöitä. Kuka sitten hoitaa?

--fwd
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Vastaus lumityöt.eml"

{FORWARDED_INNER}
--fwd--
""",
    )


def gmail_inline_forward() -> None:
    write(
        "gmail_inline_forward.eml",
        """
From: Mikko Lehtonen <mikko.lehtonen@gmail.example>
To: palaute@hel.example
Subject: Fwd: Tilausvahvistus puistonpenkki
Date: Tue, 18 Feb 2025 12:00:00 +0200
Message-ID: <CAFwd0001@mail.gmail.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=UTF-8

Tässä lupaamanne vahvistus, mutta penkkiä ei ole vieläkään asennettu.

---------- Forwarded message ---------
Lähettäjä: Kaupunkiympäristö <noreply@hel.example>
Date: pe 10.1.2025 klo 9.00
Subject: Tilausvahvistus puistonpenkki
To: <mikko.lehtonen@gmail.example>

Penkki asennetaan tammikuun aikana.
""",
    )


def lying_charsets() -> None:
    head = """From: Ville Heikkinen <ville@example.fi>
To: palaute@hel.example
Date: Wed, 19 Feb 2025 09:00:00 +0200
MIME-Version: 1.0
Content-Transfer-Encoding: 8bit
"""
    body = "Bussipysäkin katos on särjetty ja lasinsiruja on kävelytiellä. Siivoatteko pian?\n"
    write(
        "lying_ascii_utf8.eml",
        head + "Message-ID: <lie-1@example.fi>\nSubject: Katos rikki\n"
        "Content-Type: text/plain; charset=us-ascii\n\n" + body,
    )
    write(
        "lying_ascii_latin1.eml",
        head + "Message-ID: <lie-2@example.fi>\nSubject: Katos rikki\n"
        "Content-Type: text/plain; charset=us-ascii\n\n" + body,
        encoding="latin-1",
    )
    write(
        "lying_latin1_utf8.eml",
        head + "Message-ID: <lie-3@example.fi>\nSubject: Katos rikki\n"
        "Content-Type: text/plain; charset=iso-8859-1\n\n" + body,
    )
    write(
        "unknown_charset.eml",
        head + "Message-ID: <lie-4@example.fi>\n"
        "Subject: =?x-unknown?q?Katos_s=E4rjetty?=\n"
        'Content-Type: text/plain; charset="x-unknown"\n\n' + body,
        encoding="latin-1",
    )


def broken_base64() -> None:
    text = "Leikkipuiston portti on irti saranoistaan ja lapset pääsevät kadulle. Korjatkaa pian.\n"
    encoded = base64.b64encode(text.encode()).decode()
    broken = encoded[:40] + "!!*\n" + encoded[40:-2]  # junk characters and the padding cut off
    write(
        "broken_base64.eml",
        f"""
From: Tiina Salo <tiina@example.fi>
To: palaute@hel.example
Subject: Portti rikki
Date: Thu, 20 Feb 2025 10:00:00 +0200
Message-ID: <b64-0001@example.fi>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{broken}
""",
    )


def no_id_no_date() -> None:
    write(
        "no_message_id_no_date.eml",
        """
From: someone@example.org
To: feedback@hel.example
Subject: Graffiti on the bridge
Content-Type: text/plain; charset=utf-8

There is new graffiti on the Pitkäsilta bridge railing, on the side facing the market square.
""",
        crlf=False,
    )


def postfix_dsn() -> None:
    write(
        "postfix_dsn.eml",
        """
Return-Path: <>
Received: by mx.hel.example (Postfix) id 1A2B3C; Fri, 21 Feb 2025 11:00:05 +0200 (EET)
Date: Fri, 21 Feb 2025 11:00:05 +0200 (EET)
From: MAILER-DAEMON@mx.hel.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: palaute@hel.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="1A2B3C.1740128405/mx.hel.example"
Message-Id: <20250221090005.1A2B3C@mx.hel.example>

This is a MIME-encapsulated message.

--1A2B3C.1740128405/mx.hel.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.hel.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<no.such.user@example.fi>: host mx.example.fi[192.0.2.20] said: 550 5.1.1
    User unknown (in reply to RCPT TO command)

--1A2B3C.1740128405/mx.hel.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.hel.example
Arrival-Date: Fri, 21 Feb 2025 11:00:03 +0200 (EET)

Final-Recipient: rfc822; no.such.user@example.fi
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--1A2B3C.1740128405/mx.hel.example
Content-Description: Undelivered Message
Content-Type: message/rfc822

From: Kaupungin palaute <palaute@hel.example>
To: no.such.user@example.fi
Subject: Palautteesi on vastaanotettu (HEL-7K3M-Q9TD)
Message-ID: <ack.HEL-7K3M-Q9TD.1@hel.example>
Auto-Submitted: auto-replied
X-Gateway-Loop: hel-gateway
Content-Type: text/plain; charset=utf-8

Kiitos palautteestasi.

--1A2B3C.1740128405/mx.hel.example--
""",
        crlf=False,
    )


def exchange_ndr() -> None:
    write(
        "exchange_ndr.eml",
        """
From: Microsoft Outlook <postmaster@contoso.example>
To: <palaute@hel.example>
Date: Fri, 21 Feb 2025 12:00:00 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="b6b9e8f0-ndr"
MIME-Version: 1.0
Message-ID: <ndr-5555@contoso.example>
Subject: Undeliverable: Vastaus palautteeseesi (HEL-2B3C-4D5E)
Auto-Submitted: auto-replied

--b6b9e8f0-ndr
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="b6b9e8f0-alt"

--b6b9e8f0-alt
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:

virkailija@contoso.example
The email address you entered couldn't be found.

--b6b9e8f0-alt--

--b6b9e8f0-ndr
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com

Final-recipient: RFC822; virkailija@contoso.example
Action: failed
Status: 5.1.10

--b6b9e8f0-ndr
Content-Type: text/rfc822-headers

From: Kaupungin palaute <palaute@hel.example>
To: <virkailija@contoso.example>
Subject: Vastaus palautteeseesi (HEL-2B3C-4D5E)
Message-ID:
 <relay.HEL-2B3C-4D5E.7@hel.example>
Date: Fri, 21 Feb 2025 11:59:58 +0000

--b6b9e8f0-ndr--
""",
    )


def qmail_bounce() -> None:
    write(
        "qmail_failure_notice.eml",
        """
From: MAILER-DAEMON@mail.oldhost.example
To: palaute@hel.example
Subject: failure notice
Date: 22 Feb 2025 08:00:00 -0000
Message-ID: <qmail-bounce-1@mail.oldhost.example>

Hi. This is the qmail-send program at mail.oldhost.example.
I'm afraid I wasn't able to deliver your message to the following addresses.

<kalle@oldhost.example>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <palaute@hel.example>
From: palaute@hel.example
Subject: Palautteesi on vastaanotettu
Message-ID: <ack.HEL-9XYZ-8WVT.1@hel.example>

Kiitos palautteestasi.
""",
    )


def out_of_office() -> None:
    write(
        "ooo_fi.eml",
        """
From: Virkailija Vesa <vesa.virkailija@hel.example>
To: palaute@hel.example
Subject: Automaattinen vastaus: Uusi palaute (HEL-2B3C-4D5E)
Date: Mon, 24 Feb 2025 08:00:00 +0200
Message-ID: <ooo-fi@hel.example>
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Olen lomalla 3.3. asti enkä lue sähköpostia. Kiireellisissä asioissa ota yhteyttä kirjaamoon.
""",
    )
    write(
        "ooo_sv.eml",
        """
From: Sara Berg <sara.berg@hel.example>
To: respons@hel.example
Subject: Autosvar: Ny respons
Date: Mon, 24 Feb 2025 08:00:00 +0200
Message-ID: <ooo-sv@hel.example>
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Jag är på semester till och med den 3 mars och läser inte min e-post.
""",
    )
    write(
        "ooo_en.eml",
        """
From: Tom Baker <tom.baker@contractor.example>
To: feedback@hel.example
Subject: Out of Office: New case HEL-ABCD-EFGH
Date: Mon, 24 Feb 2025 08:00:00 +0200
Message-ID: <ooo-en@contractor.example>
X-Autoreply: yes
Content-Type: text/plain; charset=utf-8

I am out of the office until March 3rd with no access to email.
""",
    )


def mailing_list() -> None:
    write(
        "mailing_list.eml",
        """
From: Kaupunginosayhdistys <info@kaupunginosa.example>
To: asukkaat@lists.kaupunginosa.example
Subject: [asukkaat] Kevätsiivous lauantaina
Date: Tue, 25 Feb 2025 18:00:00 +0200
Message-ID: <list-0001@kaupunginosa.example>
List-Id: Asukkaat <asukkaat.lists.kaupunginosa.example>
List-Unsubscribe: <mailto:asukkaat-leave@lists.kaupunginosa.example>
Precedence: list
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Tervetuloa kevätsiivoukseen lauantaina kello 10 alkaen puiston laidalle!
""",
    )


def loop_header() -> None:
    write(
        "loop_header.eml",
        """
From: Kaupungin palaute <palaute@hel.example>
To: palaute@hel.example
Subject: Palautteesi on vastaanotettu (HEL-7K3M-Q9TD)
Date: Tue, 25 Feb 2025 18:00:00 +0200
Message-ID: <ack.HEL-7K3M-Q9TD.2@hel.example>
Auto-Submitted: auto-replied
X-Gateway-Loop: hel-gateway-1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Kiitos palautteestasi. Tunnus: HEL-7K3M-Q9TD.
""",
    )


def plus_address() -> None:
    write(
        "plus_address_code.eml",
        """
From: Jari Mattila <jari.mattila@example.fi>
To: Kaupungin palaute <palaute+hel-7k3m-q9td.x4f9a2@hel.example>
Subject: Re: Palautteesi on vastaanotettu
Date: Wed, 26 Feb 2025 07:00:00 +0200
Message-ID: <plus-0001@example.fi>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Lisätietona: naapurini palautteen tunnus oli HEL-ZZZZ-ZZZZ, sama kuoppa on siis kahdesti.
""",
    )


def english_new() -> None:
    write(
        "new_feedback_en.eml",
        """
From: "Emily Clarke" <EMILY.CLARKE@Example.co.uk>
To: feedback@hel.example, "Parks" <PARKS@hel.example>
Cc: "Councillor" <Councillor@HEL.example>
Subject: Dog park gate does not close
Date: Thu, 27 Feb 2025 20:00:00 +0000
Message-ID: <new-en-0001@example.co.uk>
Content-Type: text/plain; charset=utf-8

Hello,

The gate of the dog park in Kaivopuisto does not close any more, so dogs run out onto
the street. Could someone please repair the latch?

Thanks,
Emily
""",
    )


def short_text() -> None:
    write(
        "short_thanks.eml",
        """
From: Matti <matti@example.fi>
To: palaute@hel.example
Subject: Re: (HEL-7K3M-Q9TD)
Date: Thu, 27 Feb 2025 21:00:00 +0200
Message-ID: <short-0001@example.fi>
Content-Type: text/plain; charset=utf-8

Kiitos!
""",
    )


def auto_submitted_no() -> None:
    write(
        "auto_submitted_no.eml",
        """
From: Paula Rantanen <paula@example.fi>
To: palaute@hel.example
Subject: Liukas silta
Date: Fri, 28 Feb 2025 07:00:00 +0200
Message-ID: <asno-0001@example.fi>
Auto-Submitted: no
X-Auto-Response-Suppress: OOF
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Kevyen liikenteen silta Vallilassa on todella liukas, hiekoitusta tarvittaisiin.
""",
    )


def newsletter_bulk() -> None:
    write(
        "newsletter_bulk.eml",
        """
From: Uutiskirje <news@shop.example>
To: palaute@hel.example
Subject: Viikon tarjoukset
Date: Fri, 28 Feb 2025 07:00:00 +0200
Message-ID: <bulk-0001@shop.example>
Precedence: bulk
Content-Type: text/html; charset=utf-8

<html><body><h1>Tarjoukset</h1><p>Kaikki talvirenkaat -30&nbsp;%!</p></body></html>
""",
    )


def null_sender_notice() -> None:
    # No automatic header at all: only the envelope's null reverse-path (tested with mail_from="").
    write(
        "null_sender_notice.eml",
        """
From: Ilmoituspalvelu <ilmoitus@service.example>
To: palaute@hel.example
Subject: Ilmoitus
Date: Fri, 28 Feb 2025 07:00:00 +0200
Message-ID: <null-0001@service.example>
Content-Type: text/plain; charset=utf-8

Tämä on palvelun lähettämä ilmoitus, johon ei voi vastata.
""",
    )


def read_receipt_swedish_interleaved() -> None:
    write(
        "interleaved_sv.eml",
        """
From: Olof Nyström <olof@example.se>
To: respons@hel.example
Subject: Re: Fråga om parkeringstillstånd
Date: Fri, 28 Feb 2025 09:00:00 +0200
Message-ID: <inter-0001@example.se>
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

> Gäller ansökan ett boendeparkeringstillstånd?
Ja, det gäller boendeparkering för Tölö.

> Har ni ett registreringsnummer?
Ja, ABC-123.

Hälsningar
Olof
""",
    )


def main() -> None:
    FIXTURES.mkdir(exist_ok=True)
    for make in (
        outlook_fi, gmail_fi, apple_mail_en, thunderbird_sv, iphone_fi, android_sv, outlook_sv,
        outlook_en, latin9_body, cp1252_body, split_encoded_subject, raw_utf8_headers,
        raw_latin1_headers, rfc2231_filenames, html_only, nested_related, forwarded,
        gmail_inline_forward, lying_charsets, broken_base64, no_id_no_date, postfix_dsn,
        exchange_ndr, qmail_bounce, out_of_office, mailing_list, loop_header, plus_address,
        english_new, short_text, auto_submitted_no, newsletter_bulk, null_sender_notice,
        read_receipt_swedish_interleaved,
    ):  # fmt: skip
        make()


if __name__ == "__main__":
    main()
