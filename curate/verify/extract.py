"""Final-answer extraction from a whole model response (linear time: no regex that can backtrack).

Order, on the solution part (after the thought): the last `\\boxed{}`/`\\fbox{}` (adjacent boxes joined by
"and"/","/`\\quad` count as one answer), an answer phrase ("final answer is", "the answer is", "Answer:" and
their French, Spanish, German, Portuguese, Italian, Russian, Chinese, Japanese, Korean and Arabic forms),
a `**Final Answer**` block, a bold answer in the last line, a short bare answer (the whole text), a
multiple-choice letter, and last the later of the last math span (`\\[..\\]`, `$$..$$`, `\\(..\\)`, `$..$`)
and the last number of the last line. After a phrase the answer is the value of its first clause: "La réponse
est 42 euros, payés en 3 fois" gives 42, not 3. Nothing found is None (`no_answer`), never a guess from the
middle of the text."""

from __future__ import annotations

import re

from distillate.curate.ingest.formats import split_response
from distillate import textcase

_BOX_CMDS = ("\\boxed", "\\fbox")
# text allowed between two boxes that form one answer: "\boxed{1}, \boxed{2} and \boxed{3}"
_JOIN_SEP = re.compile(r"^(?:\s|,|;|\$|\\\(|\\\)|\\\[|\\\]|\\quad|\\qquad|\\,|\\text\{\s*(?:and|or|,)\s*\}|\band\b|\bor\b|&|\\\\)*$")
# Answer phrases, ASCII (scanned through the RE2 prefilter, distillate/textcase.py) ...
_PHRASES = re.compile(
    r"(?:final\s+answer\s*(?:is|:)|the\s+answer\s+is|answer\s*:|respuesta(?:\s+(?:final|correcta))?\s*(?::|es\b)"
    r"|antwort\s*(?::|ist\b|lautet\b)|resposta(?:\s+final)?\s*:|risposta(?:\s+finale)?\s*:)", re.IGNORECASE)
# ... and in other scripts, scanned only when the text holds one of _INTL_ANCHORS (simple-evals'
# MULTILINGUAL_ANSWER_REGEXES and MGSM's answer prefixes, with the verbs "est", "是", "は", "هي" ...)
_PHRASES_INTL = re.compile(
    r"(?:réponse(?:\s+finale)?\s*(?:est\b|:)|resposta(?:\s+final)?\s+é|risposta(?:\s+finale)?\s+è"
    r"|ответ\s*(?::|—|равен|будет|это)|最终答案\s*(?:是|为|為|:|：)?|答案\s*(?:是|为|為|:|：)|答\s*[:：]"
    r"|答え\s*(?:は|:|：)|解答\s*[:：]|正解\s*(?:は|:|：)|정답\s*(?:은|는|:)|답\s*(?:은|는|:)"
    r"|الإجابة(?:\s+(?:النهائية|الصحيحة))?\s*(?:هي|:)|الجواب(?:\s+(?:النهائي|الصحيح))?\s*(?:هو|:))",
    re.IGNORECASE)
_INTL_ANCHORS = ("答", "正解", "답", "éponse", "ÉPONSE", "sposta", "твет", "ТВЕТ", "الإجابة", "الجواب")
_INTL_TAIL = 8000  # the other scripts' phrases are looked for in the last 8,000 characters (O(1) per thought)
_FINAL_BLOCK = re.compile(r"\*\*\s*final\s+answer\s*:?\s*\*\*\s*:?", re.IGNORECASE)
_TAIL_STOP = re.compile(r"(?:\.\s+I hope|\s+I hope it is correct|\.\s*$|\.\s+[A-Z]|\n\n)")
_CHOICE_IN_TEXT = re.compile(r"(?i:answer|option|choice)(?:\s+(?i:is))?[\s:*]*\(?([A-E])\b")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?%?|-?\.\d+%?")
_CHAT_TOKENS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "<｜end▁of▁sentence｜>")
_ANSWER_IS = re.compile(r"\b(?:is|are|equals|=)\s+")
_DIGITS = str.maketrans({**{chr(0x660 + i): str(i) for i in range(10)}, **{chr(0x6F0 + i): str(i) for i in range(10)},
                         **{chr(0xFF10 + i): str(i) for i in range(10)}, "٫": ".", "٬": ",", "－": "-"})
# a clause ends at these (after the first value): "42 euros, payés en 3 fois" is about 42
_CLAUSE_PUNCT = "，。；;،؛"
_CONNECTORS = {"and", "or", "et", "ou", "y", "o", "e", "und", "oder", "и", "или", "و", "أو"}
_CLAUSE_WORDS = {"because", "since", "as", "which", "where", "so", "car", "parce", "puisque", "porque", "ya",
                 "weil", "denn", "da", "also", "потому", "так", "поскольку", "因为", "由于", "لأن", "que", "soit",
                 "dass", "i.e.", "that"}
_MATH_WORDS = {"and", "or", "pi", "sqrt", "frac", "cm", "m", "km", "kg", "in", "ft", "percent", "pct",
               "degrees", "text", "units", "dollars", "cents", "inches", "meters", "feet", "mph", "hours",
               "minutes", "seconds", "days", "yuan", "sq"}


def _match_brace(s: str, i: int) -> int:
    """Index just past the '}' closing the '{' at s[i], or -1 when unbalanced."""
    depth = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return -1


def last_unbalanced_box(text: str) -> int:
    """Start of the last \\boxed{ whose brace never closes (-1: none)."""
    last = -1
    for cmd in _BOX_CMDS:
        i = text.rfind(cmd + "{")
        while i != -1 and _match_brace(text, i + len(cmd)) != -1:
            i = text.rfind(cmd + "{", 0, i)
        last = max(last, i)
    return last


def find_boxes(text: str) -> list[tuple[int, int, str]]:
    """All balanced \\boxed{...}/\\fbox{...} (and `\\boxed 5`) as (start, end, content), in order."""
    out = []
    pos = 0
    while True:
        hits = [(text.find(cmd, pos), cmd) for cmd in _BOX_CMDS]
        hits = [(i, c) for i, c in hits if i != -1]
        if not hits:
            return out
        i, cmd = min(hits)
        j = i + len(cmd)
        while j < len(text) and text[j] == " ":
            j += 1
        if j < len(text) and text[j] == "{":
            end = _match_brace(text, j)
            if end == -1:  # unbalanced: skip this box, keep scanning
                pos = j + 1
                continue
            out.append((i, end, text[j + 1:end - 1].strip()))
            pos = end
        elif j > i + len(cmd) and j < len(text):  # "\boxed 5": up to the next space or '$'
            k = j
            while k < len(text) and text[k] not in " $\n":
                k += 1
            out.append((i, k, text[j:k].strip().rstrip(".")))
            pos = k
        else:
            pos = j


def _last_boxed_pos(text: str, join=None) -> tuple[str | None, int]:
    """The last box (with the boxes joined to it by separators only) and where the last box starts."""
    boxes = [b for b in find_boxes(text) if b[2]]
    if not boxes:
        return None, -1
    join = join or (lambda between: bool(_JOIN_SEP.match(between)))
    group = [boxes[-1]]
    for b in reversed(boxes[:-1]):
        if join(text[b[1]:group[0][0]]):
            group.insert(0, b)
        else:
            break
    return ", ".join(b[2] for b in group), boxes[-1][0]


def _last_boxed(text: str) -> str | None:
    return _last_boxed_pos(text)[0]


def _gold_join(between: str) -> bool:
    """A reference with several boxes lists several values: join boxes separated by symbols or 'and'."""
    if _JOIN_SEP.match(between):
        return True
    t = between.strip()
    return len(t) <= 24 and (not any(ch.isalpha() for ch in t) or re.search(r"\band\b", t) is not None)


def gold_boxes(text: str) -> str | None:
    return _last_boxed_pos(text, _gold_join)[0]


def _strip_wrappers(s: str) -> str:
    s = s.strip()
    changed = True
    while changed and s:
        changed = False
        for o, c in (("$$", "$$"), ("\\[", "\\]"), ("\\(", "\\)"), ("$", "$"), ("**", "**")):
            if len(s) >= len(o) + len(c) and s.startswith(o) and s.endswith(c):
                inner = s[len(o):len(s) - len(c)]
                if c in inner and not (c == "$" and "\\$" in inner):  # "$1$ and $2$": not one wrapper
                    continue
                s = inner.strip()
                changed = True
        if s.count("$") == 1 and (s[0] == "$" or s[-1] == "$") and "\\$" not in s:
            s = s.strip("$").strip()  # a lone delimiter left by a cut-off span
            changed = True
        if s.endswith((".", "。")) and not s[:-1].rstrip().endswith(".."):
            s = s[:-1].rstrip()
            changed = True
    return s


def _last_phrase(text: str):
    """The last answer phrase of `text` (ASCII phrases, then the other scripts' when the text has them)."""
    last = None
    for m in textcase.finditer(_PHRASES, text):
        last = m
    start = max(0, len(text) - _INTL_TAIL)
    if not text.isascii():
        tail = text[start:]
        if any(a in tail for a in _INTL_ANCHORS):
            for m in _PHRASES_INTL.finditer(text, start):
                if last is None or m.start() > last.start():
                    last = m
    return last


def _after_phrase(text: str) -> tuple[str | None, int]:
    """The answer after the last "final answer is"-like phrase, and where the phrase starts (-1: none)."""
    # scanned on the lowercased text or through RE2 (textcase): 3x faster on long thoughts, where this scan
    # was the verify stage's largest cost
    last = _last_phrase(text)
    if last is None:
        return None, -1
    tail = text[last.end():].lstrip(" :*\t：")
    if tail.startswith("\n"):
        tail = tail.lstrip()
    stop = _TAIL_STOP.search(tail)
    cand = tail[:stop.start()] if stop else tail
    cand = _first_clause(cand.split("\n", 1)[0])
    cand = _strip_wrappers(cand.strip().strip('"').strip())
    spans = _math_spans(cand) if cand else []
    if len(spans) > 1 and not _SPAN_GLUE.sub("", _strip_spans(cand)):
        cand = ", ".join(_strip_wrappers(x) for x in spans)  # "$12$ and $13$": one answer, two values
    elif cand and (not _is_bare_answer(cand) or _has_inner_math(cand)):
        # "The volume of $ABCD$ is 120": the answer is what follows the last "is"; else the last math
        # span or number of the sentence
        m = None
        for m in _ANSWER_IS.finditer(cand):
            pass
        if m is not None and _is_bare_answer(cand[m.end():]):
            cand = _strip_wrappers(cand[m.end():])
        else:
            cand = _last_line_answer(cand) or cand
    return (_lead_number(cand) or None) if cand else None, last.start()


def _first_clause(s: str) -> str:
    """`s` up to the end of its first clause, once a value has been seen: at "，" "。" ";" "،", at a comma
    followed by words ("42 euros, payés en 3 fois"; not "1, 2 and 3", "x = 1, y = 2"), at a parenthesis that
    opens a remark ("15 metros (el doble de 7.5)") or a word like "because"/"porque"/"因为". Never inside
    `$...$` or brackets."""
    depth, in_math, seen_value = 0, False, False
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if c == "\\" and i + 1 < n:
            seen_value = True
            i += 2
            continue
        if c == "$":
            in_math = not in_math
            seen_value = True
        elif c in "{[(":
            if c == "(" and depth == 0 and not in_math and seen_value and i > 0 and s[i - 1] == " " \
                    and _word_at(s, i + 1)[1] >= 2:
                return s[:i].rstrip()
            depth += 1
        elif c in "}])":
            depth = max(0, depth - 1)
        elif c.isdigit():
            seen_value = True
        elif depth == 0 and not in_math and seen_value:
            if c in _CLAUSE_PUNCT:
                return s[:i].rstrip()
            if c == ",":
                word, length, after = _word_at(s, i + 1)
                if length and word not in _CONNECTORS and (length >= 2 or after[:1].isalpha()) \
                        and after[:1] not in ("=", "<", ">", "\\"):
                    return s[:i].rstrip()
                if word in _CONNECTORS and after[:1].isalpha() and _word_at(after, 0)[1] >= 2:
                    return s[:i].rstrip()  # ", and the area is 10"
            elif c == " ":
                word, length, _ = _word_at(s, i + 1)
                if word in _CLAUSE_WORDS:
                    return s[:i].rstrip()
        i += 1
    return s


def _word_at(s: str, i: int) -> tuple[str, int, str]:
    """(the lowercased word starting after spaces at s[i], its length, the text after it and its spaces)."""
    while i < len(s) and s[i] == " ":
        i += 1
    j = i
    while j < len(s) and (s[j].isalpha() or (s[j] == "." and j > i and s[j - 1] == "i")):
        j += 1
    k = j
    while k < len(s) and s[k] == " ":
        k += 1
    return s[i:j].lower(), j - i, s[k:]


_LEAD_NUM = re.compile(r"^(-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?)(\s*\\?%)?\s*(\S.*)?$")
_NOT_WORDS = re.compile(r"[\d\\=+*^_{}()\[\]<>$|]")


def _lead_number(ans: str) -> str:
    """A number followed by words that are not a unit the normalizer knows: the number ("56 billes",
    "36 个苹果", "30 км/ч", "81 €"); units like "5 cm" stay for the units convention."""
    m = _LEAD_NUM.match(ans.translate(_DIGITS))
    if not m or not m.group(3) or _NOT_WORDS.search(m.group(3)):
        return ans
    from .normalize import has_known_unit

    if has_known_unit(ans):
        return ans
    return m.group(1) + (m.group(2) or "").strip()


_SPAN_GLUE = re.compile(r"\band\b|\bor\b|[\s,;\"\\]")
_SPAN_RE = re.compile(r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]")


def _strip_spans(s: str) -> str:
    return _SPAN_RE.sub("", s)


def _has_inner_math(s: str) -> bool:
    return bool(_math_spans(s)) and ("$" in s or "\\(" in s or "\\[" in s)


def _math_spans(line: str) -> list[str]:
    """Math spans of one line, left to right: \\[..\\], $$..$$, \\(..\\), $..$ (a '\\$' is not a delimiter)."""
    spans = []
    i, n = 0, len(line)
    while i < n:
        for o, c in (("\\[", "\\]"), ("$$", "$$"), ("\\(", "\\)"), ("$", "$")):
            if line.startswith(o, i) and not (o == "$" and i > 0 and line[i - 1] == "\\"):
                j = line.find(c, i + len(o))
                while c == "$" and j > 0 and line[j - 1] == "\\":
                    j = line.find(c, j + 1)
                if j != -1:
                    spans.append(line[i + len(o):j].strip())
                    i = j + len(c)
                    break
        else:
            i += 1
    return [s for s in spans if s]


def _is_bare_answer(text: str) -> bool:
    t = text.strip()
    if not t or "\n" in t or len(t) > 80:
        return False
    # plain words outside LaTeX commands; a one-letter token counts ("I give up" is not an answer)
    words = [w for w in t.split() if w.replace("'", "").isalpha() and w.lower() not in _MATH_WORDS]
    mathy = any(c.isdigit() or c in "\\=+-*/^()[]{}<>$" for c in t)
    return len(words) <= (2 if mathy else 1)  # "Evelyn", "odd", "5 cm"; not "no idea"


def _last_line_answer(line: str) -> str | None:
    """The later of the last math span and the last number outside math in one line."""
    best_span, span_end = None, -1
    spans = _math_spans(line)
    if spans:
        best_span = spans[-1]
        span_end = line.rfind(best_span) + len(best_span)
    num, num_pos = None, -1
    for m in _NUMBER.finditer(line):
        if m.start() >= span_end:
            num, num_pos = m.group(0).rstrip(","), m.start()
    if num is not None and num_pos > span_end and (best_span is None or "$" not in line[num_pos:]):
        return num
    return _strip_wrappers(best_span) if best_span else None


def _cut_chat_tokens(text: str) -> str:
    """A generation that ran into the next chat turn: keep what came before it."""
    for tok in _CHAT_TOKENS:
        i = text.find(tok)
        if i != -1:
            text = text[:i]
    return text


def extract_with_method(text: str | None) -> tuple[str | None, str | None]:
    """(answer, method) from one block of text (no thought splitting)."""
    ans, how = _extract(text)
    if ans is not None and not ans.isascii():
        ans = ans.translate(_DIGITS)  # Arabic-Indic and full-width digits
    return ans, how


_BOLD = re.compile(r"\*\*([^*\n]{1,80})\*\*")


def _extract(text: str | None) -> tuple[str | None, str | None]:
    if not text or not text.strip():
        return None, None
    text = _cut_chat_tokens(text)
    if not text.strip():
        return None, None
    b, b_pos = _last_boxed_pos(text)
    p, p_pos = _after_phrase(text)
    if last_unbalanced_box(text) > max(b_pos, p_pos):
        return None, "unbalanced_box"  # the final answer is malformed: no guess from the debris
    if b and (not p or b_pos > p_pos):
        return b, "boxed"
    if p:
        return p, "phrase"
    fb = None
    for m in _FINAL_BLOCK.finditer(text):
        fb = m
    if fb is not None:
        rest = text[fb.end():].strip()
        if rest:
            first = rest.split("\n\n", 1)[0].strip()
            spans = _math_spans(first.replace("\n", " "))
            ans = spans[-1] if spans else _strip_wrappers(first.split("\n", 1)[0])
            if ans:
                return ans, "final_answer_block"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    last_line = lines[-1] if lines else ""
    bold = None
    for m in _BOLD.finditer(last_line):  # "Il reste donc **81 €** à payer, en 3 versements."
        inner = _strip_wrappers(m.group(1))
        if inner and not inner.endswith((":", "：")) and _is_bare_answer(inner):
            bold = inner
    if bold is not None and bold != _strip_wrappers(text):
        return _lead_number(bold), "bold"
    if _is_bare_answer(text):
        ans = _strip_wrappers(text)
        m = None
        for m in _ANSWER_IS.finditer(ans):
            pass
        if m is not None and m.group(0).strip() != "=":  # "... is 2/3": what follows the verb
            ans = _strip_wrappers(ans[m.end():])
        if ans and not _has_inner_math(ans):  # "Answer $9$" is a sentence with a math span, not bare
            return ans, "whole"
    if len(lines) >= 2 and last_line.strip() in ("\\]", "$$"):
        last_line = " ".join(lines[-3:])
    c = None
    for c in _CHOICE_IN_TEXT.finditer(last_line):
        pass
    if c is not None:
        return c.group(1).upper(), "choice"
    ans = _last_line_answer(last_line)
    if ans:
        return ans, "last_line"
    return None, None


def extract_answer(text: str) -> str | None:
    """The final answer of a whole response (the solution part when it has a thought), or None."""
    return extract_parts(text)[0]


def extract_parts(text: str) -> tuple[str | None, str | None, str | None]:
    """(answer, method, thought_answer) of a whole response: the answer comes from the solution only; a
    response whose thought was never closed has no answer (it stopped before answering)."""
    if text is None:
        return None, None, None
    thought, solution, _closed = split_response(text)
    return extract_trace(thought, solution)


def extract_trace(thought: str | None, solution: str | None) -> tuple[str | None, str | None, str | None]:
    ans, method = extract_with_method(solution)
    thought_ans = None
    if thought:
        # the thought's own last committed answer: boxed or an answer phrase, not a stray number
        thought_ans = _last_boxed(thought) or _after_phrase(thought)[0]
    return ans, method, thought_ans
