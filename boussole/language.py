"""Language of a chunk, detected with langdetect under a fixed seed (its default is random).

Detection chooses among the languages Boussole's analysers know (`LANGUAGES`) and the
document's declared language, not among langdetect's 55 profiles: a label outside them
would serve no analyser, and loading and scoring two or three profiles instead of 55
makes ingestion of the shipped corpus about a second faster (every chunk is scored).
"""

from __future__ import annotations

import os
from functools import lru_cache

LANGUAGES = ("fr", "en")  # the languages the index's analysers and language weights know


def detect_language(text: str, default: str) -> str:
    """ISO 639-1 code of `text`; `default` (the document's language) when text is too short or
    detection fails. The seed is fixed, so results never depend on call order."""
    if len(text.strip()) < 40:
        return default
    from langdetect.lang_detect_exception import LangDetectException

    factory = _factory(tuple(sorted({*LANGUAGES, default})))
    try:
        detector = factory.create()
        detector.append(text)
        return detector.detect()
    except LangDetectException:
        return default


@lru_cache(maxsize=8)
def _factory(languages: tuple[str, ...]):
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    profiles = []
    for lang in languages:
        path = os.path.join(PROFILES_DIRECTORY, lang)
        if os.path.exists(path):  # a declared language langdetect has no profile for: not a candidate
            with open(path, encoding="utf-8") as f:
                profiles.append(f.read())
    factory.load_json_profile(profiles)
    factory.set_seed(0)
    return factory
