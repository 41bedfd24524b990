"""The manual (README.md and docs/) stays true to the code.

- every relative link and ``#anchor`` resolves to a file and a heading (GitHub's slug rules);
- every ``ser-bench ...`` line of a ```bash block parses with the real argument parser, so an option
  renamed in the code but not in the docs fails here; the cheap ones (``list``, ``plugins``) also run;
- the quick start's commands are the Makefile's;
- python blocks preceded by ``<!-- example:run -->`` run in a temporary folder
  (``<!-- example:run setup="ser-bench ..." -->`` runs that command there first);
- the plugin reference pages are what ``scripts/plugin_docs.py`` writes now;
- the scripts, benchmarks and tests the docs name exist.

Nothing here needs a corpus, the network or ../shared.
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import shutil
import unicodedata
from pathlib import Path

import pytest

from ser_bench.cli.main import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^(`{3,})([\w+-]*)[^\n]*\n(.*?)^\1[ \t]*$", re.S | re.M)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
SHELL_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "2>&1", "&"}
CHEAP = {"list", "plugins"}  # subcommands run for real: no corpus, no training, nothing written


def ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def without_blocks(text: str) -> str:
    """The text with fenced blocks and HTML comments blanked (a ``# comment`` in a block is no heading)."""
    text = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    return re.sub(r"<!--.*?-->", "", text, flags=re.S)


def without_code(text: str) -> str:
    """The text with fenced blocks, HTML comments and inline code spans blanked (they hold no links)."""
    return re.sub(r"(`+)(?:(?!\1).)+?\1", "``", without_blocks(text), flags=re.S)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercased, punctuation but '-' and '_' dropped,
    spaces to '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    kept = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LNM")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for match in HEADING.finditer(without_blocks(path.read_text())):
        base = slug(match.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def test_slugs_follow_github():
    assert slug("Self-supervised speech features (`--feature ssl`)") == "self-supervised-speech-features---feature-ssl"
    assert slug("Reproducing the paper: `ser-bench reproduce feng2020`") == \
        "reproducing-the-paper-ser-bench-reproduce-feng2020"
    assert slug("Method (what the paper states, and what we chose)") == "method-what-the-paper-states-and-what-we-chose"
    assert slug("Losses, encoders and heads") == "losses-encoders-and-heads"


@pytest.mark.parametrize("doc", DOCS, ids=ids(DOCS))
def test_every_relative_link_and_anchor_resolves(doc):
    broken = []
    for target in LINK.findall(without_code(doc.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        file = (doc.parent / path).resolve() if path else doc
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and file.suffix == ".md" and anchor not in anchors(file):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {file.relative_to(ROOT)}")
        elif not str(file).startswith(str(ROOT)):
            broken.append(f"{target}: outside the repository")
    assert not broken, f"{doc.relative_to(ROOT)}:\n" + "\n".join(broken)


def blocks(lang: str):
    """(doc, the line before the block, the block's text) for every fenced block of that language."""
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            if match.group(2) == lang:
                before = [line for line in text[:match.start()].splitlines() if line.strip()]
                yield doc, before[-1] if before else "", match.group(3)


def commands(block: str):
    """The argument lists of the ``ser-bench`` command lines of a bash block (``...`` placeholders dropped)."""
    for line in re.sub(r"\\\n", " ", block).splitlines():
        words = shlex.split(line, comments=True)
        if not words or not (words[0] == "ser-bench" or words[0].endswith("/ser-bench")):
            continue
        args = []
        for word in words[1:]:
            if word in SHELL_OPERATORS:
                break
            if word != "...":
                args.append(word)
        yield line.strip(), args


CLI_LINES = [(doc, line, args) for doc, _, block in blocks("bash") for line, args in commands(block)]


def test_the_docs_show_commands():
    assert len(CLI_LINES) >= 20
    assert {doc.name for doc, _, _ in CLI_LINES} >= {"README.md", "guide.md", "method.md", "writing.md"}


def strict_parser():
    """The CLI's parser without prefix matching, so that a doc still writing an option the code renamed
    to a longer name (``--validation-speakers`` -> ``--validation-speakers-n``) is not read as its prefix."""
    import argparse

    parser = build_parser()
    pending = [parser]
    while pending:
        one = pending.pop()
        one.allow_abbrev = False
        for action in one._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending += list(action.choices.values())
    return parser


def test_the_strict_parser_refuses_abbreviations():
    with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
        strict_parser().parse_args(["run", "--validation-speaker", "2"])


@pytest.mark.parametrize("doc,line,args", CLI_LINES,
                         ids=[f"{d.relative_to(ROOT)}: {text[:70]}" for d, text, _ in CLI_LINES])
def test_every_cli_line_parses(doc, line, args):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            strict_parser().parse_args(args)
    except SystemExit as exc:
        assert exc.code == 0, f"{doc.relative_to(ROOT)}: `{line}` does not parse:\n{err.getvalue()}"


@pytest.fixture
def example_folder(tmp_path, monkeypatch):
    """A folder to run examples in: the plugin example of docs/plugins/writing.md saved as
    plugins_dir/my_contrastive.py, as that page says."""
    text = (ROOT / "docs" / "plugins" / "writing.md").read_text()
    plugin = re.search(r"<!-- example-plugin:start -->\s*```python\n(.*?)```", text, re.S).group(1)
    (tmp_path / "plugins_dir").mkdir()
    (tmp_path / "plugins_dir" / "my_contrastive.py").write_text(plugin)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SER_BENCH_PLUGINS_DIR", raising=False)
    return tmp_path


CHEAP_LINES = [(doc, line, args) for doc, line, args in CLI_LINES if CHEAP & set(args)]


@pytest.mark.parametrize("doc,line,args", CHEAP_LINES,
                         ids=[f"{d.relative_to(ROOT)}: {text[:70]}" for d, text, _ in CHEAP_LINES])
def test_cheap_cli_lines_run(doc, line, args, example_folder, capsys):
    assert main(args) == 0, f"{doc.relative_to(ROOT)}: `{line}` failed: {capsys.readouterr().err}"
    if "plugins_dir" in args and "list" in args:
        assert "my_contrastive" in capsys.readouterr().out


def test_cheap_cli_lines_are_there():
    assert any(a[a.index("list"):][:2] == ["list", "losses"] for _, _, a in CHEAP_LINES if "list" in a)


def recipe(makefile: str, target: str) -> list[str]:
    body = re.search(rf"^{target}:[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.M).group(1)
    return shlex.split(re.sub(r"\\\n", " ", body).replace("$(BIN)/", ""))


def test_quick_start_commands_are_the_makefiles():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    quick = readme[readme.index("## Quick start"):readme.index("## Commands")]
    targets = set(re.findall(r"^([\w-]+):", makefile, re.M))
    for target in re.findall(r"^make (\w+)", quick, re.M):
        assert target in targets, f"README's quick start runs `make {target}`, which the Makefile lacks"
    shown = re.search(r"`make demo` runs\s*```bash\n(.*?)```", quick, re.S).group(1)
    assert shlex.split(shown) == recipe(makefile, "demo")
    pin = re.search(r"^TORCH_SPEC \?= (\S+)", makefile, re.M).group(1)
    assert f"`{pin}`" in quick and f"install {pin} " in quick


def runnable_python():
    for doc, before, block in blocks("python"):
        marker = re.fullmatch(r'<!-- example:run(?: setup="([^"]*)")? -->', before.strip())
        if marker:
            yield doc, marker.group(1), block


RUNNABLE = list(runnable_python())


def test_the_docs_have_runnable_examples():
    assert RUNNABLE, "no python block is marked <!-- example:run -->"


@pytest.mark.parametrize("doc,setup,block", RUNNABLE, ids=[str(d.relative_to(ROOT)) for d, _, _ in RUNNABLE])
def test_marked_python_examples_run(doc, setup, block, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    if setup:
        args = shlex.split(setup)
        assert args[0] == "ser-bench"
        for folder in {a for a in args if a.startswith("results/")}:  # a copy: the board cache stays out of the repo
            shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns(".*"))
        assert main(args[1:]) == 0, capsys.readouterr().err
    exec(compile(block, f"{doc.relative_to(ROOT)} example", "exec"), {"__name__": "__docs_example__"})


def load_script():
    spec = importlib.util.spec_from_file_location("plugin_docs", ROOT / "scripts" / "plugin_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plugin_reference_pages_are_up_to_date():
    pages = load_script().pages()
    folder = ROOT / "docs" / "plugins"
    assert {"README.md", "losses.md", "datasets.md", "channels.md"} <= set(pages)
    stale = [name for name, text in pages.items() if not (folder / name).is_file() or (folder / name).read_text() != text]
    generated = {p.name for p in folder.glob("*.md")} - {"writing.md"}
    assert not stale and generated == set(pages), (
        f"docs/plugins/ is out of date ({', '.join(stale) or 'extra pages: ' + str(generated - set(pages))}): "
        "run `python scripts/plugin_docs.py` and commit the pages")


def test_every_kind_has_a_page_with_its_builtins():
    from ser_bench.plugin_api.manager import PluginSettings, load_registry
    from ser_bench.plugin_api.types import SPEC_TYPES

    pages = load_script().pages()
    registry = load_registry(PluginSettings(entry_points=False))
    for kind, spec in SPEC_TYPES.items():
        page = pages[f"{kind}.md"]
        assert f"`ser_bench_{kind}()`" in page and f"`{spec.__name__}`" in page
        for entry in registry.entries(kind):
            if entry.plugin.startswith("ser_bench_plugins."):
                assert f"| `{entry.spec.name}` |" in page


def test_named_scripts_benchmarks_and_tests_exist():
    missing = set()
    for doc in DOCS:
        for path in re.findall(r"`((?:scripts|benchmarks|tests)/[\w./-]*[\w/])", doc.read_text()):
            if not (ROOT / path).exists():
                missing.add(f"{doc.relative_to(ROOT)}: {path}")
    assert not missing, "\n".join(sorted(missing))
