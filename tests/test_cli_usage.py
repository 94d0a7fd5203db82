"""The first commands a user types: bare groups print their help, options list their choices, tables explain."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim.cli.main import backend_choices, cli, main
from mcsim.cli.render import evaluation_table, median_path_table, phases_table, print_view
from mcsim.core.stats import wilson_interval
from mcsim.env.policies import BASELINES
from mcsim.optimum.solver import MedianPath
from mcsim.training.evaluation import OPTIMUM, Evaluation, Phase, Score


@pytest.mark.parametrize(("args", "usage"), [([], "Usage: mcsim [OPTIONS] COMMAND"),
                                             (["profile"], "Usage: mcsim profile [OPTIONS] COMMAND")])
def test_a_group_alone_prints_its_help_and_exits_0(
    capsys: pytest.CaptureFixture[str], args: list[str], usage: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(usage) and "Commands:" in captured.out
    assert "\\n" not in captured.out and "Error" not in captured.out and captured.err == ""


@pytest.mark.parametrize("command", ["export-onnx", "export-coreml"])
def test_export_help_shows_no_backspace_marker(command: str) -> None:
    if command not in cli.commands or cli.commands[command].help.startswith("Needs"):
        pytest.skip(f"{command}'s plugin is not installed")
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "\\b" not in result.output and "\b" not in result.output
    assert f"\n  Example:\n    mcsim {command} runs/" in result.output


@pytest.mark.parametrize(
    ("command", "option", "choices"),
    [
        ("train", "--algo", backend_choices("algorithms")), ("train", "--network", backend_choices("networks")),
        ("train", "--device", backend_choices("devices")),
        ("train", "--reward", ("planner", "crra")), ("optimum", "--reward", ("planner", "crra")),
        ("predict", "--runtime", ("torch", "onnx", "coreml")),
    ],
)
def test_options_with_fixed_choices_list_them(command: str, option: str, choices: tuple[str, ...]) -> None:
    output = CliRunner().invoke(cli, [command, "--help"]).output
    assert f"{option} [{'|'.join(choices)}]" in output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["train", "--algo", "dqn"], "'dqn' is not one of 'ppo', 'sac', 'td3', 'a2c'"),
        (["train", "--network", "huge"], "'huge' is not one of 'standard', 'solid', 'robust', 'enterprise'"),
        (["train", "--device", "tpu"], "'tpu' is not one of 'auto', 'cpu', 'cuda', 'mps'"),
        (["predict", "runs/x", "--runtime", ""], "'' is not one of 'torch', 'onnx', 'coreml'"),
        (["predict", "runs/x", "--runtime", "tflite"], "'tflite' is not one of"),
    ],
)
def test_an_unknown_choice_is_one_line_with_the_choices(
    capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    with pytest.raises(SystemExit) as done:
        main(args)
    assert done.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Invalid value for") and fragment in lines[0], lines


def test_a_runtime_whose_plugin_is_missing_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    predict = cli.commands["predict"]
    runtime = next(param for param in predict.params if param.name == "runtime")
    monkeypatch.setattr(runtime.type, "_loaded", ("torch",))
    with pytest.raises(SystemExit) as done:
        main(["predict", "runs/x", "--runtime", "onnx"])
    assert done.value.code == 2
    assert "the onnx runtime comes with the mcsim-onnx plugin: pip install mcsim-onnx" in capsys.readouterr().err


def test_the_cli_choices_are_the_backends_declarations_sb3s_first() -> None:
    from mcsim.plugins.agents import agent_backends

    backend = pytest.importorskip("mcsim_sb3.backend")
    for kind, own in (("algorithms", backend.ALGOS), ("networks", backend.NETWORKS), ("devices", backend.DEVICES)):
        choices = backend_choices(kind)
        assert choices[:len(own)] == tuple(own)
        for learner in (b for b in agent_backends().values() if b.trainable):
            assert set(getattr(learner, kind)) <= set(choices), (learner.name, kind)


# --- tables explain their columns ---------------------------------------------------------------


def _evaluation(reward: str, optimum: bool) -> Evaluation:
    names = ["policy", *BASELINES, *([OPTIMUM] if optimum else [])]
    score = Score(wilson_interval(5, 10, 0.95), 1.0, -0.1, 0.01, 0.4, 0.3, 0.5)
    return Evaluation(1, 10, 0, dict.fromkeys(names, score), [dict.fromkeys(names, 0.5)], {}, reward=reward)


def rendered(view: object, capsys: pytest.CaptureFixture[str]) -> str:
    print_view(view)
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize("reward", ["planner", "crra"])
def test_the_evaluation_table_explains_its_columns(reward: str, capsys: pytest.CaptureFixture[str]) -> None:
    text = rendered(evaluation_table(_evaluation(reward, optimum=True), "title"), capsys)
    caption = text[text.index("optimum 50.0%"):]
    assert "quality of life" in caption and "% of optimum:" in caption and "median over households" in caption
    if reward == "planner":
        assert "objective: quality of life" in caption and "negative when the objective is" in caption
    else:
        assert "expected utility: lifetime CRRA utility" in caption and "CE / month: the constant consumption" in caption
    without = rendered(evaluation_table(_evaluation(reward, optimum=False), "title"), capsys)
    assert "% of optimum" not in without and "quality of life" in without[without.index("policy 50.0%"):]


def test_the_strategy_tables_explain_their_columns(capsys: pytest.CaptureFixture[str]) -> None:
    phases = rendered(phases_table([Phase(30, 40, 500.0, 0.8)]), capsys)
    assert "A new phase when the saving moves >10% or the equity share >5 points" in phases
    one = np.ones(1)
    path = rendered(median_path_table(MedianPath(one * 30, one, one, one, one, 1.0, 1.0), "title"), capsys)
    assert "savings rate: the decision" in path and "every shock zero" in path
