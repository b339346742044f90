"""Write the municipal PDF set (tables, minutes with page headers, a two-column page, a scanned page) to a folder.

    python eval/pdfs/make_pdfs.py [OUT]        # default eval/out/pdfs/corpus (git-ignored)

Every document is made here with fpdf2 (and python-docx, Pillow), so the set is reproducible and free to share.
The questions about it are eval/pdfs/questions.yaml; eval/pdfs/score.py ingests the set and scores them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

# --- contents ---------------------------------------------------------------------------------------

SAGER = [  # Sag, Afd., Forventet fremsendt
    ("Serviceniveau for 2026", "Borgervelfærd", "November"),
    ("Evaluering af nattevagtsordningen", "Pleje og Omsorg", "Oktober"),
    ("Ny demensstrategi 2026-2029", "Sundhed og Forebyggelse", "December"),
    ("Takster for madservice 2026", "Borgervelfærd", "Oktober"),
    ("Kvalitetsstandard for personlig og praktisk hjælp i eget hjem efter servicelovens § 83",
     "Myndighed", "Januar 2026"),
    ("Status på rekruttering af social- og sundhedsassistenter", "Pleje og Omsorg", "November"),
    ("Udbud af hjælpemidler", "Myndighed", "Februar 2026"),
    ("Plan for udvidelse af plejeboliger i Nordby", "Sekretariatet", "1. kvartal 2026"),
    ("Tilsynsrapporter fra plejecentre 2025", "Pleje og Omsorg", "December"),
    ("Sundhedspolitik, høringssvar", "Sundhed og Forebyggelse", "Oktober"),
    ("Aftale om akutfunktion med regionen", "Sundhed og Forebyggelse", "Januar 2026"),
    ("Værdighedspolitik, opfølgning", "Borgervelfærd", "Marts 2026"),
    ("Budgetopfølgning pr. 30. september", "Sekretariatet", "November"),
    ("Handleplan for ensomhed blandt ældre", "Borgervelfærd", "December"),
    ("Ændring af visitationsretningslinjer for rehabilitering", "Myndighed", "Oktober"),
    ("Frivillighedsstrategi for plejecentre", "Borgervelfærd", "Februar 2026"),
    ("Digital understøttelse af hjemmeplejen", "Pleje og Omsorg", "April 2026"),
    ("Tandplejetakster 2026", "Sundhed og Forebyggelse", "November"),
    ("Ældrerådets årsberetning", "Sekretariatet", "Januar 2026"),
    ("Forebyggende hjemmebesøg, evaluering", "Sundhed og Forebyggelse", "Marts 2026"),
    ("Klippekortsordning for plejehjemsbeboere", "Borgervelfærd", "December"),
    ("Renovering af Solgården", "Sekretariatet", "Maj 2026"),
    ("Kørselsordning til genoptræning", "Myndighed", "November"),
    ("Pårørendepolitik", "Borgervelfærd", "Januar 2026"),
    ("Sygeplejeklinikker i lokalområderne", "Sundhed og Forebyggelse", "Februar 2026"),
    ("Kompetenceudvikling af plejepersonale", "Pleje og Omsorg", "Marts 2026"),
    ("Madordning på plejecentre, brugertilfredshed", "Pleje og Omsorg", "December"),
    ("Hjemmeplejens ruteplanlægning", "Pleje og Omsorg", "Oktober"),
    ("Demensvenlig kommune, status", "Sundhed og Forebyggelse", "April 2026"),
    ("Boligplacering af borgere med særlige behov", "Myndighed", "Juni 2026"),
    ("Velfærdsteknologi, strategi 2026-2028", "Sekretariatet", "Februar 2026"),
    ("Rusmiddelbehandling, kapacitet", "Sundhed og Forebyggelse", "Maj 2026"),
    ("Aflastningspladser, belægning", "Pleje og Omsorg", "November"),
    ("Hverdagsrehabilitering, effektmåling", "Borgervelfærd", "Juni 2026"),
    ("Udskrivning fra hospital, samarbejdsaftale", "Myndighed", "Marts 2026"),
    ("Ældrepolitik 2026-2030, udkast", "Borgervelfærd", "August 2026"),
]

BUDGET = [  # Område, Regnskab 2024, Budget 2025, Budget 2026 (mio. kr.)
    ("Hjemmepleje", "412,3", "425,0", "438,6"),
    ("Plejecentre", "615,8", "631,2", "649,9"),
    ("Hjælpemidler", "88,4", "91,0", "94,7"),
    ("Genoptræning", "54,1", "56,3", "57,8"),
    ("Forebyggelse", "21,6", "22,4", "25,1"),
    ("Myndighed og visitation", "39,9", "41,2", "40,5"),
    ("I alt", "1.232,1", "1.267,1", "1.306,6"),
]

HANDLINGSPLAN = [  # Åtgärd, Ansvarig, Klart senast
    ("Införa digitala ansökningar om ekonomiskt bistånd", "Försörjningsenheten", "2026-03-31"),
    ("Minska andelen placeringar på HVB-hem", "Barn- och ungdomsenheten", "2026-06-30"),
    ("Öppna en mottagning för unga vuxna med missbruk", "Vuxenenheten", "2026-09-30"),
    ("Ta fram en plan mot våld i nära relationer", "Socialchefens stab", "2026-04-30"),
    ("Utbilda alla handläggare i motiverande samtal", "HR-enheten", "2026-12-31"),
    ("Utvärdera familjecentralen i Norrby", "Barn- och ungdomsenheten", "2026-10-31"),
]

TAKSTER = [  # Tilbud, Takst pr. måned 2025, Takst pr. måned 2026
    ("Vuggestue (0-2 år)", "4.150 kr.", "4.295 kr."),
    ("Børnehave (3-5 år)", "2.480 kr.", "2.560 kr."),
    ("Dagpleje", "3.720 kr.", "3.840 kr."),
    ("SFO (0.-3. klasse)", "1.890 kr.", "1.950 kr."),
    ("Frokostordning i børnehave", "780 kr.", "810 kr."),
]

AVGIFTER = [  # Insats, Avgift per timme, Högsta avgift per månad
    ("Hemtjänst, service", "345 kr", "1 689 kr"),
    ("Hemtjänst, omsorg", "345 kr", "1 689 kr"),
    ("Trygghetslarm", "–", "240 kr"),
    ("Matdistribution", "–", "1 150 kr"),
    ("Dagverksamhet", "95 kr", "620 kr"),
]


class Doc(FPDF):
    """An A4 page with DejaVu fonts, an optional running header and 'Side N af M' footer."""

    def __init__(self, running_header: str | None = None, footer_text: str | None = None) -> None:
        super().__init__(format="A4")
        self.add_font("dejavu", "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font("dejavu", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.running_header = running_header
        self.footer_text = footer_text
        self.set_auto_page_break(True, margin=20)
        self.alias_nb_pages()

    def header(self) -> None:
        if self.running_header:
            self.set_font("dejavu", "B", 12)
            self.cell(0, 8, self.running_header, new_x="LMARGIN", new_y="NEXT")
            self.ln(4)

    def footer(self) -> None:
        if self.footer_text:
            self.set_y(-15)
            self.set_font("dejavu", "", 8)
            self.cell(0, 8, self.footer_text.format(n=self.page_no(), nb="{nb}"), align="R")

    def para(self, text: str, size: int = 10, bold: bool = False, gap: float = 3) -> None:
        self.set_font("dejavu", "B" if bold else "", size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(gap)

    def table_rows(self, header: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...],
                   padding: float = 1, borders: str = "ALL") -> None:
        self.set_font("dejavu", "", 9)
        with self.table(col_widths=widths, text_align="LEFT", headings_style=FontFace(emphasis="BOLD"),
                        line_height=5, padding=padding, borders_layout=borders) as table:
            for r in [header, *rows]:
                row = table.row()
                for cell in r:
                    row.cell(cell)


def sager_paa_vej(out: Path) -> None:
    pdf = Doc("Sager på vej – Sundhed og Omsorg 2025", "Side {n} af {nb}")
    pdf.set_title("Microsoft Word - Dokument3")
    pdf.add_page()
    pdf.para("Til: Udvalget for Sundhed og Omsorg, Ældrerådet, Direktionen m.fl.", gap=1)
    pdf.para("Fra: Sundhed og Omsorg, Sekretariatet", gap=1)
    pdf.para("Dato: 3. september 2025", gap=5)
    pdf.para("Oversigten viser de sager, som Sundhed og Omsorg forventer at sende til politisk behandling i "
             "resten af 2025 og første halvår af 2026. Tidspunkterne er foreløbige og kan flytte sig, hvis "
             "sagerne kræver yderligere inddragelse af Ældrerådet eller høring af brugerråd.")
    pdf.para("Sagerne er ordnet efter hvornår de forventes drøftet i direktionen.", gap=4)
    pdf.table_rows(("Sag", "Afd.", "Forventet fremsendt"), SAGER, (95, 50, 45), padding=3.5)
    pdf.ln(4)
    pdf.para("Spørgsmål til oversigten kan rettes til sekretariatet.", gap=1)
    pdf.para("Kontaktperson: Hanne Vestergaard, tlf. 72 36 41 18")
    pdf.output(str(out / "sager-paa-vej-sundhed-og-omsorg-2025.pdf"))


def budgetnotat(out: Path) -> None:
    pdf = Doc(None, "Side {n}")
    pdf.set_title("Budgetnotat 2026 – Ældre og Handicap")
    pdf.add_page()
    pdf.para("Nordby Kommune", size=9, gap=1)
    pdf.para("Budgetnotat 2026 – Ældre og Handicap", size=18, bold=True, gap=4)
    pdf.para("Sagsbehandler: Jonas Holm", gap=1)
    pdf.para("Journalnummer: 00.30.14-S00-12-25", gap=5)
    pdf.para("Notatet beskriver budgettet for ældreområdet i 2026 sammenholdt med regnskabet for 2024 og det "
             "korrigerede budget for 2025. Stigningen skyldes især flere ældre over 80 år og højere lønudgifter "
             "efter overenskomsten.")
    pdf.para("Udgifter fordelt på områder (mio. kr., løbende priser)", bold=True, gap=2)
    pdf.table_rows(("Område", "Regnskab 2024", "Budget 2025", "Budget 2026"), BUDGET, (70, 40, 40, 40), borders="HORIZONTAL_LINES")
    pdf.ln(5)
    pdf.para("Budgettet til forebyggelse stiger mest, fordi byrådet har afsat midler til en ny indsats mod "
             "ensomhed. Området myndighed og visitation falder, fordi en del af visitationen flyttes til "
             "hjemmeplejens egne terapeuter.")
    pdf.add_page()
    pdf.para("Forudsætninger", size=13, bold=True)
    pdf.para("Budgettet bygger på befolkningsprognosen fra marts 2025, som viser 312 flere borgere over 80 år i "
             "2026 end i 2025. Der er regnet med en pris- og lønfremskrivning på 3,2 procent.")
    pdf.para("Ansvarlig: Center for Ældre og Handicap", gap=1)
    pdf.para("Godkendt af: Direktionen, 12. august 2025")
    pdf.output(str(out / "budgetnotat-2026-aeldre-og-handicap.pdf"))


MINUTES = [
    ("Punkt 4: Forslag om gratis bus for pensionister",
     [("Stillet af", "Gert Bjerregaard (V), byrådsmedlem"), ("Sagsbehandler", "Lise Kragh, Teknik og Miljø")],
     "Forslagsstilleren ønsker, at borgere over 67 år kan køre gratis med bybusserne uden for myldretiden. "
     "Administrationen har beregnet, at ordningen vil koste 2,4 mio. kr. om året i tabt billetindtægt. "
     "Forslaget har været drøftet i Teknik- og Miljøudvalget, som ikke kunne anbefale det.",
     "Forslaget blev forkastet med 19 stemmer mod 8."),
    ("Punkt 5: Ny legeplads i Vestbyen",
     [("Forslagsstiller", "Anne Mørk (A), formand for Børne- og Ungeudvalget"),
      ("Ansvarlig", "Center for Teknik og Miljø")],
     "Der ønskes en ny legeplads ved Vestbyens Skole, hvor den gamle legeplads blev lukket i 2024 af "
     "sikkerhedshensyn. Anlægsudgiften er anslået til 1,8 mio. kr., som finansieres af anlægspuljen for 2026. "
     "Legepladsen forventes at stå færdig i juni 2026.",
     "Godkendt."),
    ("Punkt 6: Høring om ny ældrepolitik",
     [("Sagsbehandler", "Birgitte Lund, Sundhed og Omsorg"), ("Høringsfrist", "15. december 2025")],
     "Udkastet til en ny ældrepolitik sendes i offentlig høring. Politikken har tre temaer: et aktivt "
     "ældreliv, værdig pleje og et godt samarbejde med de pårørende. Ældrerådet har bidraget til udkastet "
     "gennem to temamøder i foråret.",
     "Udkastet sendes i høring som foreslået."),
    ("Punkt 7: Udpegning til Integrationsrådet",
     [("Indstillet af", "Borgmesteren")],
     "Efter Karsten Thomsens udtræden af byrådet skal der udpeges et nyt medlem til Integrationsrådet for "
     "resten af valgperioden. Venstre har indstillet Maria Sørensen.",
     "Maria Sørensen (V) blev udpeget."),
    ("Punkt 8: Salg af Kildevej 12",
     [("Sagsbehandler", "Peter Winther, Ejendomme")],
     "Kommunen har modtaget et bud på 3,15 mio. kr. for den tidligere børnehave på Kildevej 12. Buddet "
     "ligger over vurderingen på 2,9 mio. kr., og administrationen anbefaler at sælge.",
     "Salget blev godkendt med 26 stemmer mod 1."),
]


def agenda(pdf: Doc, items: list, decided: str, new_page_below: float) -> None:
    """Minutes' items: title, labelled lines, text and decision; a new page once the cursor is below `new_page_below` mm."""
    for title, fields, body, decision in items:
        pdf.para(title, size=12, bold=True, gap=2)
        for label, value in fields:
            pdf.para(f"{label}: {value}", gap=1)
        pdf.ln(2)
        pdf.para(body)
        pdf.para(f"{decided}: {decision}", gap=6)
        if pdf.get_y() > new_page_below:
            pdf.add_page()


def referat(out: Path) -> None:
    pdf = Doc("Byrådet · Referat · 28. oktober 2025", "Side {n} af {nb}")
    pdf.add_page()
    pdf.para("Referat af byrådsmøde 28. oktober 2025", size=18, bold=True, gap=4)
    pdf.para("Mødested: Rådhuset, Byrådssalen", gap=1)
    pdf.para("Mødetid: Kl. 17.00-20.15", gap=1)
    pdf.para("Fraværende: Lars Kirk (O)", gap=5)
    agenda(pdf, MINUTES, "Beslutning", new_page_below=150)
    pdf.output(str(out / "byraadsreferat-2025-10-28.pdf"))


def nyhedsbrev(out: Path) -> None:
    pdf = Doc(None, None)
    pdf.add_page()
    pdf.para("Jobcenter Nordby", size=9, gap=0)
    pdf.para("Torvegade 12", size=9, gap=0)
    pdf.para("4000 Nordby", size=9, gap=6)
    pdf.para("Nyt fra Jobcenter Nordby – efterår 2025", size=18, bold=True, gap=6)
    pdf.set_font("dejavu", "", 10)
    with pdf.text_columns(ncols=2, gutter=8, text_align="LEFT") as cols:
        cols.write("Flere unge i uddannelse\n", )
        cols.write("I første halvår af 2025 begyndte 214 unge under 25 år på en uddannelse efter et forløb i "
                   "jobcentret. Det er 31 flere end i samme periode sidste år. Ungeindsatsen har især haft gode "
                   "resultater med mentorforløb for unge uden en ungdomsuddannelse.\n\n")
        cols.write("Ny virksomhedskonsulent\n")
        cols.write("Fra 1. oktober er Rasmus Friis ansat som virksomhedskonsulent med ansvar for bygge- og "
                   "anlægsbranchen. Han skal hjælpe virksomhederne med at finde arbejdskraft blandt ledige "
                   "i kommunen.\n\n")
        cols.write("Jobmesse i november\n")
        cols.write("Den årlige jobmesse holdes torsdag den 20. november 2025 i Nordby Hallen fra kl. 10 til 15. "
                   "Over 60 virksomheder har allerede meldt sig, blandt andet fra transport, rengøring og "
                   "sundhed.\n\n")
        cols.write("Ledigheden falder\n")
        cols.write("Bruttoledigheden i Nordby var 3,1 procent i august 2025 mod 3,6 procent et år tidligere. "
                   "Faldet er størst blandt dagpengemodtagere over 50 år.\n\n")
        cols.write("Sygedagpenge\n")
        cols.write("Antallet af borgere på sygedagpenge er steget til 1.140. Jobcentret har derfor ansat to "
                   "ekstra sagsbehandlere, så opfølgningssamtalerne kan holdes inden for fristen på otte uger.\n")
    pdf.output(str(out / "nyhedsbrev-jobcenter-efteraar-2025.pdf"))


def verksamhetsplan(out: Path) -> None:
    pdf = Doc(None, "Sida {n} av {nb}")
    pdf.set_title("Verksamhetsplan 2026 för socialförvaltningen")
    pdf.add_page()
    pdf.para("Verksamhetsplan 2026 för socialförvaltningen", size=18, bold=True, gap=4)
    pdf.para("Beslutad av: Socialnämnden, 2025-11-18, § 112", gap=1)
    pdf.para("Handläggare: Karl Berg, utvecklingsstrateg", gap=1)
    pdf.para("Diarienummer: SN 2025/0431", gap=5)
    pdf.para("Socialförvaltningen ska under 2026 arbeta med tre prioriterade mål: fler ska bli självförsörjande, "
             "färre barn ska placeras utanför hemmet och stödet till personer med missbruk ska nå fler unga vuxna. "
             "Målen följs upp i delårsrapporten och i verksamhetsberättelsen.")
    pdf.para("Handlingsplan", size=13, bold=True, gap=2)
    pdf.table_rows(("Åtgärd", "Ansvarig", "Klart senast"), HANDLINGSPLAN, (100, 55, 35))
    pdf.ln(5)
    pdf.para("Budgetramen för förvaltningen är 842 miljoner kronor för 2026, en ökning med 2,8 procent.")
    pdf.output(str(out / "verksamhetsplan-2026-socialforvaltningen.pdf"))


SCAN_PAGES = [
    "Norrby kommun\nKultur- och fritidsnämnden\n\n#Beslut om föreningsbidrag 2026\n\n"
    "Handläggare: Eva Lindqvist\nDiarienummer: KFN 2025/212\n\n"
    "Nämnden har prövat ansökningarna om\nverksamhetsbidrag för 2026 från\n"
    "föreningar i kommunen. Totalt kom 46\nansökningar in, och 41 av dem beviljas.",
    "Beviljade bidrag i urval\n\n"
    "Norrby IF får 85 000 kronor i\nverksamhetsbidrag för ungdomsverksamhet.\n\n"
    "Norrby Scoutkår får 32 000 kronor\ntill läger och utrustning.\n\n"
    "Beslutet kan överklagas till\nförvaltningsrätten inom tre veckor.",
]


def scanned(out: Path) -> None:
    """A two-page 'scan': each page only an image of typed text, no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT_DIR / "DejaVuSans.ttf"), 34)
    big = ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Bold.ttf"), 52)
    pdf = FPDF(format="A4")
    for n, text in enumerate(SCAN_PAGES):
        tmp = out / f"_scan{n}.png"  # fpdf2 keeps one copy of an image per file name
        img = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi
        draw = ImageDraw.Draw(img)
        y = 200
        for line in text.split("\n"):  # a line starting with '#' is the heading, in larger bold type
            f = big if line.startswith("#") else font
            draw.text((160, y), line.lstrip("#"), fill=0, font=f)
            y += (f.size if line.strip() else 24) + 18
        img.save(tmp)
        pdf.add_page()
        pdf.image(str(tmp), x=0, y=0, w=210, h=297)
        tmp.unlink()
    pdf.output(str(out / "beslut-foreningsbidrag-2026-skannad.pdf"))


def takster_html(out: Path) -> None:
    rows = "\n".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in TAKSTER)
    html = f"""<!doctype html><html lang="da"><head><meta charset="utf-8"><title>Takster – Nordby Kommune</title></head>
<body><nav>Forside · Borger · Børn</nav><h1>Takster for dagtilbud 2026</h1>
<p>Byrådet har vedtaget taksterne for dagtilbud for 2026. Taksterne gælder fra 1. januar 2026.</p>
<table><thead><tr><th>Tilbud</th><th>Takst pr. måned 2025</th><th>Takst pr. måned 2026</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<p>Der betales ikke for juli måned.</p></body></html>"""
    (out / "takster-dagtilbud-2026.html").write_text(html, encoding="utf-8")


def avgifter_docx(out: Path) -> None:
    import docx

    d = docx.Document()
    d.add_heading("Avgifter inom äldreomsorgen 2026", level=1)
    d.add_paragraph("Avgifterna gäller från den 1 januari 2026 och beslutades av kommunfullmäktige i november 2025.")
    table = d.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("Insats", "Avgift per timme", "Högsta avgift per månad")):
        cell.text = text
    for row in AVGIFTER:
        for cell, text in zip(table.add_row().cells, row):
            cell.text = text
    d.add_paragraph("Ingen betalar mer än maxtaxan, som är 2 577 kronor per månad.")
    d.save(str(out / "avgifter-aldreomsorg-2026.docx"))


# --- a second held-out set (split test2), written after the rules were chosen on dev and run once on test ---

EMNER = [  # Emne, Ansvarlig enhed, Udvalgsmøde
    ("Ny skolestruktur i Sydby", "Skoleafdelingen", "Januar 2026"),
    ("Evaluering af sommerskolen 2025", "Fritid og Ungdom", "December"),
    ("Kvalitetsrapport for dagtilbud", "Dagtilbud", "Februar 2026"),
    ("Inklusionsstrategi 2026-2030", "PPR", "Marts 2026"),
    ("Budgetopfølgning pr. 31. oktober", "Økonomi", "December"),
    ("Takster for SFO og klub 2026", "Fritid og Ungdom", "November"),
    ("Mad i skolen, forsøgsordning", "Skoleafdelingen", "April 2026"),
    ("Ungdomsskolens lokaler", "Fritid og Ungdom", "Maj 2026"),
    ("Sprogscreening af 3-årige", "Dagtilbud", "Januar 2026"),
    ("Fravær i folkeskolen, status", "Skoleafdelingen", "Februar 2026"),
    ("Forebyggende indsats for udsatte familier", "Familieafdelingen", "Marts 2026"),
    ("Plejefamilier, rekruttering", "Familieafdelingen", "April 2026"),
    ("Legepladsernes sikkerhed", "Dagtilbud", "Juni 2026"),
    ("Kapacitet i vuggestuer i Nordby", "Dagtilbud", "Marts 2026"),
    ("Elevråd og demokrati i skolen", "Skoleafdelingen", "Maj 2026"),
    ("Ungeråd, årsberetning", "Fritid og Ungdom", "Januar 2026"),
    ("Specialklasser, visitation", "PPR", "Februar 2026"),
    ("Skolebuskørsel 2026-2027", "Økonomi", "Juni 2026"),
    ("Lektiecafeer på biblioteket", "Fritid og Ungdom", "August 2026"),
    ("Trivselsmåling 2025, resultater", "Skoleafdelingen", "Marts 2026"),
    ("Digital dannelse i indskolingen", "Skoleafdelingen", "September 2026"),
    ("Naturbørnehave i Vestby", "Dagtilbud", "Oktober 2026"),
    ("Tosprogede elever, undervisningstilbud", "PPR", "April 2026"),
    ("Ferielukning i dagtilbud", "Dagtilbud", "November"),
    ("Musikskolens takster", "Fritid og Ungdom", "December"),
    ("Modtagelsesklasser, kapacitet", "Skoleafdelingen", "Maj 2026"),
    ("Overgang fra dagtilbud til skole", "PPR", "Juni 2026"),
    ("Familiehuset, evaluering", "Familieafdelingen", "Oktober 2026"),
]

INVESTERINGER = [  # Projekt, 2026, 2027, 2028, 2029 (mio. kr.)
    ("Renovering af Nordby Skole", "12,0", "18,5", "6,0", "0,0"),
    ("Cykelstier", "4,0", "4,0", "4,0", "5,5"),
    ("Ny daginstitution i Vestby", "2,5", "21,0", "14,0", "0,0"),
    ("Energirenovering af rådhuset", "3,0", "3,0", "2,0", "2,0"),
    ("Kunstgræsbane ved Sydby Hallen", "0,0", "6,8", "0,0", "0,0"),
]


def emner(out: Path) -> None:
    pdf = Doc("Kommende sager – Børn og Unge 2026", "Side {n} af {nb}")
    pdf.set_title("Dokument1")
    pdf.add_page()
    pdf.para("Til: Børne- og Ungeudvalget", gap=1)
    pdf.para("Fra: Forvaltningen for Børn og Unge", gap=5)
    pdf.para("Listen viser emner, som forvaltningen forventer at forelægge udvalget. Datoerne er vejledende.")
    pdf.table_rows(("Emne", "Ansvarlig enhed", "Udvalgsmøde"), EMNER, (95, 50, 45), padding=3.5)
    pdf.output(str(out / "kommende-sager-boern-og-unge-2026.pdf"))


PROTOKOLL = [
    ("§ 141 Ny simhall i Norrby",
     [("Föredragande", "Lena Ek, ekonomichef"), ("Diarienummer", "KS 2025/188")],
     "Kommunstyrelsen har låtit utreda en ny simhall vid Norrby idrottsplats. Kostnaden beräknas till 210 miljoner "
     "kronor och hallen kan stå klar 2029.",
     "Kommunstyrelsen föreslår kommunfullmäktige att bygga simhallen."),
    ("§ 142 Försäljning av Tallbacken 3",
     [("Föredragande", "Johan Nyberg, mark- och exploateringschef")],
     "Fastigheten Tallbacken 3 har varit till salu sedan våren. Det högsta budet är 4,6 miljoner kronor från "
     "Norrby Bostäder AB.",
     "Kommunstyrelsen godkänner försäljningen."),
    ("§ 143 Val av ny ledamot i krisledningsnämnden",
     [("Föredragande", "Kommundirektören")],
     "Efter att Anna Berg har lämnat sitt uppdrag ska en ny ledamot väljas för resten av mandatperioden.",
     "Kommunstyrelsen väljer Oskar Lind (M) till ledamot."),
]


def protokoll(out: Path) -> None:
    pdf = Doc("Kommunstyrelsen · Protokoll · 2025-11-12", "Sida {n} av {nb}")
    pdf.add_page()
    pdf.para("Protokoll från kommunstyrelsens sammanträde 12 november 2025", size=16, bold=True, gap=4)
    pdf.para("Plats: Stadshuset, sammanträdesrummet Ekan", gap=1)
    pdf.para("Justerare: Per Holm (S)", gap=1)
    pdf.para("Sekreterare: Maja Åberg", gap=5)
    agenda(pdf, PROTOKOLL, "Beslut", new_page_below=0)
    pdf.para("Protokollet justeras den 19 november 2025.")
    pdf.output(str(out / "protokoll-kommunstyrelsen-2025-11-12.pdf"))


def investeringsplan(out: Path) -> None:
    pdf = Doc(None, "Side {n}")
    pdf.add_page()
    pdf.para("Investeringsplan 2026-2029", size=18, bold=True, gap=4)
    pdf.para("Planen viser de anlægsprojekter, som byrådet har afsat midler til i budgetaftalen. Beløbene er i "
             "mio. kr. i 2026-priser.")
    pdf.table_rows(("Projekt", "2026", "2027", "2028", "2029"), INVESTERINGER, (70, 30, 30, 30, 30), borders="NONE")
    pdf.ln(4)
    pdf.para("Projekterne følges op i forbindelse med regnskabet.")
    pdf.output(str(out / "investeringsplan-2026-2029.pdf"))


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("eval/out/pdfs/corpus")
    out.mkdir(parents=True, exist_ok=True)
    for make in (sager_paa_vej, budgetnotat, referat, nyhedsbrev, verksamhetsplan, scanned, takster_html, avgifter_docx,
                 emner, protokoll, investeringsplan):
        make(out)
    print(f"wrote {len(list(out.iterdir()))} documents to {out}")


if __name__ == "__main__":
    main()
