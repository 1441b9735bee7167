"""Ingestion of the real corpus: structure, ids, stitching, cleaning. Counts were checked
against the source texts (see the comments)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from boussole.ingest.manifest import load_manifest
from boussole.ingest.models import PILLARS
from boussole.ingest.pipeline import document_text, ingest_corpus

GUIDE = "hsp-ha-2-14"
RES = "hsp-ha-2-res-1"
ROADMAP = "hsp-eb-2023-16"
STRATEGY = "eb-2020-partnership"
CONF = "aimf-2025-hue"
URL_RE = re.compile(r"https?://|www\.")


@pytest.fixture(scope="module")
def by_id(corpus_chunks):
    return {c.id: c for c in corpus_chunks}


def of(chunks, doc_id):
    return [c for c in chunks if c.doc_id == doc_id]


def test_all_documents_ingest_without_errors(ingest_report):
    assert ingest_report.errors == []
    originals = [GUIDE, RES, ROADMAP, STRATEGY, CONF]
    assert [d.id for d in ingest_report.documents] == originals + [f"{d}-en" for d in originals]
    assert [d.version_of for d in ingest_report.documents] == [None] * 5 + originals


def test_chunk_counts_per_document_and_kind(corpus_chunks):
    counts = {doc: Counter(c.kind for c in of(corpus_chunks, doc)) for doc in (GUIDE, RES, ROADMAP, STRATEGY, CONF)}
    # 002: 237 lettered items = 40 principles + 176 measures + 21 others, of which the
    # enumerations 6.a–f and 84.a–c are read with their paragraph (6, 84): 12 item chunks
    # left (12.a–d, 24.a–b, 86.a–f); 33 glossary terms; 8 table measures (1.1 … 3.3).
    # Measures: the 176 lettered ones and the 6 joint paragraphs addressed to all actors
    # together (32, 38, 44, 51, 73, 74).
    assert counts[GUIDE] == {
        "measure": 182,
        "principle": 40,
        "paragraph": 65,
        "definition": 33,
        "implementation-step": 8,
    }
    joint = sorted((c.id for c in of(corpus_chunks, GUIDE) if c.actor == "joint"), key=lambda i: int(i.split(":")[1]))
    assert joint == [f"{GUIDE}:{n}" for n in (32, 38, 44, 51, 73, 74)]
    # Res. 2/1: 10 preambular clauses; operative 1 (lead-in) + 1 (a)–(g) + 2–9.
    assert counts[RES] == {"preamble": 10, "paragraph": 16}
    assert counts[ROADMAP] == {"paragraph": 21}
    # 17 paragraphs (3 and 4 only as items; 5 with its enumeration a–h), items 3 a–g,
    # 4 a–e, 8 table rows.
    assert counts[STRATEGY] == {"paragraph": 35}
    # 17 paragraphs tell a city's practice (Phnom Penh, Huế, Siem Reap, Tiznit, Namur,
    # Preah Sihanouk, Tunis); 20 frame, ask or conclude.
    assert counts[CONF] == {"city-example": 17, "paragraph": 20}


def test_guidelines_paragraphs_1_to_86_all_present(corpus_chunks):
    numbers = {int(c.paragraph) for c in of(corpus_chunks, GUIDE) if c.paragraph}
    assert numbers == set(range(1, 87))


def test_eight_pillars_each_with_principles_and_measures(corpus_chunks):
    guide = of(corpus_chunks, GUIDE)
    principles = Counter(c.pillar for c in guide if c.kind == "principle")
    measures = Counter(c.pillar for c in guide if c.kind == "measure")
    assert set(principles) == set(PILLARS) and set(measures) == set(PILLARS)
    assert principles == {
        "thematic-1": 6,
        "thematic-2": 5,
        "thematic-3": 5,
        "thematic-4": 5,
        "enabling-1": 4,
        "enabling-2": 5,
        "enabling-3": 5,
        "enabling-4": 5,
    }
    assert all(c.actor in ("national", "local-regional", "stakeholders", "joint") for c in guide if c.kind == "measure")
    assert all(c.actor is None for c in guide if c.kind == "principle")


def test_actor_of_paragraphs_33_34_35(corpus_chunks):
    guide = of(corpus_chunks, GUIDE)
    actors = {p: {c.actor for c in guide if c.paragraph == p and c.kind == "measure"} for p in ("33", "34", "35")}
    assert actors == {"33": {"national"}, "34": {"local-regional"}, "35": {"stakeholders"}}
    assert [c.item for c in guide if c.paragraph == "33"] == list("abcdef")
    assert [c.item for c in guide if c.paragraph == "34"] == list("abcdefghijk")


def test_principle_and_measure_ids_citations_and_context(by_id):
    principle = by_id["hsp-ha-2-14:31.a"]
    assert principle.kind == "principle" and principle.pillar == "thematic-1"
    # under the unnumbered "a) Principes" heading that follows paragraph 31, not inside it
    assert principle.citation == (
        "HSP/HA.2/14, pilier thématique 1 (Prospérité partagée), principe a), après le para. 31"
    )
    assert by_id["hsp-ha-2-14:72.e"].citation == (
        "HSP/HA.2/14, pilier habilitant 3 (Habileté numérique et développement des compétences), "
        "principe e), après le para. 72"
    )
    assert principle.text.startswith("Les villes intelligentes centrées sur les personnes favorisent")
    measure = by_id["hsp-ha-2-14:40.b"]
    assert measure.citation == "HSP/HA.2/14, para. 40 (b)"
    assert (measure.paragraph, measure.item, measure.pillar, measure.actor) == (
        "40",
        "b",
        "thematic-2",
        "local-regional",
    )
    assert "Durabilité, résilience et réponse aux crises" in measure.context
    assert "Les collectivités locales et régionales" in measure.context
    assert "Les collectivités locales" not in measure.text
    assert measure.section[-2:] == ["2. Durabilité, résilience et réponse aux crises", "b) Mesures"]


def test_bare_lead_ins_are_context_not_chunks(by_id):
    # "Les pouvoirs publics nationaux … sont encouragés à :" only introduces the measures.
    assert "hsp-ha-2-14:33" not in by_id
    # A lead-in with content of its own is kept (operative paragraph 1 of the resolution).
    assert by_id["hsp-ha-2-res-1:1"].text.startswith("Prie la Directrice exécutive")


def _no_footnote_text(chunk):
    assert not URL_RE.search(chunk.text)
    assert "ONU-Habitat, World Smart Cities Outlook" not in chunk.text
    assert not re.search(r"\b(Résolution 2/4|Convention-cadre|Par exemple, en adoptant)", chunk.text)


def test_item_40b_stitched_across_footnotes_28_to_31(by_id):
    chunk = by_id["hsp-ha-2-14:40.b"]
    assert chunk.text.startswith(
        "Utiliser des plateformes numériques pour la prévention, l’atténuation et la préparation aux catastrophes urbaines"
    )
    assert chunk.text.rstrip(" ;").endswith("les systèmes d’alerte précoce et le suivi en temps réel des crises")
    _no_footnote_text(chunk)
    assert "\n" not in chunk.text
    assert chunk.notes == ["32 Par exemple, les jumeaux numériques locaux, les observatoires urbains, etc."]


def test_paragraph_20_definition_stitched(by_id):
    chunk = by_id["hsp-ha-2-14:20"]
    assert chunk.text.startswith(
        "Aux fins des présentes directives, « une ville intelligente centrée sur les personnes tire parti"
    )
    assert "Elle permet de veiller à ce que les innovations" in chunk.text  # the two halves, joined
    assert chunk.text.endswith("plutôt que de devenir l’objectif lui-même ».")
    _no_footnote_text(chunk)
    assert "expert(e)s" not in chunk.text  # footnotes 15–18 sat in the middle


def test_item_76d_stitched(by_id):
    chunk = by_id["hsp-ha-2-14:76.d"]
    assert chunk.text.startswith("Établir des partenariats et des stratégies d’investissement")
    assert "accroître les capacités financières des organismes gouvernementaux et des autorités locales" in chunk.text
    assert chunk.text.rstrip(" ;").endswith("des fonctionnaires et des résidentes et résidents")
    _no_footnote_text(chunk)


def test_footnote_markers_removed_numbers_kept(by_id):
    p1, p2 = by_id["hsp-ha-2-14:1"], by_id["hsp-ha-2-14:2"]
    assert "2,8 milliards de personnes qui n’ont pas accès à un logement convenable, les solutions" in p1.text
    assert "particulièrement préoccupante. Aujourd’hui, 2,6 milliards" in p2.text
    assert "39 % de la population mondiale" in p2.text
    assert p1.notes == ["1 ONU-Habitat, SDG11 Synthesis Report 2022, https://unhabitat.org/sdg-11-synthesis-report."]
    assert [n.split()[0] for n in p2.notes] == ["2", "3", "4", "5"]
    # every one of the 67 footnotes of 002 is attached to exactly one chunk
    labels = [n.split()[0] for c in by_id.values() if c.doc_id == GUIDE for n in c.notes]
    assert sorted(labels, key=int) == [str(i) for i in range(1, 68)]


def test_superscript_and_sup_tag_footnotes(by_id):
    clause = by_id["hsp-ha-2-res-1:pp.7"]
    assert "Nouveau Programme pour les villes et réaffirmant" in clause.text
    assert clause.notes == ["2 Résolution 71/256 de l'Assemblée générale, annexe."]
    assert "²" not in clause.text
    p7 = by_id["eb-2020-partnership:7"]
    assert "<sup>" not in p7.text and p7.notes == ["2 Ibid."]


def test_glossary_terms_are_definitions(by_id, corpus_chunks):
    terms = [c for c in of(corpus_chunks, GUIDE) if c.kind == "definition"]
    assert len(terms) == 33
    chunk = by_id["hsp-ha-2-14:glossary.accord-de-partage-des-donnees"]
    assert chunk.citation == "HSP/HA.2/14, annexe (glossaire) : Accord de partage des données"
    assert chunk.text.startswith("Accord de partage des données : Un contrat formel")
    twins = by_id["hsp-ha-2-14:glossary.interoperabilite"]  # cut by a page break and a repeated header
    assert twins.text.endswith("régis par des accords ou des cadres juridiques spécifiques.")
    assert "Terme Définition" not in twins.text
    assert "hsp-ha-2-14:glossary.dechets-dequipements-electriques-et-electroniques" in by_id


def test_implementation_measures(by_id, corpus_chunks):
    steps = [c for c in of(corpus_chunks, GUIDE) if c.kind == "implementation-step"]
    assert [c.id.split(":")[1] for c in steps] == [
        "step.1.1",
        "step.1.2",
        "step.1.3",
        "step.2.1",
        "step.2.2",
        "step.3.1",
        "step.3.2",
        "step.3.3",
    ]
    first = by_id["hsp-ha-2-14:step.1.1"]
    assert first.citation == "HSP/HA.2/14, étape de mise en œuvre 1, mesure 1.1"
    assert first.text.startswith("Mesure 1.1 : Analyse\n• Analyser l’état actuel de l’infrastructure numérique")
    assert "Étape 1 : Analyses de référence" in first.context
    assert by_id["hsp-ha-2-14:step.1.3"].text.startswith("Mesure 1.3 : Territorialisation des directives")
    # the table sits between paragraphs 85 and 86, in document order
    ids = [c.id for c in of(corpus_chunks, GUIDE)]
    assert ids.index("hsp-ha-2-14:85") < ids.index("hsp-ha-2-14:step.1.1") < ids.index("hsp-ha-2-14:86.a")


def test_resolution_preamble_and_operative(by_id, corpus_chunks):
    res = of(corpus_chunks, RES)
    preamble = [c for c in res if c.kind == "preamble"]
    assert [c.id for c in preamble] == [f"hsp-ha-2-res-1:pp.{n}" for n in range(1, 11)]
    assert [c.citation for c in preamble] == [f"HSP/HA.2/Res.1, préambule, alinéa {n}" for n in range(1, 11)]
    assert preamble[4].text.startswith("Réaffirmant les cibles 17.6 et 17.8")
    assert "pleinement opérationnels d'ici à 2017" in preamble[4].text  # stitched over footnote 1
    assert "Voir la recommandation" not in preamble[4].text
    item = by_id["hsp-ha-2-res-1:1.a"]
    assert item.citation == "HSP/HA.2/Res.1, para. 1 (a)"
    assert [c.id.split(":")[1] for c in res if c.kind != "preamble"] == ["1"] + [f"1.{x}" for x in "abcdefg"] + [
        str(n) for n in range(2, 10)
    ]
    assert by_id["hsp-ha-2-res-1:2"].text.startswith("Encourage les États Membres")  # *Encourage*: no markup


def test_roadmap_markup_table_and_lead_in(by_id):
    item = by_id["hsp-eb-2023-16:7.a"]
    assert item.text.startswith("Au niveau mondial : en septembre 2023")
    assert "**" not in item.text and item.notes == []
    p10 = by_id["hsp-eb-2023-16:10"]
    assert "<i>" not in p10.text and "World Smart Cities Outlook" in p10.text
    assert p10.text.count("Étape\tDescription") == 0 and "\t" not in p10.text
    assert by_id["hsp-eb-2023-16:11"].text.endswith("Parmi ces défis, on peut citer les suivants :")


def test_strategy_html_table_rows(by_id):
    row = by_id["eb-2020-partnership:table.3"]
    assert row.text.startswith("3. Organismes des Nations Unies")
    # the row continues after a page break: both halves are in one chunk, tags gone
    assert "renforcement de la gouvernance urbaine" in row.text
    assert "soit présente et entendue" in row.text
    assert not re.search(r"</?(ol|li|p|i)\b", row.text)


def test_conference_speakers_and_sections(by_id, corpus_chunks):
    conf = of(corpus_chunks, CONF)
    assert [c.id for c in conf] == [f"aimf-2025-hue:p{n}" for n in range(1, 38)]
    tunis = [c for c in conf if "Tunis, Tunisie" in " ".join(c.section)]
    assert tunis and all("M. Karim El-Ouerdani" in c.citation for c in tunis)
    siem = [c for c in conf if c.section[-1].startswith("Siem Reap")]
    assert siem and all("SE M. Kimleang ING" in c.citation for c in siem)
    hue = by_id["aimf-2025-hue:p12"]
    assert hue.citation == (
        "AIMF, conférence de Huế 2025 (compte-rendu), Huế, Vietnam : Numérique citoyen et "
        "participation active, 1er paragraphe — Monsieur NGUYỄN DƯƠNG ANH"
    )
    assert hue.section[0].startswith("3. Quelles stratégies")
    qa = by_id["aimf-2025-hue:p21"]
    assert qa.text.startswith("⇒ Quel modèle économique") and "\nLa question du modèle économique" in qa.text
    assert all("**" not in c.text and not c.text.startswith("-") for c in conf)


def test_no_chunk_is_only_heading_url_or_footnote(corpus_chunks):
    for c in corpus_chunks:
        text = c.text.strip()
        assert len(text) >= 10, c.id
        assert not URL_RE.fullmatch(text.split()[0]) or len(text.split()) > 3, c.id
        assert not re.fullmatch(r"([IVX]+|[A-H]|\d+)\.\s+\S.{0,80}", text), c.id  # a bare heading
        assert not re.match(r"^(\d{1,3}|[¹²³])\s+(Résolution|Assemblée générale|ONU-Habitat,)", text), c.id
        assert "HSP/HA.2/14\n" not in text and not re.search(r"<[a-z]+[^>]*>|\*\*", text), c.id
    assert not any(c.text.startswith("Rapport de la Directrice exécutive") for c in corpus_chunks)


def test_text_is_clean_and_lengths_bounded(corpus_chunks):
    for c in corpus_chunks:
        assert "  " not in c.text and not c.text.startswith(" "), c.id
        assert c.lang == ("en" if c.translation else "fr"), c.id
    long = {c.id for c in corpus_chunks if len(c.text) > 2000}
    # only a paragraph carrying its timeline table and three table rows exceed 2,000
    # characters (in English, the shorter third row does not)
    assert long == {
        "hsp-eb-2023-16:10",
        "eb-2020-partnership:table.1",
        "eb-2020-partnership:table.2",
        "eb-2020-partnership:table.3",
        "hsp-eb-2023-16-en:10",
        "eb-2020-partnership-en:table.1",
        "eb-2020-partnership-en:table.2",
    }


def test_ids_and_texts_stable_across_runs(corpus_dir, corpus_chunks):
    again = ingest_corpus(corpus_dir).chunks
    assert [(c.id, c.text, c.lang, c.notes) for c in again] == [(c.id, c.text, c.lang, c.notes) for c in corpus_chunks]
    assert len({c.id for c in corpus_chunks}) == len(corpus_chunks)
    assert [c.order for c in of(corpus_chunks, GUIDE)] == list(range(len(of(corpus_chunks, GUIDE))))


def test_document_text_is_plain_clean_text(corpus_dir):
    doc = next(d for d in load_manifest(corpus_dir) if d.id == GUIDE)
    text = document_text(doc, corpus_dir)
    assert "\n\n" in text and not URL_RE.search(text)
    assert "Utiliser des plateformes numériques pour la prévention" in text
    assert "Résolution 2/4 de l’Assemblée" not in text  # footnote 28
    assert "convenable1" not in text and "HSP/HA.2/14" not in text


def test_no_fragments_short_enumerations_stay_with_their_paragraph(by_id, corpus_chunks):
    short = {c.id: c.text for c in corpus_chunks if len(c.text) < 60 and c.kind != "definition"}
    assert short == {}
    p84 = by_id["hsp-ha-2-14:84"]
    assert p84.citation == "HSP/HA.2/14, para. 84"
    assert p84.text.endswith(
        "trois étapes clés :\na) Analyses de référence ;\nb) Renforcement des capacités ;\nc) Mise en œuvre et suivi."
    )
    assert "hsp-ha-2-14:84.a" not in by_id and "eb-2020-partnership:5.e" not in by_id
    assert "\ne) Secteur privé ;\n" in by_id["eb-2020-partnership:5"].text
    assert by_id["hsp-ha-2-14:6"].text.endswith("\nf) L’annexe présente un glossaire.")
    # lists of full sentences keep one chunk per item
    assert "hsp-ha-2-14:86.a" in by_id and "hsp-ha-2-14:12.d" in by_id


CITIES = ("Phnom Penh", "Huế", "Siem Reap", "Tiznit", "Namur", "Preah Sihanouk", "Sihanoukville", "Tunis")


def test_city_examples_are_a_citys_practice(corpus_chunks):
    conf = of(corpus_chunks, CONF)
    examples = [c for c in conf if c.kind == "city-example"]
    assert examples and all(c.kind in ("city-example", "paragraph") for c in conf)
    for c in examples:  # each names its city, in its text, its section or its speaker's line
        assert any(city in " ".join([c.text, *c.section, c.context]) for city in CITIES), c.id
        assert "Modération" not in c.context and not c.text.startswith("⇒"), c.id

    def kind_of(quote):
        (chunk,) = [c for c in conf if quote in c.text]
        return chunk.kind

    # practice, also outside a city's own section
    assert kind_of("L'expérience de Phnom Penh illustre") == "city-example"
    assert kind_of("Nous avons lancé plusieurs projets concrets") == "city-example"
    assert kind_of("À Tiznit, plusieurs projets") == "city-example"
    assert kind_of('L\'application "Huế S"') == "city-example"
    # the moderators' framing and questions, the Q&A, the conclusions, general views: not
    assert kind_of("Quels en sont les processus d'élaboration ?") == "paragraph"
    assert kind_of("Quel modèle économique est recommandé") == "paragraph"
    assert kind_of("y-a-t-il des collaborations avec le secteur universitaire ?") == "paragraph"
    assert kind_of("Les expériences partagées, de Phnom Penh à Namur") == "paragraph"
    assert kind_of("Ce qui fonctionne à Namur ou à Tunis ne peut être simplement copié") == "paragraph"
    assert kind_of("il n'existe pas de stratégie nationale unique") == "paragraph"
