"""The command line (``mlnn`` and ``python -m mlnn``): usage errors, help,
program name, progress and messages.

Every bad input must exit with status 2 and argparse's usage message, name
the option, show no traceback, and be caught before any training.  The
table runs ``main(argv)`` in this process (fast); a few cases run the real
programs in a subprocess to check what a user sees.
"""

import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn.datasets

import mlnn
from mlnn import __main__ as cli

TEXT_CSV = {
    "semicolon.csv": "x;y;label\n1.5;2.0;a\n0.5;1.0;b\n",
    "decimal-comma.csv": "1,5;2,0;a\n0,5;1,0;b\n2,5;1,0;a\n",
    "tabs.csv": "1.5\t2.0\t0\n0.5\t1.0\t1\n",
    "spaces.csv": "1.5 2.0 0\n0.5 1.0 1\n",
    "one-class.csv": "1,2,0\n3,4,0\n",
    "one-class-names.csv": "1,2,cat\n3,4,cat\n",
    "ragged.csv": "1,2,0\n3,4\n",
    "text-feature.csv": "x,y,label\n1,2,0\n1,oops,1\n",
    "fraction-label.csv": "1,2,0\n3,4,0.5\n",
    "short.csv": "x,label\n1,0\n",
    "empty.csv": "",
    "inf-feature.csv": "1,2,0\n3,inf,1\n",
    "three-features.csv": "1,2,3,0\n4,5,6,1\n7,8,9,0\n",
}


@pytest.fixture
def files(tmp_path):
    for name, text in TEXT_CSV.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "binary.csv").write_bytes(b"\x00\xff\xfe\x00" * 20)
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "a-folder.csv").mkdir()
    (tmp_path / "out-with-dir").mkdir()
    (tmp_path / "out-with-dir" / "loss.png").mkdir()
    return tmp_path


# (id, argv, words the message must contain; "{tmp}" is the files folder)
BAD = [
    ("passes-negative", ["--passes", "-5"], ["argument --passes", "int >= 0", "-5"]),
    ("passes-float", ["--passes", "2.5"], ["argument --passes", "int >= 0", "'2.5'"]),
    ("passes-text", ["--passes", "many"], ["argument --passes", "'many'"]),
    ("epsilon-zero", ["--epsilon", "0"], ["argument --epsilon", "finite number > 0", "'0'"]),
    ("epsilon-negative", ["--epsilon", "-0.5"], ["argument --epsilon", "> 0", "'-0.5'"]),
    ("epsilon-nan", ["--epsilon", "nan"], ["argument --epsilon", "finite"]),
    # argparse < 3.13 reads -1e-3 as an option ("expected one argument")
    ("epsilon-negative-exponent", ["--epsilon", "-1e-3"], ["argument --epsilon"]),
    ("epsilon-inf", ["--epsilon", "inf"], ["argument --epsilon", "finite"]),
    ("lambda-negative", ["--lambda", "-1"], ["argument --lambda", "finite number >= 0"]),
    ("lambda-inf", ["--lambda", "inf"], ["argument --lambda", "finite number >= 0"]),
    ("threads-zero", ["--threads", "0"], ["argument --threads", "int >= 1", "got 0"]),
    ("threads-negative", ["--threads", "-2"], ["argument --threads", "int >= 1"]),
    ("frames-zero", ["--frames", "0"], ["argument --frames", "int >= 1", "got 0"]),
    ("seed-negative", ["--seed", "-1"], ["argument --seed", "[0, 2**32)"]),
    ("seed-huge", ["--seed", str(2**32)], ["argument --seed", "[0, 2**32)"]),
    ("layers-text", ["--layers", "2,x,2"], ["argument --layers", "comma-separated ints"]),
    ("layers-zero", ["--layers", "2,0,2"], ["argument --layers", "sizes must be >= 1"]),
    ("layers-one", ["--layers", "2"], ["argument --layers", "at least n_in,n_out"]),
    ("layers-one-output", ["--layers", "2,4,1"], ["argument --layers", "n_out", ">= 2"]),
    ("layers-empty", ["--layers", ""], ["argument --layers", "comma-separated ints"]),
    ("layers-huge", ["--layers", f"2,{2**40},2"], ["argument --layers", "2147483647"]),
    ("layers-wrong-n_in", ["--layers", "3,4,2"],
     ["argument --layers", "does not fit the data", "n_in must be 2"]),
    ("layers-too-few-outputs", ["--data", "csv:{tmp}/three-features.csv",
                                "--layers", "3,4,1"], ["argument --layers", "n_out"]),
    ("activation-unknown", ["--activation", "swish"],
     ["argument --activation", "invalid choice", "'swish'"]),
    ("backend-unknown", ["--backend", "torch"], ["argument --backend", "invalid choice"]),
    ("data-unknown", ["--data", "foo"],
     ["argument --data", "moons, circles or csv:PATH", "'foo'"]),
    ("data-csv-no-path", ["--data", "csv:"], ["argument --data", "csv:PATH"]),
    ("data-csv-missing", ["--data", "csv:{tmp}/missing.csv"],
     ["argument --data", "cannot read CSV", "missing.csv", "no such file"]),
    ("data-csv-folder", ["--data", "csv:{tmp}/a-folder.csv"],
     ["argument --data", "cannot read CSV", "it is a directory"]),
    ("data-csv-binary", ["--data", "csv:{tmp}/binary.csv"],
     ["argument --data", "binary.csv", "not a readable CSV text file"]),
    ("csv-semicolons", ["--data", "csv:{tmp}/semicolon.csv"],
     ["argument --data", "found 1 column",
      "the file looks ';'-separated -- mlnn reads comma-separated values"]),
    ("csv-decimal-commas", ["--data", "csv:{tmp}/decimal-comma.csv"],
     ["argument --data", "the file looks ';'-separated"]),
    ("csv-tabs", ["--data", "csv:{tmp}/tabs.csv"],
     ["argument --data", "found 1 column", "the file looks tab-separated"]),
    ("csv-spaces", ["--data", "csv:{tmp}/spaces.csv"],
     ["argument --data", "the file looks whitespace-separated"]),
    ("csv-one-class", ["--data", "csv:{tmp}/one-class.csv"],
     ["argument --data", "single class (0)", "at least 2"]),
    ("csv-one-class-names", ["--data", "csv:{tmp}/one-class-names.csv"],
     ["argument --data", "single class ('cat')"]),
    ("csv-ragged", ["--data", "csv:{tmp}/ragged.csv"],
     ["argument --data", "line 2: expected 3 columns"]),
    ("csv-text-feature", ["--data", "csv:{tmp}/text-feature.csv"],
     ["argument --data", "line 3, column 2", "'oops' is not a number"]),
    ("csv-fraction-label", ["--data", "csv:{tmp}/fraction-label.csv"],
     ["argument --data", "must be a class"]),
    ("csv-short", ["--data", "csv:{tmp}/short.csv"],
     ["argument --data", "at least 2 data rows, found 1"]),
    ("csv-empty", ["--data", "csv:{tmp}/empty.csv"],
     ["argument --data", "at least 2 data rows, found 0"]),
    ("csv-inf", ["--data", "csv:{tmp}/inf-feature.csv"],
     ["argument --data", "'inf' is not finite"]),
    ("animate-three-features", ["--data", "csv:{tmp}/three-features.csv", "--animate"],
     ["argument --animate", "needs data with 2 features", "has 3"]),
    ("out-is-a-file", ["--out", "{tmp}/a-file"],
     ["argument --out", "a-file' is a file", "give a folder"]),
    ("out-below-a-file", ["--out", "{tmp}/a-file/pictures"],
     ["argument --out", "cannot create the folder", "Not a directory"]),
    ("out-holds-a-folder-named-like-an-output", ["--out", "{tmp}/out-with-dir"],
     ["argument --out", "loss.png' is a folder"]),
    ("unknown-option", ["--epochs", "5"], ["unrecognized arguments: --epochs 5"]),
]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if anything trains."""
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the arguments were checked")
    monkeypatch.setattr(mlnn.neural_net, "train", refuse)
    monkeypatch.setattr(mlnn.neural_net, "animate_preds", refuse)


def test_table_covers_every_numeric_option():
    named = {w.split()[1] for _, _, words in BAD for w in words
             if w.startswith("argument --")}
    assert {"--passes", "--epsilon", "--lambda", "--threads", "--frames", "--seed",
            "--layers", "--activation", "--backend", "--data", "--out",
            "--animate"} <= named


@pytest.mark.parametrize("argv, words", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_exits_2_before_training(files, no_training, capsys, argv, words):
    out_dir = files / "never-created"
    argv = [a.replace("{tmp}", str(files)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(out_dir)]
    with pytest.raises(SystemExit) as info:
        cli.main(argv + ["--passes", "1"] if "--passes" not in argv else argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was loaded, trained or written
    err = captured.err
    assert err.startswith("usage: mlnn ")
    assert "Traceback" not in err
    assert "mlnn: error: " in err
    message = err.split("mlnn: error: ", 1)[1]
    for w in [w.replace("{tmp}", str(files)) for w in words]:
        assert w in message, f"{w!r} missing from: {message}"
    assert "np.int" not in message and "np.str" not in message
    assert not out_dir.exists()


def _run(*args, cwd, module=True, env=None, timeout=300):
    if module:
        cmd = [sys.executable, "-m", "mlnn", *args]
    else:
        script = shutil.which("mlnn", path=os.path.dirname(sys.executable))
        if script is None:
            pytest.skip("the mlnn console script is not installed next to python")
        cmd = [script, *args]
    env = dict(os.environ, **(env or {}))
    env.pop("MPLBACKEND", None)  # the CLI must pick Agg on its own
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=timeout)


@pytest.mark.parametrize("module, args, words", [
    (True, ["--passes", "-5"], "argument --passes: must be an int >= 0, got -5"),
    (False, ["--out", "taken"], "argument --out: 'taken' is a file"),
], ids=["python -m mlnn", "mlnn"])
def test_real_program_usage_error(tmp_path, module, args, words):
    # what a user sees: the usage line with the program's own name, the
    # message, status 2, no traceback, and nothing written
    (tmp_path / "taken").write_text("")
    res = _run(*args, cwd=tmp_path, module=module)
    prog = "python -m mlnn" if module else "mlnn"
    assert res.returncode == 2, res.stderr
    assert res.stdout == ""
    assert res.stderr.startswith(f"usage: {prog} [-h]"), res.stderr
    assert f"\n{prog}: error: {words}" in res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(os.listdir(tmp_path)) == ["taken"]  # mlnn-out was never made


def test_help_shows_defaults_and_every_option_has_help(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: mlnn ")
    text = " ".join(text.split())  # undo the line wrapping
    for default in ["(default: 25000)", "(default: 0.001)", "(default: 0.0001)",
                    "(default: tanh)", "(default: moons)", "(default: mlnn-out)",
                    "(default: 120)", "(default: 0)", "default: cython when it is built",
                    "default: auto", "default: only when stderr is a terminal",
                    "default: 2,4,2"]:
        assert default in text, default
    assert "--activation {tanh,relu,sigmoid}" in text
    assert "--progress, --no-progress" in text
    for action in cli.build_parser()._actions:
        assert action.help, action.option_strings


def test_prog_name():
    here = os.path.dirname(cli.__file__)
    assert cli._prog(os.path.join(here, "__main__.py")) == "python -m mlnn"
    assert cli._prog("/usr/local/bin/mlnn") == "mlnn"
    assert cli._prog("/opt/python/Scripts/mlnn.exe") == "mlnn"
    assert cli._prog("") == "mlnn"


def test_activation_option(tmp_path, capsys):
    assert cli.main(["--activation", "relu", "--passes", "200", "--out",
                     str(tmp_path)]) == 0
    assert "Training accuracy" in capsys.readouterr().out


def test_zero_passes_draws_the_untrained_network(tmp_path, capsys):
    assert cli.main(["--passes", "0", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Loss after" not in out and " backend, 0 passes)" in out
    assert "Skipped loss.png and gradients.png: no passes were run" in out
    assert (tmp_path / "boundary.png").exists()


def test_out_may_be_an_existing_folder(tmp_path, capsys):
    assert cli.main(["--passes", "10", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "boundary.png").exists()


def test_divergence_is_an_error_without_traceback(tmp_path, capsys):
    assert cli.main(["--epsilon", "10", "--passes", "3000", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("mlnn: error: training diverged")
    assert "smaller epsilon" in err and "Traceback" not in err


def test_warnings_are_one_line_on_stderr(tmp_path, capsys, monkeypatch):
    real_train = mlnn.neural_net.train

    def train(self, *args, **kwargs):
        warnings.warn("the loss rose (a test)", mlnn._callbacks.LossRiseWarning)
        return real_train(self, *args, **kwargs)
    monkeypatch.setattr(mlnn.neural_net, "train", train)
    assert cli.main(["--passes", "10", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "mlnn: warning: the loss rose (a test)\n"
    assert "mlnn: warning" not in captured.out


def test_epsilon_1_is_never_silent(tmp_path, capsys):
    # the case: --epsilon 1 trained to accuracy 0.5 without a word.
    # Now the loss either overflows (DivergenceError, status 1) or rises far
    # above its lowest value (a warning); which depends on rounding.
    status = cli.main(["--epsilon", "1", "--passes", "3000", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert (status == 1 and "diverged" in err) or (
        status == 0 and "mlnn: warning: training is making the model worse" in err)
    assert "smaller epsilon" in err


def test_default_run_gives_no_warning(tmp_path, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cli.main(["--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.count("Loss after iteration") == 25


def test_progress_goes_to_stderr_and_the_log_stays_clean(tmp_path):
    # stdout to a file, progress forced: the loss lines and the bars must
    # not interleave
    res = _run("--passes", "2000", "--animate", "--frames", "5", "--progress",
               "--out", "pics", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[:2] == ["Loss after iteration 0: " + lines[0].split(": ")[1],
                         "Loss after iteration 1000: " + lines[1].split(": ")[1]]
    assert len(lines) == 2 + 2 + 4  # loss lines, accuracy and time, four files
    assert "\r" not in res.stdout and "|" not in res.stdout
    assert "training:" in res.stderr and "2000/2000" in res.stderr
    assert "training.gif:" in res.stderr and "5/5" in res.stderr


@pytest.mark.parametrize("flag, bar", [(None, False), ("--no-progress", False),
                                       ("--progress", True)])
def test_progress_flags(tmp_path, capsys, flag, bar):
    # capsys' stderr is not a terminal: no bar unless --progress forces it
    argv = ["--passes", "2000", "--out", str(tmp_path)] + ([flag] if flag else [])
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert ("2000/2000" in captured.err) == bar
    if not bar:
        assert captured.err == ""
    assert captured.out.count("Loss after iteration") == 2


def test_csv_with_named_classes(tmp_path, capsys):
    X, y = sklearn.datasets.make_moons(80, noise=0.2, random_state=0)
    names = np.array(["left", "right"])[y]
    path = tmp_path / "moons.csv"
    path.write_text("x,y,side\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, names)))
    assert cli.main(["--data", f"csv:{path}", "--passes", "500", "--out",
                     str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "Data: 80 rows, 2 features, classes 0='left', 1='right'" in out


def test_load_csv_returns_plain_python_classes(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("1,2,3\n3,4,7\n5,6,3\n")
    X, y, classes = cli.load_csv(str(path))
    assert classes == [3, 7] and all(type(c) is int for c in classes)
    assert y.tolist() == [0, 1, 0] and X.shape == (3, 2)
