"""The blameless-language lint: flags wording that puts people, not systems, at the centre.

Each finding has a line and column, the rule, why it matters and a rewrite to consider. Code
(fenced and inline), HTML comments, URLs and link targets are not prose and are not checked.
Phrases may wrap across lines. The allowlist (config ``postmortems.lint_allowlist``) holds
phrases that are fine in this team's writing, or whole rule ids to switch off.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# People as grammatical subjects (a name from the incident is added per document).
_PRONOUNS = r"he|she|i|we|you|someone|somebody|nobody|no\s+one|everyone|everybody"
_ROLES = (
    r"on-?call(?:er)?|engineers?|operators?|developers?|devs?|sres?|admins?|administrators?|"
    r"reviewers?|analysts?|scientists?|interns?|humans?|person|people|employees?|staff|"
    r"commander|responders?|team(?:\s+members?)?"
)
_PERSON_NOUN = rf"(?:(?:the|our|an?|one\s+of\s+the)\s+)?(?:[\w-]+\s+)?(?:{_ROLES})"
_ADVERB = r"(?:\w+ly\s+|just\s+|also\s+|again\s+|then\s+)?"
# Verbs only a person does: "X failed to notice" blames whoever X is.
_MIND = r"notice|realise|realize|remember|think|pay\s+attention|bother|care|understand|double-check"
_CAUSE_VERBS = r"caused|broke|forgot|missed|ignored|neglected|messed\s+up|screwed\s+up|botched"
_FAULT = r"mistake|fault|error|blunder|oversight|negligence|carelessness|screw-?up"
# Person-only and blame verbs after a name: "Mark forgot", "Priya didn't check".
_BLAME_VERBS = (
    r"forgot|neglected|didn't|did\s+not|never|missed|ignored|overlooked|skipped|"
    r"broke|messed\s+up|screwed\s+up|botched|dropped\s+the\s+ball|caused|introduced"
)
# Capitalised words that start postmortem sentences and are not people.
_NOT_PEOPLE = frozenset(
    re.findall(
        r"\w+",
        """the this that these those it its we our they their there then when while after before
    because since during nobody everyone something nothing everything each every both all some
    one two three most many several initially eventually later earlier finally unfortunately
    also however still again yesterday today tonight monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october november
    december monitoring alerting alert alerts deploy deployment rollout rollback validation
    retraining training serving canary staging production prod airflow kafka spark kubernetes
    terraform prometheus grafana alertmanager pagerduty slack jenkins argo helm docker redis
    postgres snowflake bigquery dbt feast mlflow sagemaker vertex databricks github gitlab
    version model pipeline job cron scheduler feature features schema data traffic latency
    automation docs review reviewers ingestion inference scorer cache storage network backfill
    evaluation release our detection""",
    )
)
_NOT_NAME_SUFFIX = ("ing", "tion", "sion", "ment", "ness", "ity", "ics", "ism", "ogy", "age")
_NOT_NAMES = {
    "mlsre", "system", "unknown", "runbook", "engine", "automation", "alertmanager",
    "pagerduty", "prometheus", "root", "ci", "bot", "scheduler",
}  # fmt: skip


Check = Callable[[re.Match[str]], bool]


@dataclass(frozen=True)
class Rule:
    id: str
    why: str
    suggestion: str


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "human-error",
            "'Human error' ends the analysis where it should start: what made the action easy "
            "to get wrong, and why nothing caught it.",
            "Describe the conditions: what the person saw, what the tool allowed, what check was "
            "missing (e.g. 'the deploy tool accepted a config without validating it').",
        ),
        Rule(
            "should-have",
            "'Should have' is hindsight: it judges a decision by an outcome nobody knew then.",
            "Say what happened and why it made sense at the time; put the better way in an "
            "action item (e.g. 'the runbook did not cover X; action: add it').",
        ),
        Rule(
            "if-only",
            "'If only' wishes the past were different instead of explaining it.",
            "Name the system change that would have helped (e.g. 'an alert on the p99 per "
            "version would have shown this 20 minutes earlier').",
        ),
        Rule(
            "careless",
            "'Careless' judges a person's character; it cannot be fixed by an action item.",
            "Describe what made the step easy to get wrong (no confirmation, similar names, "
            "missing guard) and how to make it hard to get wrong.",
        ),
        Rule(
            "negligent",
            "'Negligent' is a legal and moral judgement, not an observation about a system.",
            "Describe the gap (a missing check, an unclear owner, an undocumented step).",
        ),
        Rule(
            "person-failed-to",
            "'<person> failed to' makes a person the point of failure; the question is why the "
            "system relied on one person doing it.",
            "Make the system the subject (e.g. 'the alert was not routed to the on-call "
            "engineer', 'the runbook did not include the check').",
        ),
        Rule(
            "person-as-cause",
            "Naming a person as the cause invites blame and makes people hide what they know "
            "next time.",
            "Name the change or condition instead (e.g. 'the config change in deploy 4521', "
            "'version 4 of the model'), and what let it through.",
        ),
    )
}


@dataclass
class Finding:
    line: int
    column: int
    rule: str
    text: str
    why: str
    suggestion: str
    context: str  # the whole line, for showing where


@dataclass
class LintReport:
    source: str
    findings: list[Finding] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    allowlisted: int = 0
    to_write: list[tuple[int, str]] = field(default_factory=list)  # (line, section) unwritten

    @property
    def clean(self) -> bool:
        return not self.findings


TO_WRITE = "**TO WRITE:**"


def unwritten(text: str) -> list[tuple[int, str]]:
    """Sections still holding a TO WRITE placeholder: (line number, section heading)."""
    out: list[tuple[int, str]] = []
    section = ""
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("## "):
            section = line[3:].strip()
        elif TO_WRITE in line and line.lstrip().startswith(">"):
            out.append((n, section or "(top)"))
    return out


def lint_text(
    text: str, *, names: Iterable[str] = (), allowlist: Iterable[str] = (), source: str = "-"
) -> LintReport:
    people = person_variants(names)
    report = LintReport(
        source=source, names=sorted({n for n in names if n}), to_write=unwritten(text)
    )
    scan = _Scan(text, allowlist, report)
    for rule_id, pattern, check in _patterns(people):
        for m in pattern.finditer(scan.prose):
            if check is None or check(m):
                scan.matched.append((m.start(), m.end()))
                scan.report_match(rule_id, m)
    for rule_id, pattern, check in _fallback_patterns(people):
        for m in pattern.finditer(scan.prose):
            # a fallback speaks only where no main rule matched (reported or allowed)
            if (check is None or check(m)) and not _overlaps(scan.matched, m):
                scan.report_match(rule_id, m)
    report.findings.sort(key=lambda f: (f.line, f.column, f.rule))
    return report


def _overlaps(spans: list[tuple[int, int]], m: re.Match[str]) -> bool:
    return any(a < m.end() and m.start() < b for a, b in spans)


class _Scan:
    """One text being linted: where its lines start, and the spans already matched."""

    def __init__(self, text: str, allowlist: Iterable[str], report: LintReport) -> None:
        allow = [a.strip().lower() for a in allowlist if a.strip()]
        self.off_rules = {a for a in allow if a in RULES}  # whole rules switched off
        self.phrases = [a for a in allow if a not in RULES]  # words that may appear
        self.text, self.prose, self.report = text, mask(text), report
        self.starts = _line_starts(text)
        self.lines = text.splitlines()
        self.taken: dict[str, list[tuple[int, int]]] = {}  # spans already reported, per rule
        self.matched: list[tuple[int, int]] = []  # every span a main rule matched

    def report_match(self, rule_id: str, m: re.Match[str]) -> None:
        if rule_id in self.off_rules or _allowed(self.prose, m.start(), m.end(), self.phrases):
            self.report.allowlisted += 1
            return
        spans = self.taken.setdefault(rule_id, [])
        if _overlaps(spans, m):
            return  # two patterns of one rule on the same words: report it once
        spans.append((m.start(), m.end()))
        line = bisect.bisect_right(self.starts, m.start())
        rule = RULES[rule_id]
        self.report.findings.append(
            Finding(
                line=line,
                column=m.start() - self.starts[line - 1] + 1,
                rule=rule_id,
                text=" ".join(self.text[m.start() : m.end()].split()),
                why=rule.why,
                suggestion=rule.suggestion,
                context=self.lines[line - 1] if line - 1 < len(self.lines) else "",
            )
        )


def person_variants(names: Iterable[str]) -> set[str]:
    """How the people of an incident may appear in prose: 'alice' -> {'alice', 'Alice'}."""
    out: set[str] = set()
    for raw in names:
        name = (raw or "").strip()
        if "@" in name:
            name = name.split("@", 1)[0]
        if len(name) < 3 or name.lower() in _NOT_NAMES or name.lower().endswith(("bot", "[bot]")):
            continue
        forms = {name}
        parts = name.split()
        if len(parts) > 1 and len(parts[0]) >= 3:
            forms.add(parts[0])
        for f in list(forms):
            forms.add(f[:1].upper() + f[1:])
        out |= forms
    return out


def _patterns(people: set[str]) -> list[tuple[str, re.Pattern[str], Check | None]]:
    flags = re.IGNORECASE
    subj = rf"(?:{_PRONOUNS}|{_PERSON_NOUN})"
    pats: list[tuple[str, re.Pattern[str], Check | None]] = [
        (
            "human-error",
            re.compile(
                rf"\b(?:human|operator|engineer|pilot|manual)\s+(?:error|mistake)s?\b"
                rf"|\b(?:the\s+)?(?:engineer|operator|on-?call(?:er)?|developer)'s\s+(?:{_FAULT})\b",
                flags,
            ),
            None,
        ),
        (
            "should-have",
            re.compile(r"\b(?:should(?:n't|\s+not)?\s+have|should've|ought\s+to\s+have)\b", flags),
            None,
        ),
        ("if-only", re.compile(r"\bif\s+only\b", flags), None),
        ("careless", re.compile(r"\bcareless(?:ly|ness)?\b", flags), None),
        ("negligent", re.compile(r"\bneglig(?:ent|ently|ence)\b", flags), None),
        ("person-failed-to", re.compile(rf"\b{subj}\s+{_ADVERB}failed\s+to\b", flags), None),
        ("person-failed-to", re.compile(rf"\bfailed\s+to\s+(?:{_MIND})\b", flags), None),
        ("person-as-cause", re.compile(rf"\b{subj}\s+{_ADVERB}(?:forgot|neglected|overlooked|ignored|didn't\s+bother|messed\s+up|botched)\b", flags), None),
    ]  # fmt: skip
    if people:
        alt = "|".join(re.escape(p) for p in sorted(people, key=len, reverse=True))
        name = rf"(?P<name>{alt})\b"
        is_person = _name_check(people)
        pats += [
            ("person-failed-to", re.compile(rf"\b{name}\s+{_ADVERB}failed\s+to\b", flags), is_person),
            ("person-as-cause", re.compile(rf"\b(?:caused|introduced|broken)\s+by\s+{name}", flags), is_person),
            ("person-as-cause", re.compile(rf"\b(?:because\s+(?:of\s+)?|due\s+to\s+|thanks\s+to\s+|blamed?\s+(?:on\s+)?|blaming\s+){name}", flags), is_person),
            ("person-as-cause", re.compile(rf"\b{name}(?:'s)?\s+(?:\w+\s+)?(?:{_CAUSE_VERBS})\b", flags), is_person),
            ("person-as-cause", re.compile(rf"\b{name}'s\s+(?:{_FAULT})\b", flags), is_person),
            ("person-as-cause", re.compile(rf"\b{name}\s+(?:is|was)\s+(?:to\s+blame|at\s+fault|responsible\s+for\s+(?:the\s+)?(?:outage|incident|failure|breakage|problem))", flags), is_person),
        ]  # fmt: skip
    return pats


def _fallback_patterns(people: set[str]) -> list[tuple[str, re.Pattern[str], Check | None]]:
    """Checked after the others, only on words no other rule reported."""
    # Names the incident does not know: a capitalised word that is not a system, a month or a
    # sentence opener, as the subject of a blame verb or the owner of a fault.
    anyone = r"(?<![\w'.-])(?P<name>[A-Z][a-z]{2,})"
    determiner = r"(?<!\bthe )(?<!\bThe )(?<!\bour )(?<!\bOur )(?<!\ba )(?<!\bA )"
    unknown = _unknown_name_check(people)
    return [
        ("person-failed-to", re.compile(rf"{determiner}{anyone}\s+{_ADVERB}(?i:failed\s+to)\b"), unknown),
        ("person-as-cause", re.compile(rf"{determiner}{anyone}\s+{_ADVERB}(?i:{_BLAME_VERBS})\b"), unknown),
        ("person-as-cause", re.compile(rf"{determiner}{anyone}'s\s+(?:\w+\s+)?(?i:{_FAULT}|bad\s+\w+|careless\s+\w+|untested\s+\w+|commit\s+caused)\b"), unknown),
        ("person-as-cause", re.compile(rf"(?i:\b(?:caused|introduced|broken)\s+by|\bbecause\s+of|\bdue\s+to|\bblame[sd]?\s+(?:on|lies\s+with)|\bblame\s+for\s+.{{0,40}}\s+lies\s+with|\bis\s+on|\bwas\s+on)\s+{anyone}\b"), unknown),
        ("person-as-cause", re.compile(rf"{anyone}\s+(?i:is|was)\s+(?i:to\s+blame|at\s+fault|responsible\s+for\s+the\s+(?:outage|incident|failure))"), unknown),
    ]  # fmt: skip


def _unknown_name_check(people: set[str]) -> Check:
    def check(m: re.Match[str]) -> bool:
        word = m.group("name")
        lowered = word.lower()
        if word in people:
            return True
        return not (
            lowered in _NOT_PEOPLE or lowered in _NOT_NAMES or lowered.endswith(_NOT_NAME_SUFFIX)
        )

    return check


def _name_check(people: set[str]) -> Check:
    def check(m: re.Match[str]) -> bool:
        return m.group("name") in people  # names match case-sensitively ('Mark', not 'mark')

    return check


def mask(text: str) -> str:
    """``text`` with everything that is not prose blanked out (same length, same line breaks)."""
    chars = list(text)

    def blank(a: int, b: int) -> None:
        for i in range(a, b):
            if chars[i] != "\n":
                chars[i] = " "

    for m in re.finditer(r"^ {0,3}(```|~~~).*?(?:^ {0,3}\1[^\n]*$|\Z)", text, re.M | re.S):
        blank(m.start(), m.end())
    for pattern in (r"<!--.*?(?:-->|\Z)", r"`[^`\n]*`", r"\]\([^)\n]*\)", r"<?https?://[^\s)>]+>?"):
        for m in re.finditer(pattern, text, re.S):
            blank(m.start(), m.end())
    return "".join(chars)


def _allowed(prose: str, start: int, end: int, phrases: list[str]) -> bool:
    lowered = prose.lower()
    for phrase in phrases:
        for m in re.finditer(re.escape(phrase), lowered):
            if m.start() < end and start < m.end():
                return True
    return False


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts += [m.end() for m in re.finditer("\n", text)]
    return starts
