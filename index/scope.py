"""Is the query about something the corpus covers? The no-good-match signal.

multilingual-e5 puts almost every pair of texts between 0.7 and 0.9 cosine, so the best
match's similarity alone hardly separates "floods arrive without warning" (0.80) from
"a recipe for chocolate cake" (0.79). What does separate them is whether the query is
closer to the corpus than to everyday topics the corpus does not cover: the margin
between the best chunk and the best of a fixed set of off-topic anchors (cooking,
sports, weather, health, …, in French and English). The anchors are embedded with the
index at build time; the threshold was set on probe queries (see the project notes)
and is a property of the model, so it is kept per model id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from index.models import SearchResult

# Everyday topics outside urban digital policy, one French and one English line each.
OFF_TOPIC_ANCHORS: tuple[str, ...] = (
    "Recette de cuisine : ingrédients, cuisson au four, dessert.",
    "Cooking recipe: ingredients, baking, dessert.",
    "Résultats sportifs, matchs de football et classement du championnat.",
    "Sports results, football matches and league standings.",
    "Prévisions météo : pluie, soleil et températures pour demain.",
    "Weather forecast: rain, sunshine and temperatures tomorrow.",
    "Santé : symptômes, maladies, médicaments et conseils médicaux.",
    "Health: symptoms, diseases, medicines and medical advice.",
    "Voyage et tourisme : hôtels, vols et vacances.",
    "Travel and tourism: hotels, flights and holidays.",
    "Animaux de compagnie : chiens, chats, dressage et soins.",
    "Pets: dogs, cats, training and care.",
    "Bricolage et réparations à la maison : vélo, plomberie, outils.",
    "DIY and home repairs: bicycles, plumbing, tools.",
    "Divertissement : films, séries, musique et célébrités.",
    "Entertainment: films, series, music and celebrities.",
    "Achats et mode : vêtements, chaussures, promotions.",
    "Shopping and fashion: clothes, shoes, discounts.",
    "Relations amoureuses, mariage et vie de famille.",
    "Dating, marriage and family life.",
    "Jeux vidéo, jeux de société, consoles et astuces de jeu.",
    "Video games, board games, consoles and gaming tips.",
    "Mathématiques, devoirs scolaires et exercices.",
    "Mathematics homework and school exercises.",
    "Finances personnelles : impôts, épargne, bourse et placements.",
    "Personal finance: taxes, savings, stock market and investing.",
    "Jardinage : plantes, potager, semis et arrosage.",
    "Gardening: plants, vegetable patch, sowing and watering.",
    "Histoire, géographie et culture générale.",
    "History, geography and general knowledge trivia.",
    "Musique et loisirs : apprendre un instrument, chanter, peindre.",
    "Music and hobbies: learning an instrument, singing, painting.",
    "Emploi personnel : CV, lettre de motivation, entretien d'embauche.",
    "Personal job search: CV, cover letter, job interview.",
    "Électronique grand public : choisir un téléphone, un ordinateur, un forfait.",
    "Consumer electronics: choosing a phone, a laptop, a mobile plan.",
)

# model id -> (margin at which confidence is 0.5, slope of the logistic)
CALIBRATION = {"multilingual-e5-small": (0.0, 100.0)}
DEFAULT_CALIBRATION = (0.0, 100.0)


@dataclass(frozen=True)
class Scope:
    in_scope: bool
    confidence: float  # 0..1: how likely the best results answer the query
    reason: str


def assess_scope(result: SearchResult, model_id: str = "multilingual-e5-small") -> Scope:
    if not result.hits:
        return Scope(False, 0.0, "nothing in the corpus matches this query and these filters")
    best = max((h.dense_score for h in result.hits if h.dense_score is not None), default=None)
    if best is None or result.off_topic_score is None:
        return Scope(True, 0.5, "lexical search only: no confidence estimate")
    midpoint, slope = CALIBRATION.get(model_id, DEFAULT_CALIBRATION)
    margin = best - result.off_topic_score
    confidence = 1.0 / (1.0 + math.exp(-slope * (margin - midpoint)))
    if confidence >= 0.5:
        return Scope(True, confidence, f"best passage similarity {best:.3f}, margin {margin:+.3f} over off-topic anchors")
    return Scope(
        False,
        confidence,
        f"the closest passages are weak matches (similarity {best:.3f}, {margin:+.3f} against "
        "everyday off-topic subjects): the guidelines may not cover this problem",
    )
