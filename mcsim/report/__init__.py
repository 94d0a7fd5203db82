"""The household report: one self-contained HTML page (``mcsim report``) and the same numbers as JSON.

``data`` gathers what the page shows (the simulation, every withdrawal rule on the same paths, a
trained run's strategy and its comparison) into one :class:`~mcsim.report.data.ReportData`, whose
``to_dict()`` is the JSON; ``html`` renders it, ``charts`` draws the inline SVG charts and ``i18n``
holds the words and the number formats of each language.

Layering: between the CLI and training; imports training, the optimum, the environment and the
core, never the CLI.
"""

from .data import ReportData, build_report
from .html import output_path, render_html, write_report

__all__ = ["ReportData", "build_report", "output_path", "render_html", "write_report"]
