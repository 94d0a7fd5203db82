"""`mcsim predict --batch`: flat rows and folders of profiles, streamed in blocks, one result row per household."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcsim.cli.main import cli, main
from mcsim.core.errors import ParameterError
from mcsim.core.profile import embedded_profile_text
from mcsim.training.batch import BatchSettings, predict_batch, predict_block, run_payload
from mcsim.training.batch_io import SCHEMA, RowError, read_output, row_profile

pytest.importorskip("mcsim_sb3")
pyarrow = pytest.importorskip("pyarrow")

COLUMNS = ["id", "current_age", "retirement_age", "life_expectancy", "monthly_income", "capital", "equity_share",
           "monthly_saving", "target_monthly_income", "state_pension_monthly", "monthly_charges", "fee_pct"]


def households(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        rows.append({
            "id": f"h{i}", "current_age": float(np.round(rng.uniform(25, 60), 1)), "retirement_age": 64.0,
            "life_expectancy": 90.0, "monthly_income": float(np.round(rng.uniform(1500, 6000))),
            "capital": float(np.round(rng.uniform(0, 300_000))), "equity_share": float(np.round(rng.uniform(0, 1), 2)),
            "monthly_saving": 300.0, "target_monthly_income": 2500.0, "state_pension_monthly": 1200.0,
            "monthly_charges": 200.0 if i % 3 == 0 else 0.0, "fee_pct": 0.5,
        })
    return rows


def write_csv(path: Path, rows: list[dict], columns: list[str] = COLUMNS) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(c, "") for c in columns])
    return path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "tiny"
    result = CliRunner().invoke(cli, ["train", "--profiles", "4", "--episodes", "2", "--network", "standard",
                                      "--envs", "8", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rows = households(300)
    rows.insert(7, {**rows[7], "id": "late", "current_age": 70.0})  # retires before today
    rows.insert(20, {**rows[20], "id": "text", "monthly_income": "lots"})
    return write_csv(tmp_path_factory.mktemp("batch") / "households.csv", rows)


def test_every_format_gives_one_row_per_household_in_order(run: Path, source: Path, tmp_path: Path) -> None:
    outputs = {}
    for suffix in ("parquet", "csv", "jsonl"):
        summary = predict_batch(run, source, tmp_path / f"out.{suffix}", block=64)
        assert (summary.rows, summary.errors) == (302, 2)
        assert summary.first_error.startswith("row 7: retirement_age: must be at least one month after current_age "
                                              "(64 vs 70)")
        outputs[suffix] = read_output(tmp_path / f"out.{suffix}")
    rows = outputs["parquet"]
    assert [row["row"] for row in rows] == list(range(302))
    assert rows[20]["error"] == "monthly_income: must be a number (got 'lots')" and rows[20]["phases"] is None
    good = [row for row in rows if row["error"] is None]
    assert len(good) == 300 and all(row["phases"] for row in good)
    for row in good[:20]:
        phases = row["phases"]
        assert phases[-1]["to_age"] == 64.0
        assert all(0.0 <= phase["equity_share"] <= 1.0 and phase["monthly_saving"] >= 0.0 for phase in phases)
        assert row["capital_at_retirement"] > 0.0
    for suffix in ("csv", "jsonl"):
        assert outputs[suffix] == rows, suffix
    assert not list(tmp_path.glob(".*")), "no temporary file left"


def test_a_batched_roll_out_gives_each_household_its_own_strategy(run: Path) -> None:
    rows = households(40, seed=3)
    payload = run_payload(run)
    together = predict_block((payload, BatchSettings()), (0, rows))
    for i in (0, 17, 39):
        alone = predict_block((payload, BatchSettings()), (i, [rows[i]]))[0]
        assert alone["row"] == together[i]["row"] == i
        np.testing.assert_allclose(alone["capital_at_retirement"], together[i]["capital_at_retirement"], rtol=1e-5)
        np.testing.assert_allclose(alone["monthly_saving_now"], together[i]["monthly_saving_now"], rtol=1e-5)


def test_the_evaluation_is_predicts_and_does_not_depend_on_the_blocks(run: Path, tmp_path: Path) -> None:
    from mcsim.training.reports import predict_household

    rows = households(30, seed=5)
    source = write_csv(tmp_path / "h.csv", rows)
    one = predict_batch(run, source, tmp_path / "a.jsonl", n_paths=16, seed=9, block=30)
    two = predict_batch(run, source, tmp_path / "b.jsonl", n_paths=16, seed=9, block=7)
    assert one.errors == two.errors == 0
    a, b = read_output(tmp_path / "a.jsonl"), read_output(tmp_path / "b.jsonl")
    for key in ("funded_probability", "median_capital", "objective"):
        assert [row[key] for row in a] == [row[key] for row in b], key
    # Row r's lives are predict's with seed + r * paths.
    r = 4
    profile = tmp_path / "one.json"
    profile.write_text(json.dumps(row_profile(rows[r]).model_dump(mode="json", exclude={"name"})))
    prediction = predict_household(str(run), str(profile), 16, 9 + r * 16, optimum=False)
    score = prediction.evaluation.overall["policy"]
    np.testing.assert_allclose(a[r]["objective"], score.objective, rtol=1e-9)
    np.testing.assert_allclose(a[r]["median_capital"], score.median_capital, rtol=1e-9)
    assert a[r]["funded_probability"] == pytest.approx(score.funded.estimate)


def test_a_folder_of_profiles(run: Path, tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    for name in ("default", "late_starter", "young_saver"):
        (folder / f"{name}.toml").write_text(embedded_profile_text(name))
    (folder / "broken.toml").write_text("[person]\ncurrent_age = 30\n")
    (folder / "notes.txt").write_text("not a profile")
    summary = predict_batch(run, folder, tmp_path / "out.csv")
    rows = read_output(tmp_path / "out.csv")
    assert [row["id"] for row in rows] == ["broken.toml", "default.toml", "late_starter.toml", "young_saver.toml"]
    assert summary.errors == 1 and rows[0]["error"].startswith(f"{folder / 'broken.toml'}") is False
    assert "person" in rows[0]["error"] or "retirement" in rows[0]["error"]
    assert rows[1]["phases"][0]["from_age"] == 30.0


@pytest.mark.parametrize(("change", "message"), [
    ({"current_age": None}, "current_age: required (missing or empty)"),
    ({"equity_share": 1.5}, "equity_share: must be in [0, 1] (got 1.5)"),
    ({"capital": -5.0}, "capital:"),
    ({"return_model": "historical"}, "return_model: historical replays history"),
    ({"return_model": "cauchy"}, "return_model:"),
    ({"correlation": 2.0}, "correlation: must be in [-1, 1] (got 2)"),
    ({"retirment_age": 60.0}, "retirment_age: unknown column (did you mean retirement_age?)"),
    ({"capital": True}, "capital: must be a number (got True)"),
    ({"capital": float("inf")}, "capital: must be a finite number"),
])
def test_bad_rows_get_their_own_error_and_the_rest_go_on(run: Path, tmp_path: Path, change: dict,
                                                         message: str) -> None:
    rows = households(3)
    rows[1] = {**rows[1], **change}
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps({k: v for k, v in row.items() if v is not None}) + "\n" for row in rows))
    summary = predict_batch(run, path, tmp_path / "out.jsonl")
    out = read_output(tmp_path / "out.jsonl")
    assert summary.errors == 1 and out[1]["error"].startswith(message), out[1]["error"]
    assert out[0]["error"] is None and out[2]["error"] is None and out[2]["phases"]


def test_malformed_lines_are_rows_with_errors(run: Path, tmp_path: Path) -> None:
    good = json.dumps(households(1)[0])
    (tmp_path / "h.jsonl").write_text(f"{good}\n{{not json\n[1, 2]\n\n{good}\n")
    predict_batch(run, tmp_path / "h.jsonl", tmp_path / "out.jsonl")
    out = read_output(tmp_path / "out.jsonl")
    assert [row["error"] for row in out] == [None, "line 2: not valid JSON (Expecting property name enclosed in double "
                                             "quotes)", "line 3: not a JSON object", None]
    (tmp_path / "h.csv").write_text("current_age,retirement_age,life_expectancy,monthly_income,target_monthly_income\n"
                                    "40,64,90,3000,2000\n40,64\n")
    predict_batch(run, tmp_path / "h.csv", tmp_path / "out.csv")
    assert [row["error"] for row in read_output(tmp_path / "out.csv")] == [None, "line 3: 2 cells for 5 columns"]


def test_malformed_files_are_one_line(run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    write_csv(tmp_path / "typo.csv", households(2), [c if c != "capital" else "captial" for c in COLUMNS])
    write_csv(tmp_path / "short.csv", households(2), [c for c in COLUMNS if c != "monthly_income"])
    (tmp_path / "fake.parquet").write_text("not parquet")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "h.txt").write_text("")
    (tmp_path / "empty").mkdir()
    write_csv(tmp_path / "ok.csv", households(2))
    cases = [
        (["--batch", str(tmp_path / "typo.csv"), "--out", str(tmp_path / "o.csv")],
         "column 'captial': unknown column (did you mean capital?)"),
        (["--batch", str(tmp_path / "short.csv"), "--out", str(tmp_path / "o.csv")],
         "lacks the required column 'monthly_income'"),
        (["--batch", str(tmp_path / "fake.parquet"), "--out", str(tmp_path / "o.csv")], "is not a parquet file"),
        (["--batch", str(tmp_path / "empty.csv"), "--out", str(tmp_path / "o.csv")], "is empty (no header row)"),
        (["--batch", str(tmp_path / "h.txt"), "--out", str(tmp_path / "o.csv")], "households come as .parquet"),
        (["--batch", str(tmp_path / "empty"), "--out", str(tmp_path / "o.csv")], "holds no .toml or .json profile"),
        (["--batch", str(tmp_path / "ok.csv"), "--out", str(tmp_path / "o.xlsx")], "write strategies as"),
        (["--batch", str(tmp_path / "ok.csv"), "--out", str(tmp_path / "nowhere" / "o.csv")], "does not exist"),
        (["--batch", str(tmp_path / "ok.csv")], "--batch FILE|FOLDER and --out FILE go together"),
        (["--batch", str(tmp_path / "ok.csv"), "--out", str(tmp_path / "o.csv"), "--plot", "x.png"], "drop --plot"),
        (["--batch", str(tmp_path / "ok.csv"), "--out", str(tmp_path / "o.csv"), "--ray"],
         "--ray: comes with the mcsim-ray plugin: pip install mcsim-ray"),
        (["--batch", str(tmp_path / "ok.csv"), "--out", str(tmp_path / "o.csv"), "--address", "x:1"], "give --ray too"),
        (["--ray"], "--ray and --address spread a --batch"),
    ]
    for args, message in cases:
        with pytest.raises(SystemExit) as stop:
            main(["predict", str(run), *args])
        assert stop.value.code == 2, args
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, (args, err)
    assert not (tmp_path / "o.csv").exists(), "a failed batch writes nothing"


def test_cli_summary_and_json(run: Path, source: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["predict", str(run), "--batch", str(source), "--out", str(tmp_path / "o.parquet"),
                                      "--block", "100", "--mc", "4"])
    assert result.exit_code == 0, result.output
    assert "300 of 302 households have a strategy; 2 with an error (first: row 7: retirement_age" in result.output
    table = pyarrow.parquet.read_table(tmp_path / "o.parquet")
    assert table.num_rows == 302 and {"funded_probability", "median_capital", "objective"} <= set(table.column_names)
    result = CliRunner().invoke(cli, ["predict", str(run), "--batch", str(source), "--out", str(tmp_path / "o.csv"),
                                      "--json"])
    data = json.loads(result.output)
    assert data["rows"] == 302 and data["errors"] == 2 and data["executor"] == "local" and data["runtime"] == "torch"
    assert "funded_probability" not in read_output(tmp_path / "o.csv")[0], "no --mc, no evaluation"


def test_the_schema_documents_every_column() -> None:
    assert all(column.meaning for column in SCHEMA.values())
    with pytest.raises(RowError, match="monthly_income: required"):
        row_profile({"current_age": 40, "retirement_age": 64, "life_expectancy": 90, "target_monthly_income": 1})
    with pytest.raises(ParameterError, match="block"):
        predict_batch("nowhere", "x.csv", "y.csv", block=0)


def test_evaluate_in_blocks_gives_the_numbers_of_one_roll_out(run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import mcsim.training.evaluation_blocks as blocks
    from mcsim.training.robustness import evaluate_markets

    monkeypatch.setattr(blocks, "MAX_BLOCK_EPISODES", 20)  # 3 households of 6 paths a block: 4 blocks
    whole = evaluate_markets([str(run)], 10, 6, 3, optimum=False).to_dict()
    split = evaluate_markets([str(run)], 10, 6, 3, optimum=False, executor="local").to_dict()
    assert json.dumps(split, sort_keys=True) == json.dumps(whole, sort_keys=True)
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", str(run), "--profiles", "2", "--mc", "2", "--ray"])
    assert stop.value.code == 2
