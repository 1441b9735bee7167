"""The documents' grammar: how a line of a source document shows what it is (a heading, a
numbered paragraph, an item, a bullet, a caption, a footnote, page furniture, a part of the
guidelines' annexes, a resolution's enacting formula, a conference's speaker).

Each pattern is defined once, here: the parsers (`layout`, `un_structure`, `guidelines`,
`resolution`, `conference`) and `citations`, which finds a passage the way a reader does,
read the same grammar, so they cannot drift apart. Patterns apply to a stripped line unless
their comment says otherwise. What a passage means (the actor a measure addresses, a bare
lead-in, a city's practice) is judged by the module that needs it, not here; inline markup
and footnote markers are `clean`'s.
"""

from __future__ import annotations

import re

# -- page furniture and footnotes -----------------------------------------------------------
# A bare page number: "12".
PAGE_NUMBER_RE = re.compile(r"^\s*\d{1,4}\s*$")
# A UN document symbol alone on its line (the running page header): "HSP/HA.2/14".
SYMBOL_LINE_RE = re.compile(r"^\s*[A-Z]{1,6}(?:/[A-Za-z0-9.]+){1,5}\s*$")
# A line that is only a URL (PDF link annotations dumped at page ends), maybe in markdown's
# angle brackets: "<https://…>".
URL_LINE_RE = re.compile(r"^\s*<?(https?://|www\.)\S+>?\s*$")
# A markdown horizontal rule: "---", "***", "___".
RULE_RE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
# A footnote in flowing text, opened by its label: "¹ Voir …", "<sup>1</sup> CEB/…", "\* HSP/EB.2020/19."
FLOW_NOTE_RE = re.compile(
    r"^\s*(?:(?P<sup>[¹²³⁴⁵⁶⁷⁸⁹⁰]+)|<sup>\s*(?P<tag>\d+)\s*</sup>|(?P<star>(?:\\?\*){1,4}))\s+(?P<text>\S.*)$"
)
# A footnote in hard-wrapped text, opened by its label: "28 Résolution 2/4 …", "* HSP/HA.2/12."
HARD_NOTE_RE = re.compile(r"^(?:(?P<num>\d{1,3})|(?P<star>\*{1,4}))\s+(?P<text>\S.*)$")

# -- headings -------------------------------------------------------------------------------
# A markdown heading: "## Titre"; group 1 its hashes, group 2 its text.
MD_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*\S)\s*$")
# A whole line in bold, a heading in converted documents: "**I. Objet**"; group 1 its text.
BOLD_LINE_RE = re.compile(r"^\*\*([^*].*?)\*\*\s*$")
# A part heading: "II. Directives internationales …"; group 1 the numeral, group 2 the title.
ROMAN_HEADING_RE = re.compile(r"^([IVXL]{1,6})\.\s+(\S.*)$")
# A chapter heading: "A. Piliers thématiques"; group 1 the letter, group 2 the title.
LETTER_HEADING_RE = re.compile(r"^([A-Z])\.\s+(\S.*)$")
# The numbering a heading opens with, as the eye sees it: "II.", "A.", "1.", "a)" or "(a)".
HEADING_TOKEN_RE = re.compile(r"^(?:[IVXL]+|[A-Z]|\d{1,2}|\(?[a-z]\)?)[.)]?\s+\S")
# A caption line: "Figure 1", "Tableau 2 : …"; the figure itself is not text.
CAPTION_RE = re.compile(r"^(Figure|Tableau|Table|Graphique|Encadré|Box|Chart)\s+\d+\b.{0,120}$")

# -- numbered paragraphs, items and lists ---------------------------------------------------
# "40. Les collectivités …": a numbered paragraph (or numbered heading); group 1 its number,
# the match ends where its text starts.
PARA_RE = re.compile(r"^(\d{1,3})\.\s+(?=\S)")
# "b) Utiliser …" or "(b) Use …": a lettered item or a roman sub-item; group 1 its letter
# or numeral, the match ends where its text starts.
ITEM_RE = re.compile(r"^\(?([a-z]{1,4})\)\s+(?=\S)")
# A list bullet and its space: "- ", "– ", "* ", "• ", "▪ ", "◦ " (also the markdown dash
# that may stand in front of an item marker: "- b) Veiller …").
BULLET_RE = re.compile(r"^\s*[-–*•▪◦]\s+")
# Roman numerals of sub-items, in order: "i)" after "h)" is an item, after a colon a sub-item.
ROMANS = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")

# -- guidelines -----------------------------------------------------------------------------
# A pillar group heading, with or without its letter: "A. Piliers thématiques" / "Thematic pillars".
THEMATIC_RE = re.compile(r"^(?:[A-Z]\.\s+)?(Piliers thématiques|Thematic pillars)\b", re.I)
# "B. Piliers habilitants" / "Enabling pillars".
ENABLING_RE = re.compile(r"^(?:[A-Z]\.\s+)?(Piliers habilitants|Enabling pillars)\b", re.I)
# A pillar heading: "1. Prospérité partagée"; group 1 its number, the match ends at its title.
PILLAR_HEADING_RE = re.compile(r"^(\d)\.\s+(?=\S)")
# Either half of a pillar, a heading of its own: "a) Principes", "(b) Measures:".
HALF_HEADING_RE = re.compile(r"^\(?[a-z]\)\s+(Principes|Mesures|Principles|Measures)\s*:?\s*$", re.I)
# The principles half: "a) Principes", "(a) Principles".
PRINCIPLES_RE = re.compile(r"^\(?[a-z]\)\s+(Principes|Principles)\s*:?\s*$", re.I)
# The measures half: "b) Mesures", "(b) Measures".
MEASURES_RE = re.compile(r"^\(?[a-z]\)\s+(Mesures|Measures)\s*:?\s*$", re.I)
# The step table's header, repeated on each page: "Étape Objectif Mesures" / "Step Objectives Measures".
STEP_TABLE_HEADER_RE = re.compile(
    r"^\s*(Étape|Etape|Step)\s+(Objectif|Objective)s?\s+(Mesures|Measures|Actions)\s*$", re.I
)
# A step of the table: "Étape 1 : Analyses de référence"; group 1 its number, group 2 its title.
STEP_RE = re.compile(r"^\s*(?:Étape|Etape|Step)\s+(\d+)\s*:\s*(.+)$", re.I)
# A measure of a step: "Mesure 1.1 : Analyse :"; group 1 its number, group 2 the title's start.
STEP_MEASURE_RE = re.compile(r"^\s*(?:Mesure|Measure|Action)\s+(\d+\.\d+)\s*:?\s*(.*)$", re.I)
# The annex heading that the glossary's title follows: "Annexe", "Annex".
ANNEX_RE = re.compile(r"^\s*(Annexe|Annex)\b", re.I)
# The glossary's title: "Glossaire", "Glossary".
GLOSSARY_RE = re.compile(r"^\s*(Glossaire|Glossary)\s*$", re.I)
# The glossary's header, repeated on each page: "Terme Définition" / "Term Definition".
GLOSSARY_HEADER_RE = re.compile(r"^\s*(Terme|Term)\s+(Définition|Definition)\s*$", re.I)
# A glossary term alone on its line is at most this long.
MAX_TERM_LINE = 40
# A glossary term is at most this many words (its definition opens with a capital after it).
MAX_TERM_WORDS = 6

# -- resolutions ----------------------------------------------------------------------------
# The enacting formula, which ends with a comma: "L'Assemblée du Programme …," / "The … Assembly …,".
ENACTING_RE = re.compile(r"^(L[’']Assemblée|Le Conseil|The\b.*\b(Assembly|Council))\b.*,\s*$")
# A resolution's number and title: "2/1. Directives internationales …".
RESOLUTION_TITLE_RE = re.compile(r"^\d+/\d+\.\s+\S")

# -- conference reports ---------------------------------------------------------------------
# Pieces of the two patterns below: an honorific and its comma ("SE, ", "H.E. "), a moderator's title.
_HONORIFIC = r"(SE|S\.E\.|H\.E\.),?\s+"
_MODERATOR = r"Modération|Moderation|Moderator"
# The honorific before a speaker's name: "SE, ", "S.E. ", "H.E. "; group 1 without comma or space.
HONORIFIC_RE = re.compile(rf"^{_HONORIFIC}")
# A speaker line (in markdown, a heading or a bold line): "Monsieur …", "Mme …", "SE, M. …",
# "H.E. Mr. …", "Modération : …", "Moderator: …".
SPEAKER_RE = re.compile(
    rf"^(?:{_HONORIFIC})?(Monsieur|Madame|Mme|Mlle|M\.|Mr\.?|Mrs\.?|Ms\.?|Dr\.?|Pr\.?|Professeur|{_MODERATOR})(?=[\s:,*])"
)
# A moderator, maybe with a colon: "Modération : …", "Moderator …"; group 1 the title, the
# match ends where the name starts when a colon follows it.
MODERATOR_RE = re.compile(rf"^({_MODERATOR})(?:\s*:\s*|\b)")
