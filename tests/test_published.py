"""The published reports: each ``docs/results/NAME/report.md`` is what ``cavitykit report`` writes from the
``weights.nc`` beside it, today, with no run directory and no data file; and every weights file opens as a
tree."""

from pathlib import Path

import pytest
import xarray as xr

from cavitykit.report import write_report

RESULTS = Path(__file__).resolve().parents[1] / "docs" / "results"
PUBLISHED = sorted(path.parent.name for path in RESULTS.glob("*/weights.nc"))


def test_every_published_report_has_its_weights_file():
    reports = sorted(path.parent.name for path in RESULTS.glob("*/report.md"))
    assert reports == PUBLISHED and len(PUBLISHED) >= 5


@pytest.mark.parametrize("name", PUBLISHED)
def test_a_weights_file_opens_as_a_tree_of_groups_aligned_with_the_run(name):
    with xr.open_datatree(RESULTS / name / "weights.nc", engine="netcdf4") as tree:
        controls = tree.attrs.get("controls", "").split()
        assert sorted(tree["controls"].children if controls else []) == sorted(controls)
        for control in controls:
            assert (tree[f"controls/{control}"]["round"].values == tree["round"].values).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", PUBLISHED)
def test_a_published_report_is_what_its_weights_file_re_judges_today(name, tmp_path):
    again = write_report(RESULTS / name / "weights.nc", out=tmp_path / name, progress=False).read_text()
    published = (RESULTS / name / "report.md").read_text()
    assert again == published, f"docs/results/{name}/report.md is stale: regenerate it from its weights.nc"


@pytest.mark.slow
def test_the_results_pages_are_what_the_weights_and_sweep_files_give_today():
    from cavitykit.report.published import results_pages

    pages = results_pages(RESULTS)
    assert RESULTS / "README.md" in pages
    for path, text in pages.items():
        assert path.read_text() == text, f"{path.relative_to(RESULTS)} is stale: run `cavitykit index docs/results`"
