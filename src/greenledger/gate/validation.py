"""Checks of plates (GA 36), VINs (GB 16735 / ISO 3779) and machine codes, with messages people understand."""

import unicodedata

_SEPARATORS = str.maketrans("", "", " ·.-_\u00b7\u2022")


def normalize_plate(text):
    """The canonical form of a plate as typed or read by a camera: half-width, upper case, no separators."""
    text = unicodedata.normalize("NFKC", text or "").strip().upper()
    return text.translate(_SEPARATORS)
