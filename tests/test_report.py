"""validation.report.write_report on a small real validation (linear regression, gd)."""
import json
import re
import warnings

import pytest

import dmft
from validation.compare import compare
from validation.report import write_report

SMALL = dict(method="gd", dt=0.2, t_max=2)
IMG = '<img src="data:image/png;base64,'
FIGURES_PER_OBSERVABLE = 3


@pytest.fixture(scope="module")
def validation():
    theory = dmft.solve("linear-regression", **SMALL)
    sims = [dmft.simulate("linear-regression", d=d, seeds=3, **SMALL) for d in (100, 200)]
    return compare(theory, sims, threshold=4.0)


@pytest.fixture(scope="module")
def report(validation, tmp_path_factory):
    directory = tmp_path_factory.mktemp("out") / "nested" / "report"
    return directory, write_report(directory, validation)


def test_creates_directory_and_files(report):
    directory, path = report
    assert path == directory / "report.html"
    assert path.is_file() and path.stat().st_size > 0
    assert (directory / "summary.json").is_file()


def test_summary_json_is_the_validation_summary(report, validation):
    directory, _ = report
    text = (directory / "summary.json").read_text()
    assert text == json.dumps(validation.summary, indent=2)
    summary = json.loads(text)
    assert summary["passed"] == validation.passed
    assert list(summary["observables"]) == validation.observables
    for name in validation.observables:
        entry = summary["observables"][name]
        assert entry["max_abs_z"] == pytest.approx(
            max(c.max_abs_z for c in validation.comparisons if c.observable == name))
        assert entry["passed"] == validation.passed_observable(name)
        assert set(entry["by_size"]) == {"100", "200"}


def test_html_is_self_contained_with_one_image_per_figure(report, validation):
    page = report[1].read_text()
    assert page.count(IMG) == FIGURES_PER_OBSERVABLE * len(validation.observables)
    assert page.count("<img") == page.count(IMG)
    assert not re.search(r'(src|href)="(https?:|//)', page)
    assert "linear-regression" in page
    for name in validation.observables:
        assert name in page
    verdict = "PASS" if validation.passed else "FAIL"
    assert f"Validation of linear-regression: <span class=\"{verdict.lower()}\">{verdict}</span>" in page


def test_failing_validation_is_reported_as_fail(validation, tmp_path):
    strict = compare(validation.theory, validation.simulations, threshold=1e-6)
    page = write_report(tmp_path, strict).read_text()
    assert not strict.passed
    assert '<h1>Validation of linear-regression: <span class="fail">FAIL</span></h1>' in page
    assert json.loads((tmp_path / "summary.json").read_text())["passed"] is False


def test_single_size_has_no_finite_size_slope(validation, tmp_path):
    single = compare(validation.theory, validation.simulations[:1])
    page = write_report(tmp_path, single).read_text()
    assert page.count(IMG) == FIGURES_PER_OBSERVABLE * len(single.observables)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert all(o["finite_size_slope"] is None for o in summary["observables"].values())


def test_text_is_escaped(validation, tmp_path):
    theory = validation.theory
    odd = dmft.Result("<b>model</b>", {"a&b": "<x>"}, theory.t, dict(theory.observables),
                      solver=dict(theory.solver))
    page = write_report(tmp_path, compare(odd, validation.simulations)).read_text()
    assert "<b>model</b>" not in page and "&lt;b&gt;model&lt;/b&gt;" in page
    assert "a&amp;b" in page and "&lt;x&gt;" in page


def test_observable_with_zero_difference_is_drawn_without_warning(validation, tmp_path):
    # e.g. v = 0 exactly in theory and simulation (pure noise): a log axis would have nothing to show
    exact = compare(validation.simulations[0], validation.simulations[:1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        page = write_report(tmp_path, exact).read_text()
    assert page.count(IMG) == FIGURES_PER_OBSERVABLE * len(exact.observables)
