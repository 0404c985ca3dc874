"""Language: an article's language as one normalised code, declared or detected.

Stage: ingestion (`parsers.parse_file` finishes every article with `settle`), and querying
(`lang:` and `--lang` take the same codes through `normalise_tag`).

A page or record declares its language in many spellings (`en-US`, `en_us`, `EN`, `pt_BR.UTF-8`,
`zh-Hant-TW`, `eng`, `English`); facets and `lang:` must count one language once, so the code kept
is the ISO 639-1 language alone, in lower case (`en`, `pt`, `zh`), and the region apart in upper
case (`US`, `BR`, `TW`). What is not a language (`x-default`, `und`, `C`, `12`) is unknown (None).

An article that declares nothing (or junk) gets the language detected from its text by CLD2
(pycld2: Chromium's Compact Language Detector, a C++ library whose model is inside the package),
chosen over py3langid, langid, langdetect and lingua by `scripts/measure_languages.py`: on short
news texts it was the most often right and the least often wrong (it answers "unknown" rather
than guess), it is deterministic, the fastest by far, and small on disk. Detection reads a
bounded prefix of title, summary and body (DETECT_CHARS: accuracy stopped growing well before
it, while the cost grows with the text), and answers None on fewer than MIN_DETECT_LETTERS
letters or when CLD2 does not call its answer reliable.
"""
from __future__ import annotations

import re

from ..errors import ArgumentError

# The characters of title + summary + body the detector reads. A news lead of a few sentences is
# enough for a reliable answer, but a title and summary alone may fill a few hundred characters:
# this bound leaves room for the body, while reading the whole of a long article would cost time
# for nothing (the measurements: README, "Language").
DETECT_CHARS = 1000
# Fewer letters than this (a title such as "Yahoo UK") is too little text to tell; unknown.
MIN_DETECT_LETTERS = 10

# ISO 639-1: every two-letter language code.
ISO639_1 = frozenset(
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy "
    "da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu "
    "hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb "
    "lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om "
    "or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw "
    "ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu".split())
# Codes withdrawn from ISO 639-1 that pages still use.
_RENAMED = {"iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "sh": "sr"}
# ISO 639-2/3 codes (bibliographic and terminology forms) and English names of the languages news
# archives are most often in → their two-letter code. Other three-letter codes are kept as given.
_OTHER_NAMES = {
    "ar": "ara arabic", "bg": "bul bulgarian", "bn": "ben bengali", "ca": "cat catalan",
    "cs": "ces cze czech", "da": "dan danish", "de": "deu ger german deutsch",
    "el": "ell gre greek", "en": "eng english", "es": "spa spanish español espanol castellano",
    "et": "est estonian", "eu": "eus baq basque", "fa": "fas per persian farsi",
    "fi": "fin finnish", "fr": "fra fre french français francais", "ga": "gle irish",
    "he": "heb hebrew", "hi": "hin hindi", "hr": "hrv croatian", "hu": "hun hungarian",
    "hy": "hye arm armenian", "id": "ind indonesian", "is": "isl ice icelandic",
    "it": "ita italian italiano", "ja": "jpn japanese", "ka": "kat geo georgian",
    "ko": "kor korean", "lt": "lit lithuanian", "lv": "lav latvian", "ms": "msa may malay",
    "nl": "nld dut dutch", "no": "nor norwegian", "pl": "pol polish", "pt": "por portuguese português",
    "ro": "ron rum romanian", "ru": "rus russian", "sk": "slk slo slovak", "sl": "slv slovenian",
    "sr": "srp serbian", "sv": "swe swedish", "sw": "swa swahili", "ta": "tam tamil",
    "th": "tha thai", "tl": "tgl tagalog", "tr": "tur turkish", "uk": "ukr ukrainian",
    "ur": "urd urdu", "vi": "vie vietnamese", "zh": "zho chi chinese",
}
_NAMES = {name: code for code, names in _OTHER_NAMES.items() for name in names.split()}
# Special ISO 639 codes that name no language.
_NO_LANGUAGE = frozenset({"und", "mul", "mis", "zxx", "qaa"})
# language[-extlang][-script][-region][-variant…] (BCP 47), or a POSIX locale (pt_BR.UTF-8@euro).
_TAG = re.compile(r"""(?P<lang>[a-z]{2,3})
                      (?:-[a-z]{3}){0,3}                        # extended language subtags
                      (?:-[a-z]{4})?                            # script: Hant, Latn
                      (?:-(?P<region>[a-z]{2}|[0-9]{3}))?       # region: US, 419
                      (?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*  # variants
                      (?:-[a-wyz0-9](?:-[a-z0-9]{2,8})+)*       # extensions
                      (?:-x(?:-[a-z0-9]{1,8})+)?                # private use
                      (?:\.[\w-]+)?(?:@\w+)?                    # POSIX: .UTF-8, @euro
                   """, re.X)


def normalise_tag(tag: str | None) -> tuple[str | None, str | None]:
    """`(language, region)` of a declared language: `en-US` → `("en", "US")`, `pt_BR` →
    `("pt", "BR")`, `EN` → `("en", None)`, `zh-Hant-TW` → `("zh", "TW")`, `English` →
    `("en", None)`; `(None, None)` for anything that names no language (`x-default`, `und`, `*`)."""
    if not isinstance(tag, str):
        return None, None
    text = tag.strip().lower().replace("_", "-")
    if "," in text:  # Content-Language: "de, en" names several; the first is the main one
        text = text.split(",", 1)[0].strip()
    if text in _NAMES:
        return _NAMES[text], None
    m = _TAG.fullmatch(text)
    if not m:
        return None, None
    lang, region = m.group("lang"), m.group("region")
    lang = _RENAMED.get(lang, lang)
    if len(lang) == 2 and lang not in ISO639_1:
        return None, None
    if len(lang) == 3:
        if lang in _NO_LANGUAGE or "qaa" <= lang <= "qtz":  # qaa–qtz: reserved for local use
            return None, None
        lang = _NAMES.get(lang, lang)
    return lang, region.upper() if region else None


_LETTER = re.compile(r"[^\W\d_]")
# What CLD2 refuses as "invalid UTF-8": C0 controls but tab and line ends, DEL, C1 controls, lone
# surrogates and the noncharacters U+FDD0–U+FDEF and U+xFFFE/U+xFFFF of every plane.
_REFUSED = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
                      + "".join(chr(plane << 16 | 0xfffe) + chr(plane << 16 | 0xffff) for plane in range(17))
                      + "]")


def detect(text: str) -> str | None:
    """The language of `text` as a two-letter code (`en`, `de`, `zh`), or None when there is too
    little text (fewer than MIN_DETECT_LETTERS letters in its first DETECT_CHARS characters) or
    CLD2 does not find its answer reliable. Deterministic."""
    lang, reliable = identify(text)
    return lang if reliable else None


def identify(text: str) -> tuple[str | None, bool]:
    """CLD2's best language for the first DETECT_CHARS characters of `text` (None when it has none
    or there are fewer than MIN_DETECT_LETTERS letters), and whether CLD2 calls it reliable: the
    language holds most of the text and scores well above the next."""
    if not isinstance(text, str) or not text:
        return None, False
    text = text[:DETECT_CHARS]
    letters = 0
    for _ in _LETTER.finditer(text):
        letters += 1
        if letters >= MIN_DETECT_LETTERS:
            break
    else:
        return None, False
    import pycld2  # (here: a search never loads it)
    try:
        try:
            reliable, _, found = pycld2.detect(text, isPlainText=True)
        except (pycld2.error, UnicodeError):  # rare: blank out what it refuses (scanning every text first costs as much as CLD2)
            reliable, _, found = pycld2.detect(_REFUSED.sub(" ", text), isPlainText=True)
    except (pycld2.error, ValueError, UnicodeError):  # text CLD2 cannot read: unknown, never a failure
        return None, False
    lang = normalise_tag(found[0][1])[0]
    return lang, bool(reliable and lang)


def detection_text(title: str, summary: str | None, body: str) -> str:
    """What `detect` reads of an article: its title, summary and body, joined, cut at DETECT_CHARS."""
    parts, size = [], 0
    for part in (title, summary, body):
        if part and size < DETECT_CHARS:
            parts.append(part[:DETECT_CHARS - size])
            size += len(parts[-1]) + 1
    return "\n".join(parts)


def settle(article) -> None:
    """Give `article` (an `Article`) its normalised language and region: the declared tag,
    normalised, else the language detected from its text, else None."""
    lang, region = normalise_tag(article.lang)
    article.region = region
    article.lang = lang or detect(detection_text(article.title, article.summary, article.body))


def parse_languages(value) -> tuple[str, ...]:
    """The language codes of a filter (`--lang`, `Index.search(lang=…)`): one code, several
    separated by commas (`"en,de"`), or a list of them, each normalised (`en-US` → `en`);
    raises ArgumentError for one that names no language. `()` for None (no filter)."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    try:
        items = list(items)
    except TypeError:
        raise ArgumentError("lang", value, "a language code (str), as 'en', or a list of them") from None
    codes = []
    for item in items:
        if not isinstance(item, str):
            raise ArgumentError("lang", value, "a language code (str), as 'en', or a list of them")
        for part in item.split(","):
            lang, _ = normalise_tag(part)
            if lang is None:
                raise ArgumentError("lang", part.strip() or value,
                                    "not a language code; use ISO 639-1 codes such as en, de, zh "
                                    "(several: en,de)")
            codes.append(lang)
    return tuple(dict.fromkeys(codes))
