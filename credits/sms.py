"""SMS length rules (S1): which alphabet a text needs and how many parts it is sent in.

A text that fits the GSM 03.38 alphabet is sent in 7-bit characters: 160 in one part, 153
per part once split (the rest of each part carries the concatenation header). Characters of
the extension table (€, [, ], {, }, ~, ^, |, \\ and the form feed) take two places, an escape
and the character, and a pair is never split across parts. Any other character switches the
whole text to UCS-2: 70 UTF-16 units in one part, 67 per part once split; a character outside
the basic plane (an emoji) takes two units, and a surrogate pair is never split either.
"""

from dataclasses import dataclass

# Position 0x1B of the basic table is not a character: it is the escape that introduces the
# extension table, so a raw U+001B in a text is none of the alphabet's and needs UCS-2.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _widths(text: str, gsm7: bool) -> list[int]:
    if gsm7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def _parts(widths: list[int], part_size: int) -> int:
    """Fill parts in order without splitting a character's units across two parts."""
    parts, used = 1, 0
    for width in widths:
        if used + width > part_size:
            parts += 1
            used = 0
        used += width
    return parts


def measure(text: str) -> SmsLength:
    """The encoding, length and number of parts of one message."""
    gsm7 = is_gsm7(text)
    widths = _widths(text, gsm7)
    units = sum(widths)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm7 else (UCS2_SINGLE, UCS2_PART)
    segments = 1 if units <= single else _parts(widths, part)
    return SmsLength("GSM-7" if gsm7 else "UCS-2", units, segments)
