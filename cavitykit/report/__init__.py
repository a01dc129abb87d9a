"""``cavitykit report RUN``: figures and ``report.md`` with a verdict per claim, computed from the data.

* ``writer``: judges the claims (``analysis.judge``), computes the numbers beside them and the figures,
  and writes the report folder whole;
* ``markdown``: formats ``report.md`` from what the writer computed, and nothing else.
"""

from cavitykit.report.markdown import VERDICTS, ReportText, report_markdown
from cavitykit.report.writer import run_name, write_report

__all__ = ["VERDICTS", "ReportText", "report_markdown", "run_name", "write_report"]
