"""What the service says in words, in the reader's language.

The index states its scope verdict in English (`index.scope`); the service shows it in
the language of the answer. A language without an entry here falls back to English.
"""

from __future__ import annotations

from boussole.index.scope import (
    IN_SCOPE_REASON,
    LEXICAL_ONLY_REASON,
    NO_MATCH_REASON,
    NOT_A_QUESTION_REASON,
    OUT_OF_SCOPE_REASON,
)

SCOPE_REASONS: dict[str, dict[str, str]] = {
    "fr": {
        IN_SCOPE_REASON: "Les Directives traitent ce type de problème.",
        OUT_OF_SCOPE_REASON: (
            "Ceci ne ressemble pas à un problème dont traitent les Directives : les passages "
            "affichés sont seulement les plus proches, des correspondances faibles."
        ),
        NOT_A_QUESTION_REASON: "Ce n'est ni une question ni un problème formulé avec des mots.",
        LEXICAL_ONLY_REASON: (
            "Recherche par mots-clés seulement : aucun avis sur la question de savoir si les "
            "Directives couvrent ce sujet."
        ),
        NO_MATCH_REASON: "Rien dans le corpus ne correspond à cette requête et à ces filtres.",
    },
}


def scope_reason(reason: str, lang: str) -> str:
    """The index's verdict in `lang` when it has a wording there, else as the index said it."""
    return SCOPE_REASONS.get(lang, {}).get(reason, reason)
