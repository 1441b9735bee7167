"""Language of a chunk, detected with langdetect under a fixed seed (its default is random)."""

from __future__ import annotations


def detect_language(text: str, default: str) -> str:
    """ISO 639-1 code of `text`; `default` (the document's language) when text is too short or
    detection fails. The seed is set here, per call, so results never depend on import order."""
    if len(text.strip()) < 40:
        return default
    from langdetect import DetectorFactory, detect
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        return detect(text)
    except LangDetectException:
        return default
