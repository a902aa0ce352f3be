"""Split a plain-text reply into the author's new words and what they quoted (RFC 3676 section 4.5).

mail-parser-reply's header patterns find the quote headers of many clients and languages; our own rules
around it catch what it misses (Gmail attributions wrapped over two lines, forwarded blocks, Outlook's
underscore separator, interleaved and bottom-posted ``>`` quoting).  Its signature patterns are *not* used:
they cut at any line starting with "Thanks," or "- ", which would throw away the words of a thank-you note
or a bulleted intro; we only cut at the RFC 3676 ``-- `` delimiter and "Sent from my iPhone"-style lines.
"""

from __future__ import annotations

import re
from functools import lru_cache

from mailparser_reply.parser import EmailMessage

LANGUAGES = ("en", "de", "fr", "es")

# Attribution lines are short; truncating long lines before the library's regexes (which backtrack
# quadratically on a long line starting with "On ") keeps a hostile body from stalling the parser.
_LIB_LINE_CAP = 300
_MAX_ATTRIBUTION = 400

_QUOTED = re.compile(r"^[ \t]*>")
_UNQUOTE = re.compile(r"^(?:[ \t]*>)+ ?")

# "On <date>, <who> wrote:" and its translations; the leading word or a date/address must be present so that
# "Here is what Bob wrote:" in the author's own text is not taken for a quote header.
_WROTE_VERB = r"(?:wrote|schrieb|a\s+écrit|escribió|ha\s+escrito|écrit)"
_ATTRIBUTION = re.compile(
    rf"^(?:(?:On|Am|Le|El)\s.*\b{_WROTE_VERB}\b.*:|.*[@\d].*\b{_WROTE_VERB}\s*:)$",
    re.IGNORECASE,
)
_ATTRIBUTION_LEAD = re.compile(r"^(?:On|Am|Le|El)\s", re.IGNORECASE)

# Separators after which everything is someone else's text.
_SEPARATOR = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Originalnachricht|Message\s+d'origine"
    r"|Mensaje\s+original|Forwarded\s+message|Weitergeleitete\s+Nachricht|Message\s+transféré"
    r"|Mensaje\s+reenviado)\s*-{2,}"
    r"|Begin\s+forwarded\s+message\s*:|Anfang\s+der\s+weitergeleiteten\s+Nachricht\s*:"
    r"|Début\s+du\s+message\s+(?:réexpédié|transféré)\s*:|Inicio\s+del\s+mensaje\s+reenviado\s*:"
    r")\s*$",
    re.IGNORECASE,
)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
# An Outlook-style header block: a "From:" line followed closely by a "Sent:"/"To:"/"Subject:" line.
_FROM_FIELD = re.compile(r"^\s*\*?(?:From|Von|De|Fra)\s?\*?\s?:\s*\*?\s*\S", re.IGNORECASE)
_OTHER_FIELD = re.compile(
    r"^\s*\*?(?:Sent|Date|To|Cc|Subject|Gesendet|Datum|An|Betreff|Envoyé|À|Objet|Enviado|Fecha|Para|Asunto)"
    r"\s?\*?\s?:",
    re.IGNORECASE,
)
# RFC 3676 section 4.3 signature delimiter, and the mobile clients' one-line signatures.
_SIG_DELIMITER = re.compile(r"^--\s?$")
_SENT_FROM = re.compile(
    r"^\s*(?:Sent\s+from\s+(?:my|Mail|Outlook|Yahoo)|Get\s+Outlook\s+for|Von\s+meinem\s.{1,40}\sgesendet"
    r"|Gesendet\s+von\s+(?:meinem|Outlook|Mail)|Envoyé\s+(?:de|depuis)\s+mon|Envoyé\s+depuis"
    r"|Enviado\s+desde\s+mi|Enviado\s+desde)\b.{0,60}$",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _library_header_regex() -> re.Pattern[str]:
    """The compiled header pattern of mail-parser-reply for our languages (built once)."""
    pattern: re.Pattern[str] = EmailMessage(text="", languages=list(LANGUAGES)).HEADER_REGEX
    return pattern


def _is_quoted(line: str) -> bool:
    return _QUOTED.match(line) is not None


def _attribution_span(lines: list[str], i: int) -> int:
    """Number of lines (1-3) forming a quote attribution starting at ``i``, or 0."""
    line = lines[i].strip()
    if not line or len(line) > _MAX_ATTRIBUTION or _is_quoted(line):
        return 0
    if _ATTRIBUTION.match(line):
        return 1
    if not _ATTRIBUTION_LEAD.match(line):
        return 0
    # Gmail and others wrap a long attribution ("... Kathy Lee <\nkathy@x.com> wrote:").
    joined = line
    for extra in (1, 2):
        if i + extra >= len(lines):
            break
        joined = f"{joined} {lines[i + extra].strip()}"
        if len(joined) > _MAX_ATTRIBUTION:
            break
        if _ATTRIBUTION.match(joined):
            return extra + 1
    return 0


def _followed_by_quote(lines: list[str], j: int) -> bool:
    """True when the first non-blank line at or after ``j`` is ``>``-quoted."""
    while j < len(lines) and not lines[j].strip():
        j += 1
    return j < len(lines) and _is_quoted(lines[j])


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _FROM_FIELD.match(lines[i]):
        return False
    return any(_OTHER_FIELD.match(line) for line in lines[i + 1 : i + 5])


def _library_cut(lines: list[str]) -> int | None:
    """First line where mail-parser-reply sees an unquoted quote header, or None."""
    # Lines with neither ":" nor "--" cannot start a header the library knows; blanking them (keeping the
    # line count) makes its patterns several times faster on long bodies.
    probe = "\n".join(line[:_LIB_LINE_CAP] if ":" in line or "--" in line else "" for line in lines)
    for match in _library_header_regex().finditer(probe):
        start = match.start()
        idx = probe.count("\n", 0, start)
        if probe[start : start + 1] == "\n":
            idx += 1
        if idx >= len(lines):
            return None
        if _is_quoted(lines[idx]):
            continue  # a header inside quoted text: the interleaved-quote logic owns it
        span = _attribution_span(lines, idx)
        if span and _followed_by_quote(lines, idx + span):
            continue  # bottom-posting or interleaved answers follow: not the end of the new text
        return idx
    return None


def _own_cut(lines: list[str]) -> int | None:
    """First line where our own rules see the start of unquoted earlier or forwarded text."""
    for i, line in enumerate(lines):
        if not line.strip() or _is_quoted(line):
            continue
        if _SEPARATOR.match(line) or _is_header_block(lines, i):
            return i
        if _UNDERSCORES.match(line) and any(_FROM_FIELD.match(nxt) for nxt in lines[i + 1 : i + 3]):
            return i
        span = _attribution_span(lines, i)
        if span and not _followed_by_quote(lines, i + span):
            return i
    return None


def _strip_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIG_DELIMITER.match(line) or _SENT_FROM.match(line):
            return lines[:i]
    return lines


def _tidy(lines: list[str]) -> str:
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def split_reply(text: str) -> tuple[str, str]:
    """Split a plain-text body into (new text, quoted text); signatures are dropped from the new text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u200b", "").replace("\xa0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    cuts = [c for c in (_own_cut(lines), _library_cut(lines)) if c is not None]
    cut = min(cuts) if cuts else len(lines)
    new: list[str] = []
    quoted: list[str] = []
    i = 0
    while i < cut:
        line = lines[i]
        if _is_quoted(line):
            quoted.append(_UNQUOTE.sub("", line))
            i += 1
            continue
        span = _attribution_span(lines, i)
        if span and _followed_by_quote(lines, i + span):
            quoted.extend(lines[i : i + span])
            i += span
            continue
        new.append(line)
        i += 1
    quoted.extend(_UNQUOTE.sub("", line) for line in lines[cut:])
    return _tidy(_strip_signature(new)), _tidy(quoted)
