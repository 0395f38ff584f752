import sqlite3
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.workflow.store_helpers import seed
from workflow.datamap import DataMapError, SourceUnavailable, configured_datamap, load_datamaps, parse_datamap
from workflow.datamap.check import datamap_problems

MINIMAL = textwrap.dedent(
    """\
    version: 1
    sources:
      shop:
        database_url: "sqlite:///{path}"
        customer_table: users
        tables:
          users:
            primary_key: id
            customer: {{column: id}}
            identifiers: {{email: email}}
            columns:
              email: contact
              name: identity
          visits:
            primary_key: id
            customer: {{column: user_id}}
            timestamp: at
            columns:
              ip: network_activity
    """
)


def test_a_generated_map_loads_its_tables_joins_and_policies(tmp_path):
    store = seed(tmp_path, customers=5)
    source = store.datamap.source("store")
    assert source.customer_table == "customers"
    assert source.tables["order_recipients"].customer.through == "orders"
    assert source.policies["address"].erasure.method == "delete"
    assert source.policies["invoice"].erasure.method == "retain"
    assert "customers.email" in source.policies["contact"].rectifiable
    assert source.tables["customers"].columns["password_hash"] == "credential"


def test_schema_errors_name_the_line_they_are_on():
    text = MINIMAL.format(path="/tmp/x.sqlite3").replace("ip: network_activity", "ip: browsing_habits")
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text, origin="shop.yaml")
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert problem.startswith("line 19:")
    assert "sources.shop.tables.visits.columns.ip" in problem
    assert "browsing_habits" in problem


def test_every_problem_of_a_map_is_reported_at_once():
    text = (
        MINIMAL.format(path="/tmp/x.sqlite3")
        .replace("primary_key: id\n        customer: {column: user_id}", "customer: {column: user_id}")
        .replace("identifiers: {email: email}", "identifiers: {passport: email}")
    )
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text)
    lines = sorted(p.split(":")[0] for p in caught.value.problems)
    assert lines == ["line 10", "line 15"]
    assert any("primary_key" in p for p in caught.value.problems)
    assert any("passport" in p for p in caught.value.problems)


def test_consistency_problems_point_at_their_lines_too():
    text = MINIMAL.format(path="/tmp/x.sqlite3").replace(
        "customer: {column: user_id}", "customer: {column: user_id, through: sessions}"
    )
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text)
    assert caught.value.problems == [
        "line 16: sources.shop.tables.visits.customer.through: "
        "joins through “sessions”, which is not in the map."
    ]


def test_text_that_is_not_yaml_is_refused_with_its_line():
    with pytest.raises(DataMapError) as caught:
        parse_datamap("version: 1\nsources:\n  shop: [unclosed\n")
    assert caught.value.problems[0].startswith("line 4: not valid YAML")


def test_deleting_a_category_from_a_table_that_holds_others_is_refused():
    text = (
        MINIMAL.format(path="/tmp/x.sqlite3")
        + "    categories:\n      contact:\n        erasure: {method: delete}\n"
    )
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text)
    assert "anonymise instead" in caught.value.problems[0]
    assert caught.value.problems[0].startswith("line 22:")


def test_a_password_written_in_the_map_is_refused():
    text = MINIMAL.format(path="x").replace("sqlite:///x", "postgres://store:s3cret@db.internal/store")
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text)
    assert "write no password in the data map" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_the_database_url_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHOP_DB", "postgres://reader:pw@db.internal/shop")
    text = MINIMAL.format(path="x").replace("sqlite:///x", "${SHOP_DB}")
    source = parse_datamap(text).source("shop")
    assert source.database_url == "postgres://reader:pw@db.internal/shop"
    assert source.display_url == "postgres://reader:***@db.internal/shop"


def test_an_unset_environment_variable_is_named(monkeypatch):
    monkeypatch.delenv("SHOP_DB", raising=False)
    text = MINIMAL.format(path="x").replace("sqlite:///x", "${SHOP_DB}")
    with pytest.raises(DataMapError) as caught:
        parse_datamap(text)
    assert "SHOP_DB is not set" in caught.value.problems[0]


def test_two_files_describing_the_same_source_are_refused(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(MINIMAL.format(path=tmp_path / "shop.sqlite3"))
    with pytest.raises(DataMapError, match="already described"):
        load_datamaps([tmp_path / "a.yaml", tmp_path / "b.yaml"])


def test_several_files_make_one_deployment(tmp_path, settings):
    store = seed(tmp_path / "one", customers=5)
    (tmp_path / "shop.yaml").write_text(MINIMAL.format(path=tmp_path / "shop.sqlite3"))
    settings.STORE_DATAMAPS = [str(store.datamap_path), str(tmp_path / "shop.yaml")]
    assert set(configured_datamap().sources) == {"store", "shop"}


def _shop_database(path: Path, *, with_visits: bool, with_name: bool) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        f"CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT{', name TEXT' if with_name else ''})"
    )
    if with_visits:
        conn.execute("CREATE TABLE visits (id INTEGER PRIMARY KEY, user_id INTEGER, at TEXT, ip TEXT)")
    conn.commit()
    conn.close()


def test_check_datamap_reports_every_missing_table_and_column_of_the_live_database(tmp_path, capsys):
    _shop_database(tmp_path / "shop.sqlite3", with_visits=False, with_name=False)
    path = tmp_path / "shop.yaml"
    path.write_text(MINIMAL.format(path=tmp_path / "shop.sqlite3"))
    with pytest.raises(CommandError) as caught:
        call_command("check_datamap", str(path))
    assert caught.value.returncode == 1
    err = capsys.readouterr().err
    assert "table “users” has no column “name” (identity)" in err
    assert "the table “visits” does not exist" in err


def test_check_datamap_accepts_a_map_that_matches_its_database(tmp_path, capsys):
    _shop_database(tmp_path / "shop.sqlite3", with_visits=True, with_name=True)
    path = tmp_path / "shop.yaml"
    path.write_text(MINIMAL.format(path=tmp_path / "shop.sqlite3"))
    call_command("check_datamap", str(path))
    assert "data map OK: 1 source(s), 2 tables" in capsys.readouterr().out


def test_check_datamap_on_the_generated_store_passes(tmp_path, capsys):
    store = seed(tmp_path, customers=5)
    call_command("check_datamap", str(store.datamap_path))
    assert "every join resolves" in capsys.readouterr().out


def test_check_datamap_reports_schema_errors_with_lines(tmp_path, capsys):
    path = tmp_path / "shop.yaml"
    path.write_text(MINIMAL.format(path="x").replace("version: 1", "version: 2"))
    with pytest.raises(CommandError):
        call_command("check_datamap", str(path))
    assert "line 1: version" in capsys.readouterr().err


def test_a_source_that_is_down_is_named_not_reported_empty(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text(MINIMAL.format(path=tmp_path / "missing.sqlite3"))
    datamap = load_datamaps([path])
    problems = datamap_problems(datamap)
    assert len(problems) == 1
    assert "“shop”" in problems[0]
    assert "cannot be reached" in problems[0]
    assert not (tmp_path / "missing.sqlite3").exists()  # read-only: no empty database was created


def test_connecting_to_an_unreachable_postgresql_raises_source_unavailable():
    from workflow.datamap import connect

    with (
        pytest.raises(SourceUnavailable, match="cannot be reached"),
        connect("postgres://nobody@127.0.0.1:1/none", source_name="shop"),
    ):
        pass


def test_check_datamap_without_a_file_checks_every_configured_map(tmp_path, settings, capsys):
    store = seed(tmp_path / "one", customers=5)
    (tmp_path / "shop.yaml").write_text(MINIMAL.format(path=tmp_path / "shop.sqlite3"))
    settings.STORE_DATAMAPS = [str(store.datamap_path), str(tmp_path / "shop.yaml")]
    with pytest.raises(CommandError):
        call_command("check_datamap")
    captured = capsys.readouterr()
    assert f"{store.datamap_path}: data map OK" in captured.out
    assert "shop.yaml: “shop”" in captured.err or "shop.yaml: The store source “shop”" in captured.err
