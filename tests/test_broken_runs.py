"""Broken run directories, bad --out paths and resuming: one line naming the file, exit 2, never a traceback."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.errors import ParameterError
from mcsim.plugins.manager import unmatched_plugin_names
from mcsim.training.trainer import TrainConfig, Trainer, resume_note

torch = pytest.importorskip("torch")
pytest.importorskip("mcsim_sb3")

TINY = ["--agent", "sb3", "--profiles", "2", "--episodes", "2", "--envs", "4", "--network", "standard"]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real, complete run directory for the whole module; tests work on copies."""
    out = tmp_path_factory.mktemp("base") / "run"
    result = CliRunner().invoke(cli, ["train", *TINY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def copy_run(base: Path, target: Path) -> Path:
    shutil.copytree(base, target)
    return target


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``mcsim ARGV`` through main(): (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as stop:
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line(code: int, out: str, err: str, *fragments: str) -> str:
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("Error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --- corruptions ----------------------------------------------------------------------------------


class Payload:
    """A pickle that would create ``marker`` if it were ever unpickled."""

    marker: Path

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def empty(path: Path) -> None:
    path.write_bytes(b"")


def not_json(path: Path) -> None:
    path.write_text("this is not JSON {", encoding="utf-8")


def json_list(path: Path) -> None:
    path.write_text("[1, 2, 3]", encoding="utf-8")


def random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(0).randbytes(4096))


def folder(path: Path) -> None:
    path.unlink()
    path.mkdir()
    (path / "inside").write_text("x")


def missing(path: Path) -> None:
    path.unlink()


def planted_pickle(path: Path) -> None:
    Payload.marker = path.parent / "pwned"
    torch.save({"weights": Payload()}, path)


def edit_json(change: Callable[[dict], object]) -> Callable[[Path], None]:
    def corrupt(path: Path) -> None:
        data = json.loads(path.read_text())
        path.write_text(json.dumps(change(data)))

    corrupt.__name__ = change.__name__
    return corrupt


def no_config(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "config"}


def no_agent(data: dict) -> dict:
    return {**data, "config": {key: value for key, value in data["config"].items() if key != "agent"}}


def config_list(data: dict) -> dict:
    return {**data, "config": ["sb3"]}


def unknown_algo(data: dict) -> dict:
    return {**data, "algo": "dqn"}


JSON_BREAKS = [truncate, empty, not_json, json_list, folder, missing]
WEIGHT_BREAKS = [truncate, empty, random_bytes, folder, missing, planted_pickle]
MANIFEST_BREAKS = [*JSON_BREAKS, edit_json(no_config), edit_json(no_agent), edit_json(config_list)]
SPEC_BREAKS = [truncate, not_json, json_list, edit_json(unknown_algo)]

READERS = ["evaluate", "predict", "predict-onnx", "export-onnx", "export-coreml"]
COMMANDS: dict[str, Callable[[Path], list[str]]] = {
    "evaluate": lambda run: ["evaluate", str(run), "--profiles", "1", "--mc", "5", "--no-optimum"],
    "predict": lambda run: ["predict", str(run), "--mc", "5", "--no-optimum"],
    "predict-onnx": lambda run: ["predict", str(run), "--runtime", "onnx", "--mc", "5", "--no-optimum"],
    "export-onnx": lambda run: ["export-onnx", str(run)],
    "export-coreml": lambda run: ["export-coreml", str(run)],
    "resume": lambda run: ["train", "--out", str(run), "--resume"],
}
PLUGIN_OF = {"predict-onnx": "mcsim_onnx", "export-onnx": "mcsim_onnx", "export-coreml": "mcsim_coreml"}


def cases() -> list:
    """(file, corruption, command): every way of breaking every file, with every command that reads it."""
    found = []
    for corrupt in MANIFEST_BREAKS:
        found += [("manifest.json", corrupt, command) for command in [*READERS, "resume"]]
    for corrupt in WEIGHT_BREAKS:
        found += [("model/policy.pt", corrupt, command) for command in READERS if command != "predict-onnx"]
        found.append(("checkpoint/policy.pt", corrupt, "resume"))
    for corrupt in SPEC_BREAKS:
        found += [("model/agent.json", corrupt, command) for command in READERS if command != "predict-onnx"]
        found.append(("checkpoint/agent.json", corrupt, "resume"))
    for corrupt in [truncate, random_bytes, planted_pickle, missing, folder]:
        found.append(("checkpoint/optimizer.pt", corrupt, "resume"))
    return [pytest.param(*case, id=f"{case[0]}-{case[1].__name__}-{case[2]}") for case in found]


@pytest.mark.parametrize(("name", "corrupt", "command"), cases())
def test_a_broken_file_is_one_line_naming_it(
    base_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture, name: str, corrupt: Callable[[Path], None],
    command: str,
) -> None:
    if command in PLUGIN_OF:
        pytest.importorskip(PLUGIN_OF[command])
    run = copy_run(base_run, tmp_path / "run")
    if name.startswith("checkpoint/"):  # a finished run is not resumed: its checkpoint is never read
        set_status(run, "interrupted")
    broken = run / name
    corrupt(broken)
    before = sorted(str(path.relative_to(run)) for path in run.rglob("*"))
    code, out, err = run_cli(COMMANDS[command](run), capsys)
    assert_one_line(code, out, err, str(broken))
    assert not (broken.parent / "pwned").exists(), "the planted pickle ran"
    assert sorted(str(path.relative_to(run)) for path in run.rglob("*")) == before, "a failed command wrote files"


@pytest.mark.parametrize("corrupt", [random_bytes, empty, truncate, folder, missing])
def test_an_onnx_file_that_is_not_a_model_is_one_line(
    base_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture, corrupt: Callable[[Path], None]
) -> None:
    pytest.importorskip("mcsim_onnx")
    run = copy_run(base_run, tmp_path / "run")
    model = run / "policy.onnx"
    shutil.copy(run / "model" / "policy.pt", model)  # bytes that are no ONNX model, to corrupt further
    corrupt(model)
    code, out, err = run_cli(COMMANDS["predict-onnx"](run), capsys)
    assert_one_line(code, out, err, str(model))


# --- train --out ----------------------------------------------------------------------------------


@pytest.mark.parametrize("below", ["", "run"])
def test_train_out_naming_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, below: str) -> None:
    existing = tmp_path / "a-file"
    existing.write_text("keep me")
    out = existing / below if below else existing
    code, stdout, err = run_cli(["train", *TINY, "--out", str(out)], capsys)
    assert_one_line(code, stdout, err, str(existing), "is a file")
    assert existing.read_text() == "keep me"


def test_a_refused_device_leaves_no_out_folder(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    unavailable = "mps" if sys.platform != "darwin" else "cuda"
    out = tmp_path / "new" / "run"
    code, stdout, err = run_cli(["train", *TINY, "--device", unavailable, "--out", str(out)], capsys)
    assert_one_line(code, stdout, err, unavailable)
    assert not (tmp_path / "new").exists(), "the failed start left folders behind"


@pytest.mark.parametrize(("option", "value"), [("algo", "dqn"), ("network", "huge")])
def test_a_backend_refusing_its_settings_leaves_no_out_folder(tmp_path: Path, option: str, value: str) -> None:
    """The guarantee is the trainer's, whatever the CLI checks first."""
    out = tmp_path / "new" / "run"
    settings = {"profiles": 2, "episodes": 2, "n_envs": 4, "network": "standard", "out": str(out), option: value}
    config = TrainConfig(**settings)
    with pytest.raises(ParameterError, match=option):
        Trainer(config).run()
    assert not (tmp_path / "new").exists()


def test_a_failed_start_keeps_a_folder_it_did_not_create(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ParameterError):
        Trainer(TrainConfig(profiles=2, episodes=2, n_envs=4, algo="dqn", out=str(out))).run()
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(path.name for path in out.iterdir()) == ["notes.txt"]


# --- resume ---------------------------------------------------------------------------------------


def set_status(run: Path, status: str) -> None:
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": status}))


def make_family(base: Path, root: Path, statuses: dict[str, str]) -> dict[str, Path]:
    """Copies of ``base`` as ``root/runs/NAME`` with a status each, manifests dated newest first."""
    runs = {}
    for age, (name, status) in enumerate(statuses.items()):
        run = copy_run(base, root / "runs" / name)
        set_status(run, status)
        stamp = 1_700_000_000 - 3600 * age
        os.utime(run / "manifest.json", (stamp, stamp))
        runs[name] = run
    return runs


def test_resume_without_out_picks_the_most_recent_unfinished_run(
    base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Newest first: -3 (training), then seed10 (another seed), -2 (interrupted), seed0 (complete)."""
    make_family(base_run, tmp_path, {"sb3-ppo-seed0-4": "complete", "sb3-ppo-seed0-3": "training",
                                     "sb3-ppo-seed10": "interrupted", "sb3-ppo-seed0-x": "interrupted",
                                     "sb3-ppo-seed0-2": "interrupted", "sb3-ppo-seed0": "complete"})
    monkeypatch.chdir(tmp_path)
    config = TrainConfig.resumed(None, {})
    assert config.run_dir == Path("runs/sb3-ppo-seed0-3")
    note = resume_note(config)
    assert "runs/sb3-ppo-seed0-3" in note and "also unfinished: runs/sb3-ppo-seed0-2" in note
    assert "seed10" not in note and "seed0-x" not in note
    assert TrainConfig.resumed(None, {"seed": 10}).run_dir == Path("runs/sb3-ppo-seed10")


def test_resume_without_out_refuses_when_nothing_is_unfinished(
    base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    make_family(base_run, tmp_path, {"sb3-ppo-seed0": "complete", "sb3-ppo-seed0-2": "complete"})
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["train", "--resume"], capsys)
    assert_one_line(code, out, err, "no unfinished run", "runs/sb3-ppo-seed0 is complete", "--out")
    code, out, err = run_cli(["train", "--resume", "--algo", "sac"], capsys)
    assert_one_line(code, out, err, "sb3/sac seed 0", "none exists")


def test_resume_without_out_finishes_the_interrupted_run_not_the_finished_one(
    base_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    runs = make_family(base_run, tmp_path, {"sb3-ppo-seed0-2": "interrupted", "sb3-ppo-seed0": "complete"})
    shutil.rmtree(runs["sb3-ppo-seed0-2"] / "model")
    finished = (runs["sb3-ppo-seed0"] / "manifest.json").read_bytes()
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["train", "--resume"], capsys)
    assert code == 0, err
    assert out.startswith("Resuming runs/sb3-ppo-seed0-2, the most recent unfinished run of sb3/ppo seed 0.")
    resumed = runs["sb3-ppo-seed0-2"]
    assert json.loads((resumed / "manifest.json").read_text())["status"] == "complete"
    assert (resumed / "model" / "policy.pt").is_file()
    assert (runs["sb3-ppo-seed0"] / "manifest.json").read_bytes() == finished


def test_resuming_a_finished_run_says_so_and_does_not_retrain(
    base_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    run = copy_run(base_run, tmp_path / "run")
    stamps = {path: path.stat().st_mtime_ns for path in run.rglob("*")}
    code, out, err = run_cli(["train", "--out", str(run), "--resume"], capsys)
    assert code == 0 and err == ""
    assert f"{run} is finished" in out and "--timesteps" in out
    assert {path: path.stat().st_mtime_ns for path in run.rglob("*")} == stamps


def test_the_interrupt_message_prints_the_resume_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "interrupted run"

    def interrupt(self, learner, baselines):  # Ctrl-C lands during the first evaluation
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "evaluate", interrupt)
    code, stdout, err = run_cli(["train", *TINY, "--out", str(out)], capsys)
    assert code == 130
    assert f"mcsim train --out '{out}' --resume" in stdout + err  # on whichever stream the trainer reports
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


# --- plugins and SB3's logger ---------------------------------------------------------------------


def test_unmatched_plugin_names_are_named_with_the_installed_ones() -> None:
    message = unmatched_plugin_names("sb3, nosuchplugin,,other", ["sb3", "onnx"])
    assert message is not None and "'nosuchplugin', 'other' match no installed plugin" in message
    assert "installed: onnx, sb3" in message
    assert unmatched_plugin_names("sb3", ["sb3"]) is None and unmatched_plugin_names("", []) is None


def test_an_unmatched_plugin_name_is_one_warning_line(tmp_path: Path) -> None:
    environment = {**os.environ, "MCSIM_LOAD_PLUGINS": "nosuchplugin,sb3"}
    done = subprocess.run([sys.executable, "-m", "mcsim", "plugins"], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Warning: MCSIM_LOAD_PLUGINS: 'nosuchplugin' matches no"), lines
    assert "sb3" in lines[0]
    assert "sb3" in {row["name"] for row in json.loads(done.stdout)}


@pytest.mark.parametrize("with_log_dir", [False, True])
def test_an_sb3_learner_writes_nothing_in_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_log_dir: bool
) -> None:
    from mcsim_sb3.backend import Sb3Backend

    from mcsim.env.household import sample_pool
    from mcsim.env.vec_env import NumbaVecEnv

    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    log_dir = tmp_path / "logs" if with_log_dir else None
    env = NumbaVecEnv(4, sample_pool(2, seed=0), seed=0)
    learner = Sb3Backend().learner(env, {"network": "standard"}, log_dir)
    learner.learn(64, lambda steps, episodes, returns: True)
    assert list(temporary.iterdir()) == []
    if log_dir is not None:
        assert list(log_dir.rglob("events.out.tfevents.*")), "TensorBoard events under the run's log dir"
