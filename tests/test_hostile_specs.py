"""Hostile and pathological input (issue 20, items 4-6): each gives one clear error naming the
file and line, with a non-zero exit and no traceback, and nothing is written where it should not
be. Every case runs `dsl` in-process; a hang would trip the alarm of `no_hang`."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from dsl.cli import main
from dsl.errors import DslError
from dsl.outputs import output_file, output_path

SPEC = """\
[spec]
title = "tiny"
seeds = 2

[task.s]
data = { kind = "transforms2d", objects = ["apple", "banana"], transforms = ["rotate"] }
n_train = 100

[factors]
lr = [0.1, 0.01]

[train]
task = "s"
arch = "small_cnn"
lr = "{lr}"
"""
LINE = {key: n for n, key in enumerate(
    (line.split(" =")[0] for line in SPEC.splitlines()), 1)}  # "seeds" -> 3, "lr" -> 10 ...


@pytest.fixture(autouse=True)
def no_hang():
    """A case that hangs fails after 60 s instead of stalling the suite (not a speed check:
    each case takes well under a second)."""
    def stop(signum, frame):
        raise TimeoutError("hung")
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, err


def spec(folder, text=SPEC, name="s.toml"):
    path = folder / name
    path.write_text(text)
    return path


def with_spec_line(line: str, text: str = SPEC) -> str:
    """SPEC with `line` added under [spec] (line 4)."""
    return text.replace('seeds = 2\n', f'seeds = 2\n{line}\n')


def assert_problem(capsys, folder, argv, where: str, *words: str) -> str:
    code, err = run(capsys, *argv)
    assert code != 0, err
    assert where in err, err
    for w in words:
        assert w in err, err
    return err


# -- item 4: names --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../escaped/victim", "/tmp/victim", "a/b", ".", "..",
                                  "..x", "a b", ""])
def test_a_spec_name_is_an_identifier_checked_at_its_line(tmp_path, capsys, name):
    path = spec(tmp_path, with_spec_line(f'name = "{name}"'))
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:4 (spec.name)",
                   "a spec name is letters, digits")


def test_a_name_with_dots_and_dashes_is_fine(tmp_path, capsys):
    path = spec(tmp_path, with_spec_line('name = "run-2.v3_a"'))
    assert run(capsys, "validate", path)[0] == 0


def test_report_never_writes_outside_its_folder(tmp_path, capsys):
    path = spec(tmp_path, with_spec_line('name = "../escaped/victim"'))
    out = tmp_path / "deep" / "reports"
    code, err = run(capsys, "report", path, "-o", out, "--store", tmp_path / "store")
    assert code == 2 and "s.toml:4 (spec.name)" in err
    assert not (tmp_path / "deep" / "escaped").exists()


@pytest.mark.parametrize("name", ["../x.html", "/etc/x.html", "a/b.png", "..", ".", ""])
def test_every_writer_refuses_a_file_name_outside_its_folder(tmp_path, name):
    with pytest.raises(DslError, match="plain file name"):
        output_path(tmp_path / "out", name)
    assert output_path(tmp_path / "out", "s-01-chart.png") == tmp_path / "out" / "s-01-chart.png"
    with pytest.raises(DslError):
        output_file(tmp_path / "..")


# -- item 5: git revisions ----------------------------------------------------------------

def _git(repo, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo,
                   check=True, capture_output=True)


def _repo(tmp_path, text=SPEC):
    repo = tmp_path / "repo"
    repo.mkdir()
    spec(repo, text)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    return repo


@pytest.mark.parametrize("rev", ["--output=somefile", "-p", "--all"])
def test_a_revision_never_reaches_git_as_an_option(tmp_path, capsys, monkeypatch, rev):
    repo = _repo(tmp_path)
    monkeypatch.chdir(repo)
    code, err = run(capsys, "diff", f"s.toml@{rev}", "s.toml", "--store", tmp_path / "st")
    assert code == 2 and f"'{rev}' is not a git revision" in err
    assert sorted(os.listdir(repo)) == [".git", "s.toml"]


def test_an_unknown_revision_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(_repo(tmp_path))
    code, err = run(capsys, "diff", "s.toml@nope", "s.toml", "--store", tmp_path / "st")
    assert code == 2 and "no commit 'nope'" in err


def test_diff_at_a_revision_reads_specs_with_the_loader_s_parser(tmp_path, capsys, monkeypatch):
    # a multi-line inline table (TOML 1.1, which the loader's tomli reads and the standard
    # library's tomllib does not) in a spec whose base must come along from git
    text = with_spec_line('extends = "_b.toml"').replace('data = { kind = "transforms2d", ',
                                                         'data = { kind = "transforms2d",\n  ')
    repo = tmp_path / "repo"
    repo.mkdir()
    spec(repo, text)
    spec(repo, '[train]\nepochs = 1\n', "_b.toml")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "one")
    monkeypatch.chdir(repo)
    code, err = run(capsys, "diff", "s.toml@HEAD", "s.toml", "--store", tmp_path / "st")
    assert code == 0, err


def test_no_module_parses_toml_with_another_parser():
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent
    users = [str(p.relative_to(root)) for folder in ("dsl", "engine")
             for p in (root / folder).rglob("*.py") if "tomllib" in p.read_text()]
    assert users == []


# -- item 6: pathological specs -------------------------------------------------------------

def test_tables_nested_past_the_parser_s_limit(tmp_path, capsys):
    deep = "x = " + "{ a = " * 450 + "1" + " }" * 450
    path = spec(tmp_path, SPEC + deep + "\n")
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:16", "nested deeper")


def test_arrays_and_dotted_keys_nested_too_deep(tmp_path, capsys):
    path = spec(tmp_path, SPEC + "z = " + "[" * 40 + "]" * 40 + "\n")
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:16", "nested deeper")
    path = spec(tmp_path, SPEC + ".".join(["k"] * 900) + " = 1\n")
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:16", "nested deeper")
    path = spec(tmp_path, SPEC + "[" + ".".join(["k"] * 1500) + "]\n")
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:16", "nested deeper")


def test_a_set_value_nested_too_deep(tmp_path, capsys):
    path = spec(tmp_path)
    assert_problem(capsys, tmp_path, ["validate", path, "--set", "train.x=" + "[" * 500 +
                                      "]" * 500], "--set", "nested deeper")


@pytest.mark.parametrize("base", [".", "..", "sub"])
def test_extends_a_folder(tmp_path, capsys, base):
    (tmp_path / "sub").mkdir()
    path = spec(tmp_path, with_spec_line(f'extends = "{base}"'))
    err = assert_problem(capsys, tmp_path, ["validate", path], "s.toml:4 (spec.extends)",
                         "is a folder")
    assert "did you mean" not in err


def test_extends_a_fifo_a_dangling_link_and_a_link_loop(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.toml")
    os.symlink("nowhere.toml", tmp_path / "dangling.toml")
    os.symlink("b.toml", tmp_path / "a.toml")
    os.symlink("a.toml", tmp_path / "b.toml")
    for base, words in [("fifo.toml", "not a regular file (a FIFO)"),
                        ("dangling.toml", "is a link to 'nowhere.toml', which does not exist"),
                        ("a.toml", "is a symbolic link that loops")]:
        path = spec(tmp_path, with_spec_line(f'extends = "{base}"'))
        err = assert_problem(capsys, tmp_path, ["validate", path], "s.toml:4 (spec.extends)",
                             words)
        assert f"did you mean '{base}'" not in err


def test_a_spec_path_that_is_a_fifo_or_a_folder(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo.toml")
    assert_problem(capsys, tmp_path, ["validate", tmp_path / "fifo.toml"], "fifo.toml",
                   "not a regular file")
    (tmp_path / "x.toml").mkdir()
    assert_problem(capsys, tmp_path, ["validate", tmp_path / "x.toml"], "x.toml",
                   "is a folder, not a spec file")
    (tmp_path / "empty").mkdir()
    assert_problem(capsys, tmp_path, ["plan", tmp_path / "empty"], "empty", "holds no specs")


def test_a_long_extends_chain(tmp_path, capsys):
    chain = tmp_path / "chain"
    chain.mkdir()
    for i in range(2000):
        (chain / f"c{i}.toml").write_text(f'[spec]\nextends = "c{i + 1}.toml"\n' if i < 1999
                                          else "[spec]\n")
    path = spec(tmp_path, with_spec_line('extends = "chain/c0.toml"'))
    assert_problem(capsys, tmp_path, ["validate", path], "c15.toml:2 (spec.extends)",
                   "extends goes deeper than 16 bases")


def test_a_diamond_of_bases_reads_a_bounded_number_of_files(tmp_path, capsys):
    for i in range(14):  # each level extends the next twice over: 2^14 reads unbounded
        (tmp_path / f"d{i}.toml").write_text(
            f'[spec]\nextends = ["d{i + 1}.toml", "e{i + 1}.toml"]\n')
        (tmp_path / f"e{i}.toml").write_text(f'[spec]\nextends = ["d{i + 1}.toml"]\n')
    (tmp_path / "d14.toml").write_text("[spec]\n")
    (tmp_path / "e14.toml").write_text("[spec]\n")
    path = spec(tmp_path, with_spec_line('extends = "d0.toml"'))
    assert_problem(capsys, tmp_path, ["validate", path], "(spec.extends)",
                   "extends reads more than 64 files")


@pytest.mark.parametrize("line, where, words", [
    ("seeds = 1000000000000", "s.toml:3 (spec.seeds)", "1,000,000,000,000 seeds"),
    ("seeds = [0, 99999999999999]", "s.toml:3 (spec.seeds[1])", "is larger than"),
])
def test_huge_seeds(tmp_path, capsys, line, where, words):
    path = spec(tmp_path, SPEC.replace("seeds = 2", line))
    assert_problem(capsys, tmp_path, ["validate", path], where, words)


@pytest.mark.parametrize("old, new, where", [
    ('lr = "{lr}"', "lr = inf", "s.toml:15 (train.lr)"),
    ('lr = "{lr}"', "lr = nan", "s.toml:15 (train.lr)"),
    ('lr = "{lr}"', "lr = -inf", "s.toml:15 (train.lr)"),
    ("lr = [0.1, 0.01]", "lr = [0.1, inf]", "s.toml:10 (factors.lr[1])"),
    ('transforms = ["rotate"] }', 'transforms = ["rotate"], params = { rotate = { degrees = '
     '[0, inf] } } }', "s.toml:6 (task.s.data.params.rotate.degrees[1])"),
])
def test_non_finite_numbers(tmp_path, capsys, old, new, where):
    path = spec(tmp_path, SPEC.replace(old, new))
    for command in ("validate", "plan"):
        assert_problem(capsys, tmp_path, [command, path], where, "is not a finite number")


def test_a_non_finite_set_value(tmp_path, capsys):
    path = spec(tmp_path)
    assert_problem(capsys, tmp_path, ["plan", path, "--set", "train.epochs=inf"],
                   "--set train.epochs=inf (train.epochs)", "not a finite number")


def test_a_factor_of_a_hundred_thousand_values(tmp_path, capsys):
    values = ", ".join(str(i) for i in range(100_000))
    path = spec(tmp_path, SPEC.replace("lr = [0.1, 0.01]", f"lr = [0.1, 0.01]\nbig = [{values}]"))
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:9 (factors)",
                   "400,000 cells", "at most 100,000")


def test_distinct_factor_values_are_checked_in_linear_time():
    """The check keeps a set: 50k distinct values finish at once (a list took minutes)."""
    import time

    from dsl.checks import _Checker
    from dsl.load import Document

    data = {"factors": {"big": list(range(50_000)) + [7]}}
    checker = _Checker(Document(path=None, data=data, files=["m.toml"]))
    start = time.perf_counter()
    checker.check_factors()
    assert time.perf_counter() - start < 30  # quadratic: ~100 s on these machines
    assert [p.path for p in checker.problems] == ["factors.big[50000]"]


def test_a_spec_of_megabytes(tmp_path, capsys):
    junk = "".join(f"k{i} = {i}\n" for i in range(300_000))  # ~3 MB of keys
    path = spec(tmp_path, SPEC + "[junk]\n" + junk)
    err = assert_problem(capsys, tmp_path, ["validate", path], "s.toml:", "larger than a spec")
    line = int(err.split("s.toml:")[-1].split(":")[0])
    assert 1 < line < 300_000


def test_an_exclude_that_removes_every_cell(tmp_path, capsys):
    path = spec(tmp_path, SPEC.replace("lr = [0.1, 0.01]\n", "lr = [0.1, 0.01]\nexclude = "
                                       "[{ lr = 0.1 }, { lr = 0.01 }]\n"))
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:11 (factors.exclude)",
                   "exclude removes every cell")


def test_set_spec_extends_is_refused(tmp_path, capsys):
    path = spec(tmp_path)
    spec(tmp_path, "[train]\nepochs = 1\n", "_b.toml")
    assert_problem(capsys, tmp_path, ["plan", path, "--set", "spec.extends=_b.toml"],
                   "--set spec.extends=_b.toml", "cannot change spec.extends")
    assert_problem(capsys, tmp_path, ["plan", path, "--set",
                                      'spec={title="t", extends="_b.toml"}'],
                   "--set spec=", "cannot change spec.extends")


def test_bytes_that_are_not_utf8_are_reported_at_their_line(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_bytes(SPEC.replace('"tiny"', '"t\xe9ny"').encode("latin-1"))
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:2:", "not UTF-8",
                   "byte 0xe9 at column 11")


@pytest.mark.parametrize("old, new, line, words", [
    # a comment that swallows the closing bracket: noticed at the next key, lines later
    ('transforms = ["rotate"] }', 'transforms = ["rotate"] # }', 6, "Unclosed inline table"),
    ("lr = [0.1, 0.01]", "lr = [0.1, 0.01 # ]", 10, "Unclosed array"),
    ("lr = [0.1, 0.01]", "lr = [0.1,\n  0.01", 11, "Unclosed array (opened on line 10)"),
    ('title = "tiny"', "title = 'tiny", 2, "invalid TOML"),  # noticed at the end of the file
])
def test_syntax_errors_at_the_line_of_the_mistake(tmp_path, capsys, old, new, line, words):
    path = spec(tmp_path, SPEC.replace(old, new))
    assert_problem(capsys, tmp_path, ["validate", path], f"s.toml:{line}:", words)


def test_a_misspelt_zip_gets_a_did_you_mean(tmp_path, capsys):
    path = spec(tmp_path, SPEC.replace("lr = [0.1, 0.01]\n", "lr = [0.1, 0.01]\nw = [1, 2]\n"
                                       'zipp = [["lr", "w"]]\n'))
    assert_problem(capsys, tmp_path, ["validate", path], "s.toml:12 (factors.zipp)",
                   "did you mean 'zip'?")


# -- image folders at plan time -------------------------------------------------------------

FOLDER_SPEC = ('[spec]\ntitle = "x"\n[task.pets]\ndata = { kind = "image_folder", path = "P" }\n'
               'n_train = 4\nn_val = 2\nn_test = 2\n[train]\ntask = "pets"\n')


def _images(root):
    from PIL import Image

    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(12):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(root / cls / f"{i}.png")


def test_a_looping_link_inside_an_image_folder_is_skipped(tmp_path, capsys, monkeypatch):
    _images(tmp_path / "imgs")
    os.symlink("l2", tmp_path / "imgs" / "cat" / "l1")
    os.symlink("l1", tmp_path / "imgs" / "cat" / "l2")
    os.symlink("self.png", tmp_path / "imgs" / "cat" / "self.png")
    monkeypatch.chdir(tmp_path)
    path = spec(tmp_path, FOLDER_SPEC.replace("P", "imgs"))
    code, err = run(capsys, "plan", path, "--store", tmp_path / "st")
    assert code == 0, err


def test_a_home_relative_image_folder_is_found_at_plan_time(tmp_path, capsys, monkeypatch):
    _images(tmp_path / "home" / "imgs")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = spec(tmp_path, FOLDER_SPEC.replace("P", "~/imgs"))
    code, err = run(capsys, "plan", path, "--store", tmp_path / "st")
    assert code == 0, err


def test_a_file_name_that_is_no_spec_name_says_how_to_fix_it(tmp_path, capsys):
    path = spec(tmp_path, name="my spec.toml")
    assert_problem(capsys, tmp_path, ["validate", path], "my spec.toml:1 (spec.name)",
                   "got 'my spec' (the file's name)", 'write name = "my_spec" under [spec]')
