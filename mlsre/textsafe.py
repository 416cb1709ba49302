"""Control characters from data made visible: a title, a label value or a hook's output can
carry terminal escapes (set the window title, clear the screen, forge a hyperlink) or bidi
overrides. Human output and markdown show them as visible symbols instead of obeying them;
``--json`` keeps them, escaped by the JSON encoder.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, and the bidi embeddings/overrides/isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_KEEP_CR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What our own terminal rendering (rich) writes: colours and styles (SGR), cursor show/hide,
# erase line, cursor up. Anything else that starts with ESC came from data.
_OWN_SEQUENCE = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[[0-9]*A")


def _picture(m: re.Match[str]) -> str:
    code = ord(m[0])
    if code < 0x20:
        return chr(0x2400 + code)  # ␛ for ESC, ␇ for BEL, ...
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """Every control character (but tab and newline) as a visible symbol."""
    return _CONTROL.sub(_picture, text) if _CONTROL.search(text) else text


def visible_on_terminal(text: str) -> str:
    """Like :func:`visible`, but keeps the styling sequences our own renderer writes."""
    if not _CONTROL_KEEP_CR.search(text):
        return text
    out: list[str] = []
    last = 0
    for m in _OWN_SEQUENCE.finditer(text):
        out.append(_CONTROL_KEEP_CR.sub(_picture, text[last : m.start()]))
        out.append(m[0])
        last = m.end()
    out.append(_CONTROL_KEEP_CR.sub(_picture, text[last:]))
    return "".join(out)


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def json_escaped(text: str) -> str:
    """JSON text with DEL, C1 controls and bidi overrides written as ``\\uXXXX`` (the encoder
    escapes C0 itself; these it leaves raw when ``ensure_ascii`` is off). Outside strings
    JSON is ASCII, so every match is inside a string, where the escape means the same."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
