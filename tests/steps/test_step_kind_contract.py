"""The step-kind contract (issue 14, redesign 1): every kind is a ``StepKind[Params]``, every hook
has one default in ``mlsre.steps.base``, and the validator and the preflight learn what a kind
needs from its hooks, never from its name. Third-party kinds: old duck-typed ones are adapted
(with a warning), broken ones are warnings."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mlsre.runbook.validate import validate_text
from mlsre.steps.base import (
    DEFAULT_TIME_LIMIT_S,
    ReadCheck,
    Refusal,
    StepContext,
    StepKind,
    StepResult,
    StepStatus,
)
from mlsre.steps.catalog import KindCatalog, build_catalog, default_catalog
from tests.support.helpers import run

ROOT = Path(__file__).resolve().parents[2]


class ProbeParams(BaseModel):
    target: str = "x"
    timeout_s: float | None = None


class Probe(StepKind[ProbeParams]):
    name = "team.probe"

    def run(self, params: ProbeParams, ctx: StepContext) -> StepResult:
        return StepResult(StepStatus.PASSED, f"probed {params.target}")


def test_every_built_in_kind_subclasses_step_kind_with_its_own_params_and_run() -> None:
    catalog = build_catalog(plugins=False)
    assert catalog.warnings == []
    assert len(catalog.names()) >= 19
    for name, cls in catalog.kinds.items():
        assert issubclass(cls, StepKind), name
        assert cls.name == name
        assert issubclass(cls.Params, BaseModel) and cls.Params is not BaseModel, name
        assert cls.run is not StepKind.run and cls.describe is not StepKind.describe, name
        # one layout: <family>/kinds.py declares every kind
        assert re.fullmatch(r"mlsre\.steps\.[a-z_]+\.kinds", cls.__module__), cls.__module__


def test_the_hooks_defaults_live_in_one_place() -> None:
    kind = Probe()
    params = kind.parse({"target": "db"})
    assert isinstance(params, ProbeParams) and Probe.Params is ProbeParams
    assert kind.mutating is False and kind.mutates(params) is False
    assert kind.person_in_loop is False and kind.sample_fields is None
    assert kind.nested_check is None and kind.preflight_skip == ""
    assert [kind.needs_confirm(params, p) for p in ("diagnose", "mitigate", "verify")] == [
        False,
        True,
        False,
    ]
    assert kind.time_limit(params) == DEFAULT_TIME_LIMIT_S
    assert kind.time_limit(kind.parse({"timeout_s": 5})) == 5
    assert kind.describe(params) == "team.probe"
    assert kind.refusal({"target": "{{ inputs.x }}"}) is None
    assert kind.preflight({"target": "db"}, None) is None
    moved = {"alias": "champion", "from_version": "4", "to_version": "3"}
    result = StepResult(changes=[moved, {"kind": "config", "key": "x"}])
    assert kind.model_changes(result) == [moved]
    assert kind.run(params, StepContext(settings=None)).summary == "probed db"


def test_a_kind_that_raises_in_mutates_counts_as_changing_a_system() -> None:
    class Flaky(Probe):
        name = "team.flaky"

        def mutates(self, params: ProbeParams) -> bool:
            raise RuntimeError("plugin bug")

    assert Flaky().needs_confirm(Flaky().parse({}), "diagnose") is True
    assert Flaky().needs_confirm(None, "diagnose") is False  # params unknown: the class flag


def test_built_in_hooks_answer_for_their_kinds() -> None:
    catalog = default_catalog()
    shell, wait, http = (catalog.instance(n) for n in ("shell", "wait", "http"))
    assert shell.needs_confirm(shell.parse({"argv": ["ls"], "safe": True}), "diagnose") is False
    assert shell.needs_confirm(shell.parse({"argv": ["rm", "x"]}), "diagnose") is True
    assert http.needs_confirm(http.parse({"url": "http://h", "method": "POST"}), "verify")
    refused = shell.refusal({"argv": ["sh", "-c", "echo {{ inputs.x }}"]})
    assert refused is not None and refused.at == ("argv", 2)
    limit = wait.time_limit(wait.parse({"check": {"uses": "note"}, "deadline": "2m"}))
    assert limit == 120 + 30 + 30  # deadline + one interval + the slack for the last poll
    for name in ("manual", "note", "wait"):
        assert catalog.kinds[name].person_in_loop, name
        assert not catalog.instance(name).needs_confirm(None, "mitigate"), name


RUNBOOK_HEAD = """\
apiVersion: mlsre/v1
kind: Runbook
id: plugin-kinds
title: Plugin kinds
failure_mode: latency
steps:
"""


def _catalog(*kinds: type[StepKind[Any]]) -> KindCatalog:
    catalog = build_catalog(plugins=False)
    for cls in kinds:
        catalog.add(cls, "test")
    assert catalog.warnings == []
    return catalog


def test_the_validator_asks_a_plugins_hooks_not_its_name() -> None:
    class Exec(Probe):
        """Refuses a templated target; polls a check in `inner`; has a person in the loop."""

        name = "team.exec"
        person_in_loop = True
        nested_check = "inner"
        sample_fields = frozenset({"answer"})

        def refusal(self, raw_with: dict[str, Any]) -> Refusal | None:
            return Refusal("never templated", ("target",)) if "{{" in raw_with["target"] else None

    class NestedParams(ProbeParams):
        inner: dict[str, Any] = {}

    class Nesting(StepKind[NestedParams]):
        name = "team.nesting"
        person_in_loop = True
        nested_check = "inner"

        def run(self, params: NestedParams, ctx: StepContext) -> StepResult:
            return StepResult()

    text = RUNBOOK_HEAD + (
        "  - id: a\n    phase: mitigate\n    uses: team.exec\n"
        "    with: {target: '{{ inputs.t }}'}\n    expect: answer == 1 and colour == 2\n"
        "  - id: b\n    phase: mitigate\n    uses: team.nesting\n"
        "    with: {inner: {uses: registry.rollback, with: {model: m}}}\n"
        "  - id: c\n    phase: verify\n    uses: team.nesting\n"
        "    with: {inner: {uses: prometheus.qurey, with: {query: up}}}\n"
    )
    report = validate_text(text, "plugin.yaml", _catalog(Exec, Nesting))
    got = {(p.line, p.message.split(":")[0].split(";")[0]) for p in report.problems}
    assert (10, "never templated") in got, got
    assert any("colour" in p.message and p.line == 11 for p in report.problems), got
    assert any("a team.nesting may only poll a check" in p.message for p in report.problems)
    assert any("unknown step kind 'prometheus.qurey'" in p.message for p in report.problems)
    # a person is in the loop: no "mitigation step has no `confirm`" for either
    assert not any("has no `confirm`" in p.message for p in report.problems), got


def test_the_preflight_runs_a_plugins_stand_ins_and_skips_what_it_says() -> None:
    from mlsre.preflight.plan import plan

    class Deploy(Probe):
        name = "team.deploy"
        mutating = True

        def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
            return [ReadCheck("http", {"url": f"{settings}/{raw_with['target']}"})]

    class Page(Probe):
        name = "team.page"
        preflight_skip = "pages a person"

    class Poll(Probe):
        name = "team.poll"

        def preflight(self, raw_with: dict[str, Any], settings: Any) -> list[ReadCheck] | None:
            return [ReadCheck("team.probe", {"target": "once"}, "value > 0")]

    text = RUNBOOK_HEAD + (
        "  - id: page\n    uses: team.page\n"
        "  - id: deploy\n    phase: mitigate\n    uses: team.deploy\n    with: {target: api}\n"
        "    confirm: Deploy?\n"
        "  - id: settle\n    phase: mitigate\n    uses: team.poll\n    confirm: Wait?\n"
        "  - id: look\n    phase: verify\n    uses: team.probe\n"
        "  - id: again\n    phase: verify\n    uses: team.poll\n"
    )
    catalog = _catalog(Probe, Deploy, Page, Poll)
    report = validate_text(text, "plugin.yaml", catalog)
    assert report.problems == [] and report.runbook is not None
    p = plan(report.runbook, "http://svc", catalog)
    assert p.not_run == {
        "page": "pages a person",
        "settle": "changes a system: a preflight never runs it",  # a mitigation: never run
    }
    assert p.runbook is not None
    copies = {s.id: (s.uses, s.with_, s.phase.value) for s in p.runbook.steps}
    assert copies == {
        "deploy": ("http", {"url": "http://svc/api"}, "diagnose"),
        "look": ("team.probe", {}, "diagnose"),
        "again": ("team.probe", {"target": "once"}, "diagnose"),
    }
    assert next(s for s in p.runbook.steps if s.id == "again").expect == "value > 0"


def test_validator_and_preflight_modules_name_no_step_kind() -> None:
    """Alongside the behaviour tests above: no module of the validator or the preflight spells a
    kind's name (quoted), so a kind's knowledge stays with the kind."""
    names = default_catalog().names()
    files = [
        *(ROOT / "mlsre" / "runbook" / f for f in ("validate.py", "checks.py", "schema.py")),
        *(ROOT / "mlsre" / "runbook" / f for f in ("view.py", "messages.py")),
        *sorted((ROOT / "mlsre" / "preflight").glob("*.py")),
    ]
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = [n for n in names if f'"{n}"' in text or f"'{n}'" in text or f"`{n}`" in text]
        assert not found, f"{path.name} names {found}"


def test_docs_list_every_hook_of_the_contract() -> None:
    text = (ROOT / "docs" / "step-kinds.md").read_text(encoding="utf-8")
    table = text.split("## The contract", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)", table, flags=re.M))
    hooks = {n for n in vars(StepKind) if not n.startswith("_")} | set(StepKind.__annotations__)
    required = {"name", "Params", "run"}  # what every kind provides (the prose above the table)
    assert all(f"`{n}`" in text for n in required)
    assert documented == hooks - required


def test_the_documented_plugin_example_is_a_valid_kind() -> None:
    text = (ROOT / "docs" / "step-kinds.md").read_text(encoding="utf-8")
    section = text.split("## Third-party kinds", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/step-kinds.md", "exec"), namespace)
    catalog = _catalog(*namespace["KINDS"])
    kind = catalog.instance("team.ping")
    assert kind.describe(kind.parse({"url": "http://svc"})) == "ping http://svc"
    assert not kind.needs_confirm(None, "diagnose") and kind.needs_confirm(None, "mitigate")


# ---- third-party kinds through real entry points ---------------------------------------------

OLD_SHAPE = """\
from pydantic import BaseModel
from mlsre.steps.base import StepResult, StepStatus

class P(BaseModel):
    url: str
    method: str = "GET"

class Ping:
    '''Ping a team service (the duck-typed contract, before StepKind).'''
    name = 'team.ping'
    Params = P
    mutating = False
    confirm_free = True
    def mutates(self, params): return params.method != 'GET'
    def timeout_s(self, params): return 7.0
    def describe(self, params): return f'ping {params.url}'
    def run(self, params, ctx): return StepResult(StepStatus.PASSED, f'pong from {params.url}')

KINDS = [Ping]
"""

BROKEN = """\
from pydantic import BaseModel
from mlsre.steps.base import StepKind

class P(BaseModel):
    url: str

class NoRun(StepKind[P]):
    name = 'team.norun'

class NoParams:
    name = 'team.noparams'
    mutating = False
    def describe(self, params): return ''
    def run(self, params, ctx): return None

KINDS = [NoRun, NoParams]
"""


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution (dist-info on sys.path): one old-shape kind, two broken ones."""
    site = tmp_path / "site"
    dist = site / "mlsre_contract_plugins-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mlsre-contract-plugins\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[mlsre.steps.v1]\nold = mlsre_contract_old\nbroken = mlsre_contract_broken\n"
    )
    (site / "mlsre_contract_old.py").write_text(OLD_SHAPE)
    (site / "mlsre_contract_broken.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(site))
    default_catalog.cache_clear()
    yield site
    default_catalog.cache_clear()
    for module in ("mlsre_contract_old", "mlsre_contract_broken"):
        sys.modules.pop(module, None)


def test_an_old_shape_plugin_is_adapted_with_a_warning(plugins: Path) -> None:
    catalog = build_catalog()
    cls = catalog.get("team.ping")
    assert issubclass(cls, StepKind) and cls.__name__ == "Ping"
    assert any(
        "'team.ping'" in w and "does not subclass mlsre.steps.base.StepKind" in w
        for w in catalog.warnings
    ), catalog.warnings
    kind = cls()
    params = kind.parse({"url": "http://svc"})
    assert kind.describe(params) == "ping http://svc"
    assert kind.time_limit(params) == 7.0
    assert cls.person_in_loop and not kind.needs_confirm(params, "mitigate")
    assert kind.needs_confirm(kind.parse({"url": "u", "method": "POST"}), "diagnose")


def test_broken_plugins_are_warnings_and_the_rest_still_runs(plugins: Path) -> None:
    catalog = build_catalog()
    assert "team.norun" not in catalog.kinds and "team.noparams" not in catalog.kinds
    assert any("team.norun: needs `run`" in w for w in catalog.warnings), catalog.warnings
    assert any("team.noparams: `Params` is not a pydantic model" in w for w in catalog.warnings)
    assert "shell" in catalog.kinds and "team.ping" in catalog.kinds


def test_an_old_shape_plugin_runs_in_a_runbook(plugins: Path, isolated: Path) -> None:
    (isolated / "mlsre.yaml").write_text("runbook_paths: [./runbooks]\n")
    (isolated / "runbooks").mkdir()
    (isolated / "runbooks" / "ping.yaml").write_text(
        RUNBOOK_HEAD.replace("plugin-kinds", "ping")
        + "  - id: ping\n    uses: team.ping\n    with: {url: 'http://svc'}\n"
        "    guidance: Ping it.\n"
        "  - id: tell\n    phase: mitigate\n    uses: team.ping\n    with: {url: 'http://tell'}\n"
        "    guidance: A person is in the loop, so no confirm.\n"
        "  - id: check\n    phase: verify\n    uses: team.ping\n    with: {url: 'http://v'}\n"
        "    guidance: Again.\n"
    )
    checked = run("runbook", "validate", str(isolated / "runbooks" / "ping.yaml"))
    assert checked.exit_code == 0, checked.output
    assert "does not subclass mlsre.steps.base.StepKind" in checked.stderr
    assert "team.norun" in checked.stderr
    r = run("runbook", "run", "ping", "--no-incident", "--non-interactive", "--json")
    steps = {s["step"]: s for s in json.loads(r.stdout)["steps"]}
    assert (
        steps["ping"]["status"] == "passed" and steps["ping"]["summary"] == "pong from http://svc"
    )
    assert steps["tell"]["status"] == "passed", steps["tell"]
