"""The README's Python examples run as written: every ```python block, each on its own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(text: str) -> dict[str, str]:
    """Each ```python block by the heading above it (and its line), in the README's order."""
    blocks = {}
    for match in BLOCK.finditer(text):
        before = text[: match.start()]
        headings = re.findall(r"^#+ (.+)$", before, flags=re.MULTILINE)
        line = before.count("\n") + 1
        blocks[f"{headings[-1] if headings else 'top'} (line {line})"] = match.group(1)
    return blocks


BLOCKS = python_blocks(README.read_text(encoding="utf-8"))


def test_the_extraction_finds_the_blocks() -> None:
    assert len(BLOCKS) >= 2
    assert any("solve_household" in code for code in BLOCKS.values())
    assert python_blocks("text\n```python\nx = 1\n```\n```bash\nls\n```\n") == {"top (line 2)": "x = 1\n"}


@pytest.mark.parametrize("name", list(BLOCKS))
def test_readme_python_block_runs(name: str) -> None:
    code = compile(BLOCKS[name], f"README.md: {name}", "exec")
    exec(code, {"__name__": "readme_example"})  # a fresh namespace: a block may use only what it defines
