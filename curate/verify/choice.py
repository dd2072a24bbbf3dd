"""Multiple-choice letters: when a reference is a choice, and which letter a response chose.

A reference is a choice when it is a single capital A-E (alone, or as `(C)`, `\\text{(C)}`, `\\textbf{(C)}`,
`C.`), a letter A-J in parentheses, or an option with its text: `(C) 24 cookies`, `C) 24`, `C. 24`,
`\\textbf{(C) }24`. Anything else is an ordinary answer (`e`, `\\mathbb{C}`, `A'`, `B_1`, `2D`, `a+b`).

A letter is only read where it stands as a letter: delimited on both sides (not `A'`, `B_1`, `2D`, `B^2`,
`\\mathbb{B}`, `\\mathcal{A}`), uppercase unless it is in parentheses (`(b)`) or right after an answer marker
with a colon (`Answer: b`, the simple-evals pattern is case-insensitive). In a response, in order of position
(the latest wins): the last box when its content starts with a letter, an answer marker in one of the common
languages followed by a letter ("the answer is (C)", "Réponse : B", "答案是 C", "الإجابة هي (ج)"), a decision
("hence option C", "choose (A)", "which is choice (D)", "故选A", "option C is correct"); then the last bold
letter (`**D**`); then a last line that starts with a letter and punctuation or text in another script
("C) 12 apples", "B. 因为..."). Arabic أ ب ج د and full-width Ａ-Ｊ are read as A-D / A-J (simple-evals
`normalize_extracted_answer`). Linear time: fixed markers, no backtracking patterns."""

from __future__ import annotations

import re

_LETTERS = "ABCDEFGHIJ"
_MAP = {"أ": "A", "ب": "B", "ج": "C", "د": "D", **{chr(0xFF21 + i): _LETTERS[i] for i in range(10)}}

# ---- the reference --------------------------------------------------------------------------------------

_WRAP = re.compile(r"^\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{(.*)\}$", re.DOTALL)
_GOLD_BARE = re.compile(r"^\(?([A-E])\)?[.:]?$")
_GOLD_PAREN = re.compile(r"^\(([A-Ja-j])\)[.:]?$")
# the option text is separated by a space or spacing command and is not an operator: "(a) + (b)" is math
_GOLD_TEXT = re.compile(r"^\(([A-Ja-j])\)(?:\s|\\[ ,;:]|\\q?quad|~)+"
                        r"([^\s+\-*/^=<>)|\\].*|\\(?:text|frac|dfrac|sqrt|mathrm).*)$", re.DOTALL)
_GOLD_TEXT2 = re.compile(r"^([A-J])[.)]\s+([^\s+\-*/^=<>)|].*)$", re.DOTALL)
_TEXT_OPEN = re.compile(r"^\\(?:text|textbf|textrm|mathrm|mbox)\s*\{\s*(\([A-Ja-j]\))\s*\}")


def _unwrap(s: str) -> str:
    s = s.strip()
    for _ in range(4):
        t = s
        if len(s) > 2 and s[0] == "$" and s[-1] == "$":
            s = s.strip("$").strip()
        m = _WRAP.match(s)
        if m and "}" not in m.group(1).replace("{}", ""):
            s = m.group(1).strip()
        if s == t:
            break
    return s


def gold_choice(gold: str) -> tuple[str, str | None] | None:
    """(letter, option text or None) when the reference is a multiple-choice answer, else None."""
    s = _unwrap(gold)
    if len(s) > 300 or not s:
        return None
    m = _GOLD_BARE.match(s) or _GOLD_PAREN.match(s)
    if m:
        return m.group(1).upper(), None
    m = _TEXT_OPEN.match(s)  # "\textbf{(C) }24" / "\text{(C)} 24"
    if m:
        s = m.group(1) + " " + s[m.end():]
    m = _GOLD_TEXT.match(s) or _GOLD_TEXT2.match(s)
    if m:
        text = _unwrap(m.group(2).strip())
        return m.group(1).upper(), (text or None)
    return None


# ---- a letter token ----------------------------------------------------------------------------------------

_OPENERS = ("\\boxed{", "\\textbf{", "\\text{", "\\textrm{", "\\mathrm{", "\\mathbf{", "\\mbox{", "**", "$$", "$",
            "\\[", "\\(", "{")


def _is_latin_letter(c: str) -> bool:
    return c.isalpha() and (c.isascii() or "\u00c0" <= c <= "\u024f")


def letter_at(s: str, i: int, lower_ok: bool = False, bare_i: bool = False) -> tuple[str, int] | None:
    """The letter standing at s[i:] (after wrappers like `(`, `$`, `**`, `\\text{`), and where it ends. A bare
    capital I is the pronoun in running text ("the answer is, I think, B"): read only where bare_i says."""
    n = len(s)
    paren = False
    for _ in range(6):
        for o in _OPENERS:
            if s.startswith(o, i):
                i += len(o)
                while i < n and s[i] in " \n":
                    i += 1
                break
        else:
            if i < n and s[i] in "(（[":
                if paren:
                    return None
                paren = True
                i += 1
                continue
            break
    if i >= n:
        return None
    c = s[i]
    if c in _MAP:
        letter = _MAP[c]
    elif c.isascii() and c.upper() in _LETTERS and (c.isupper() or paren or lower_ok):
        letter = c.upper()
        if c == "I" and not (paren or bare_i or lower_ok):
            return None
    else:
        return None
    j = i + 1
    if paren:
        while j < n and s[j] in " }$*":
            j += 1
        if j >= n or s[j] not in ")）]":
            return None
        j += 1
    if j < n:
        d = s[j]
        if c in _MAP and c not in "ＡＢＣＤＥＦＧＨＩＪ":
            if d.isalpha():  # an Arabic letter that starts a word
                return None
        elif _is_latin_letter(d) or d.isdigit() or d in "'’′_^\\/+=<>|" and not _spacing_cmd(s, j):
            return None
        elif d == "-" and j + 1 < n and not s[j + 1].isspace():
            return None
    return letter, j


def _spacing_cmd(s: str, j: int) -> bool:
    """`\\ `, `\\,`, `\\;`, `\\quad`, `\\text` after a letter: spacing or option text, not a symbol like `\\prime`."""
    if s[j] != "\\":
        return False
    rest = s[j + 1:j + 7]
    return bool(rest) and (rest[0] in " ,;:!" or rest.startswith(("quad", "qquad", "text", "hspace")))


# ---- a response -----------------------------------------------------------------------------------------

# answer markers of the common languages; a letter follows after filler words
_ANSWER = re.compile(
    r"(?:correct\s+(?:answer|option|choice)|right\s+(?:answer|option|choice)|best\s+(?:answer|option|choice)"
    r"|answer|(?:choice|option)(?=\s*:)|réponse|respuesta|resposta|risposta|antwort|ответ|答案|答え|正解|解答"
    r"|الإجابة|الجواب|إجابة|정답)",
    re.IGNORECASE)
# decisions: a letter follows directly (verbs) or after an option word / in parentheses / in bold
_DECIDE = re.compile(
    r"(?:\bchoose|\bselect|\bpick|\bgo\s+with|\bopt\s+for|\bchoisis|\belijo|\bescojo|\bwähle"
    r"|\bhence|\btherefore|\bthus|\bso\b|\bwhich\s+is|\bcorresponds\s+to|\bmatches|\bdonc|\bpor\s+lo\s+tanto"
    r"|\bentonces|\bdaher|\bпоэтому|选项|選項|故选|应选|選|选|إذن)", re.IGNORECASE)
_VERB_DIRECT = ("choose", "select", "pick", "go", "opt", "choisis", "elijo", "escojo", "wähle", "故选", "应选",
                "選", "选")
# "option C is correct", "(C) is the right answer"
_IS_CORRECT = re.compile(
    r"(?:option|choice|opción|choix|选项)?\s*\(?([A-J])\)?\s+(?:is|est|es|ist)\s+(?:the\s+|la\s+|die\s+)?"
    r"(?:correct|right|true|answer|bonne|correcte|correcta|richtig)", re.IGNORECASE)
_FILLER = ("is", "are", "would be", "will be", "be", "est", "sera", "es", "ist", "lautet", "é", "è", "это",
           "равен", "是", "为", "為", "は", "选", "選", "هي", "هو", "the", "la", "le", "el", "die", "der",
           "final", "finale", "finally", "correct", "correcta", "correcte", "correta", "bonne", "richtige",
           "правильный", "正确", "正確", "最终", "النهائية", "الصحيحة", "option", "choice", "opción", "choix",
           "opção", "选项", "選項", "letter", "therefore", "thus", "so", "hence", "clearly", "then")
_OPTION_WORDS = ("option", "choice", "opción", "choix", "opção", "选项", "選項", "answer")
_BOLD = re.compile(r"\*\*([^*\n]{1,40})\*\*")
_SKIP = " \t:：,，-–—*>"


def _skip_filler(s: str, i: int, limit: int = 60) -> tuple[int, bool, bool]:
    """Past spaces, colons and filler words after a marker: (position, saw a colon, saw an option word)."""
    end = min(len(s), i + limit)
    colon = option = False
    while i < end:
        c = s[i]
        if c in _SKIP or c.isspace():
            colon = colon or c in ":："
            i += 1
            continue
        low = s[i:i + 14].lower()
        for w in _FILLER:
            if low.startswith(w) and (i + len(w) >= len(s) or not _is_latin_letter(s[i + len(w)])
                                      or not w.isascii()):
                option = option or w in _OPTION_WORDS
                i += len(w)
                break
        else:
            break
    return i, colon, option


def _after_marker(s: str, m: re.Match, decide: bool) -> str | None:
    i, colon, option = _skip_filler(s, m.end())
    word = m.group(0).lower()
    direct = word.startswith(_VERB_DIRECT) or word in _VERB_DIRECT
    hit = letter_at(s, i, lower_ok=colon or option)
    if hit is None and not decide and i < len(s) and s[i] in "abcdefghij":
        # "the answer is c." (Qwen2.5-Math reads a lowercase letter after "answer is"); not the article in
        # "the answer is a function of x"
        nxt = s[i + 1:i + 2]
        if not nxt or nxt in ".,;:!?)*$":
            hit = letter_at(s, i, lower_ok=True)
    if hit is None:
        return None
    if decide and not (direct or option or s[i] in "(（[" or s.startswith("**", i)):
        return None  # "so A is..." is not a choice; "so option A", "so (A)", "so **A**" are
    return hit[0]


def response_choice(text: str | None) -> tuple[str | None, str | None, int]:
    """(letter, rule, position) of the choice a response made; (None, rule, pos) when its final answer is a
    box that holds no letter; (None, None, -1) when nothing was found."""
    if not text or not text.strip():
        return None, None, -1
    from .extract import _cut_chat_tokens, find_boxes

    text = _cut_chat_tokens(text)
    cands: list[tuple[int, str | None, str]] = []
    boxes = [b for b in find_boxes(text) if b[2]]
    if boxes:
        start, _end, content = boxes[-1]
        hit = letter_at(content.strip(), 0, bare_i=True)
        cands.append((start, hit[0] if hit else None, "boxed"))
    for m in _ANSWER.finditer(text):
        letter = _after_marker(text, m, decide=False)
        if letter:
            cands.append((m.start(), letter, "answer_phrase"))
    for m in _DECIDE.finditer(text):
        letter = _after_marker(text, m, decide=True)
        if letter:
            cands.append((m.start(), letter, "decision"))
    for m in _IS_CORRECT.finditer(text):
        k = m.start(1)
        before = text[k - 1] if k else " "
        if before == "(" or (letter_at(text, k) is not None and not (_is_latin_letter(before) or before.isdigit()
                                                                      or before in "\\_^{'")):
            cands.append((m.start(), m.group(1).upper(), "is_correct"))
    if cands:
        pos, letter, rule = max(cands, key=lambda c: c[0])
        return letter, rule, pos
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else ""
    bold = None
    for m in _BOLD.finditer(last):
        hit = letter_at(m.group(1).strip(), 0, bare_i=True)
        if hit:
            bold = hit[0]
    if bold:
        return bold, "bold", len(text)
    hit = letter_at(last, 0, bare_i=True)
    if hit:
        letter, j = hit
        rest = last[j:]
        # "C", "(C) 12 apples", "C) 12", "B. 因为...", "A — car..."; not the article in "A triangle has..."
        if not rest.strip() or last[0] in "(（[*${\\" or rest.lstrip()[:1] in ".):：-–—,，}" \
                or (rest[:1].isspace() and not _is_latin_letter(rest.lstrip()[:1] or "x")):
            return letter, "last_line", len(text)
    return None, None, -1
