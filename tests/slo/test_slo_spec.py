"""OpenSLO files: what loads, and broken files failing with clear, located errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from mlsre.errors import NotFoundError
from mlsre.slo.promql import error_ratio, prom_duration
from mlsre.slo.spec import Budgeting, IndicatorKind, find_slo, load_slos, parse_slos
from mlsre.yamlfile import YamlProblems, parse_yaml_all

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "docs" / "examples" / "slos"

GOOD = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: api-availability
spec:
  service: api
  indicator:
    metadata:
      name: api-non-5xx
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: model_requests_total{code=~"5.."}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: model_requests_total
  timeWindow:
    - duration: 28d
      isRolling: true
  budgetingMethod: Occurrences
  objectives:
    - target: 0.995
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(YamlProblems) as info:
        parse_slos(textwrap.dedent(text), "slos/x.yaml")
    return [str(p) for p in info.value.problems]


def test_documented_examples_load_with_all_ml_sli_kinds() -> None:
    slos = {s.name: s for s in load_slos([EXAMPLES])}
    assert set(slos) == {
        "model-availability",
        "model-latency-p99",
        "model-feature-drift",
        "model-freshness",
        "model-feature-nulls",
    }
    avail = slos["model-availability"]
    assert avail.indicator is IndicatorKind.RATIO
    assert avail.budgeting is Budgeting.OCCURRENCES
    assert avail.objective == 0.999
    assert avail.window_s == 30 * 86400
    assert avail.bad_query == 'model_requests_total{model="fraud-detector",code=~"5.."}'
    # the SLI and the DataSource were resolved from other objects (the SLO starts at line 23)
    assert avail.location.endswith("model-availability.yaml:23")
    drift = slos["model-feature-drift"]
    assert drift.objective == pytest.approx(0.95)  # from targetPercent: 95
    assert (drift.op, drift.value, drift.slice_s) == ("lt", 0.2, 600)
    assert slos["model-freshness"].slice_s == 3600


def test_error_ratio_promql_for_each_indicator_shape() -> None:
    slos = {s.name: s for s in load_slos([EXAMPLES])}
    assert error_ratio(slos["model-availability"], 3600) == (
        '(sum(increase(model_requests_total{model="fraud-detector",code=~"5.."}[1h])))'
        ' / (sum(increase(model_requests_total{model="fraud-detector"}[1h])))'
    )
    # the share of slices where the metric breaks `lt 0.2`, sampled once per slice (the range
    # is one second short of 6h so it holds exactly 36 slices)
    assert error_ratio(slos["model-feature-drift"], 6 * 3600) == (
        'avg_over_time(((max(model_feature_psi{model="fraud-detector"})) >= bool 0.2)[21599s:10m])'
    )
    # the {{.window}} placeholder becomes the slice; a window shorter than a slice uses itself
    latency = error_ratio(slos["model-latency-p99"], 300)
    assert "[5m]" in latency and latency.endswith("> bool 0.3)[299s:5m])")
    good = parse_slos(GOOD.replace("bad:", "good:"))[0]
    assert error_ratio(good, 1800).startswith("1 - ((sum(increase(")
    assert prom_duration(5400) == "90m" and prom_duration(86400 * 3) == "3d"


def test_multi_document_file_and_multiple_objectives() -> None:
    text = GOOD.replace(
        "    - target: 0.995\n",
        "    - displayName: Three nines\n      target: 0.999\n    - targetPercent: 99\n",
    )
    slos = parse_slos("---\n" + text + "---\n")
    assert [s.name for s in slos] == ["api-availability-three-nines", "api-availability-2"]
    assert [s.objective for s in slos] == [0.999, 0.99]
    assert find_slo(slos, "api-availability-2").objective == 0.99
    with pytest.raises(NotFoundError) as info:
        find_slo(slos, "nope")
    assert "api-availability-2" in (info.value.hint or "")


def test_parse_yaml_all_keeps_file_lines() -> None:
    docs = parse_yaml_all("a: 1\n---\nb:\n  c: 2\n", "f.yaml")
    assert [d.data for d in docs] == [{"a": 1}, {"b": {"c": 2}}]
    assert docs[1].mark(("b", "c")).line == 4


def test_unknown_kind_names_the_known_ones_at_its_line() -> None:
    [msg] = problems_of(GOOD.replace("kind: SLO", "kind: Slo"))
    assert msg.startswith("slos/x.yaml:2:1: kind: unknown kind 'Slo'; expected one of SLO, SLI")


def test_missing_objective() -> None:
    text = GOOD.replace("  objectives:\n    - target: 0.995\n", "")
    [msg] = problems_of(text)
    assert msg == "slos/x.yaml:5:1: spec.objectives: missing required field 'objectives'"
    [msg] = problems_of(GOOD.replace("    - target: 0.995\n", "    - displayName: x\n"))
    assert "objective needs 'target' (e.g. 0.999) or 'targetPercent'" in msg
    assert msg.startswith("slos/x.yaml:28:7: spec.objectives[0]")


@pytest.mark.parametrize(
    ("objective", "expected"),
    [
        ("target: 1", "target must be between 0 and 1, exclusive (0.999 = 99.9%); 1.0 leaves no"),
        ("target: 1.5", "1.5 leaves no error budget"),
        ("target: 0", "0.0 is not an objective"),
        ("targetPercent: 100", "targetPercent must be between 0 and 100"),
    ],
)
def test_target_at_or_above_one_is_refused(objective: str, expected: str) -> None:
    [msg] = problems_of(GOOD.replace("target: 0.995", objective))
    assert msg.startswith("slos/x.yaml:28:7: spec.objectives[0].target")
    assert expected in msg


@pytest.mark.parametrize("duration", ["30 days", "1M", "0d", "1h30m", "-5d"])
def test_bad_duration(duration: str) -> None:
    [msg] = problems_of(GOOD.replace("duration: 28d", f"duration: {duration}"))
    assert msg.startswith("slos/x.yaml:24:7: spec.timeWindow[0].duration:")
    assert f"'{duration}' is not a duration; use a whole number and one unit" in msg


def test_other_mistakes_are_each_located() -> None:
    cases = {
        "apiVersion: openslo/v1alpha": (
            "apiVersion: openslo/v1",
            1,
            "not supported; expected 'openslo/v1'",
        ),
        "  budgetingMethod: Ocurrences": ("  budgetingMethod: Occurrences", 26, "budgetingMethod"),
        "  name: API_availability": ("  name: api-availability", 4, "is not a valid name"),
        "      isRolling: false": ("      isRolling: true", 24, "only rolling time windows"),
        "  servise: api": ("  service: api", 6, "unknown field 'servise'"),
        "              query: sum(model_requests_total)": (
            "              query: model_requests_total",
            17,
            "must contain {{.window}}",
        ),
        "            type: Datadog": (
            "            type: Prometheus",
            14,
            "'Datadog' is not supported",
        ),
    }
    for broken, (good, line, words) in cases.items():
        text = GOOD.replace(good, broken, 1)
        assert text != GOOD, broken
        msgs = problems_of(text)
        assert any(f"slos/x.yaml:{line}:" in m and words in m for m in msgs), (broken, msgs)


def test_references_to_missing_sli_and_datasource(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        textwrap.dedent(
            """\
            apiVersion: openslo/v1
            kind: SLO
            metadata: {name: s1}
            spec:
              service: svc
              indicatorRef: no-such-sli
              timeWindow: [{duration: 7d}]
              objectives: [{target: 0.9}]
            """
        )
    )
    (tmp_path / "b.yml").write_text(
        textwrap.dedent(
            """\
            apiVersion: openslo/v1
            kind: SLI
            metadata: {name: thresh}
            spec:
              thresholdMetric:
                metricSource: {metricSourceRef: nowhere, spec: {query: up}}
            ---
            apiVersion: openslo/v1
            kind: SLO
            metadata: {name: s2}
            spec:
              service: svc
              indicatorRef: thresh
              timeWindow: [{duration: 7d}]
              objectives: [{target: 0.9, op: gt, value: 0}]
            """
        )
    )
    with pytest.raises(YamlProblems) as info:
        load_slos([tmp_path])
    msgs = [str(p) for p in info.value.problems]
    assert any("a.yaml:6:3: spec.indicatorRef: no SLI named 'no-such-sli'" in m for m in msgs)
    assert any(
        "b.yml:6:20: spec.thresholdMetric.metricSource.metricSourceRef: no DataSource named "
        "'nowhere' (known: none)" in m
        for m in msgs
    ), msgs
    assert "(and 1 more)" in str(info.value)


def test_threshold_objective_needs_op_and_value_and_timeslices_need_a_window() -> None:
    thresh = GOOD.replace(
        """      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: model_requests_total{code=~"5.."}
        total:
          metricSource:
            type: Prometheus
            spec:
              query: model_requests_total
""",
        """      thresholdMetric:
        metricSource:
          spec: {query: up}
""",
    )
    [msg] = problems_of(thresh)
    assert "needs 'op' (lte, lt, gte, gt) and 'value'" in msg
    timeslices = thresh.replace("Occurrences", "Timeslices").replace(
        "- target: 0.995", "- {target: 0.995, op: gte, value: 1}"
    )
    [msg] = problems_of(timeslices)
    assert "Timeslices budgeting needs timeSliceWindow" in msg
    ok = parse_slos(timeslices.replace("value: 1}", "value: 1, timeSliceWindow: 2m}"))[0]
    assert ok.slice_s == 120


def test_service_and_alert_policy_objects_are_tolerated_and_duplicates_refused() -> None:
    service = "apiVersion: openslo/v1\nkind: Service\nmetadata: {name: api}\nspec: {}\n"
    assert [s.name for s in parse_slos(service + "---\n" + GOOD)] == ["api-availability"]
    msgs = problems_of(GOOD + "---\n" + GOOD)
    assert msgs == [
        "slos/x.yaml:33:3: metadata.name: duplicate SLO name 'api-availability' "
        "(first at slos/x.yaml:1)"
    ]


def test_empty_and_non_mapping_files() -> None:
    assert problems_of("") == ["slos/x.yaml:1:1: file is empty"]
    assert problems_of("- a\n- b\n")[0].endswith(
        "an OpenSLO object must be a mapping (apiVersion, kind, ...)"
    )


def test_bundled_examples_are_the_documented_ones() -> None:
    from mlsre.slo.examples import example_files

    files = example_files()
    assert files == {p.name: p.read_text() for p in sorted(EXAMPLES.glob("*.yaml"))}
    assert len(parse_slos("---\n".join(files.values()))) == 5
