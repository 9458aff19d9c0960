from pathlib import Path

import pytest

from citybrain.config import ConfigError
from citybrain.geo.city import City
from citybrain.settings import PROJECT_ROOT


def write_city(tmp_path: Path, text: str) -> Path:
    (tmp_path / "city.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "districts.geojson").write_text((PROJECT_ROOT / "config/districts.geojson").read_text())
    return tmp_path


def test_the_shipped_city_has_chengdus_20_districts():
    city = City.load(PROJECT_ROOT / "config")
    assert len(city.districts) == 20
    assert {d.adcode for d in city.districts} == {f["properties"]["adcode"] for f in city.geojson["features"]}
    assert city.frame.set_index("adcode").loc["510104", "name_en"] == "Jinjiang"


def test_a_bad_key_names_file_and_key(tmp_path):
    text = (
        (PROJECT_ROOT / "config/city.yaml")
        .read_text(encoding="utf-8")
        .replace('adcode: "510105"', 'adcode: "51x"')
    )
    with pytest.raises(ConfigError) as err:
        City.load(write_city(tmp_path, text))
    message = str(err.value)
    assert "city.yaml" in message and "districts.1.adcode" in message


def test_broken_yaml_names_file_and_line(tmp_path):
    with pytest.raises(ConfigError, match=r"city\.yaml line \d+: not valid YAML"):
        City.load(write_city(tmp_path, "name_zh: [unclosed\n"))


def test_missing_boundary_is_named(tmp_path):
    text = (PROJECT_ROOT / "config/city.yaml").read_text(
        encoding="utf-8"
    ) + '  - {adcode: "510199", name_zh: 测试区, name_en: Test}\n'
    with pytest.raises(ConfigError, match="no boundary for district.*510199"):
        City.load(write_city(tmp_path, text))


def test_duplicate_district_is_refused(tmp_path):
    text = (PROJECT_ROOT / "config/city.yaml").read_text(
        encoding="utf-8"
    ) + '  - {adcode: "510104", name_zh: 锦江区, name_en: Jinjiang}\n'
    with pytest.raises(ConfigError, match="districts: .*510104 listed twice"):
        City.load(write_city(tmp_path, text))


def test_the_city_time_zone_is_validated():
    assert str(City.load(PROJECT_ROOT / "config").tz) == "Asia/Shanghai"


def test_an_unknown_time_zone_is_named(tmp_path):
    text = (
        (PROJECT_ROOT / "config/city.yaml")
        .read_text(encoding="utf-8")
        .replace("timezone: Asia/Shanghai", "timezone: Asia/Chengdu")
    )
    with pytest.raises(ConfigError, match="timezone: .*'Asia/Chengdu' is not a known IANA time zone"):
        City.load(write_city(tmp_path, text))


def test_storage_config_names_file_and_key(tmp_path):
    from citybrain.store.policies import StorageConfig

    (tmp_path / "storage.yaml").write_text(
        "raw_retention_days: 90\ncompress_after_days: 120\nrollup_1m_retention_days: 30\n"
        "rollup_1h_retention_days: 0\n"
    )
    with pytest.raises(ConfigError) as err:
        StorageConfig.load(tmp_path)
    assert "storage.yaml" in str(err.value) and "rollup_1h_retention_days" in str(err.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    clear_below: 20\n",
            "    clear_below: 30\n",
            "rule 'gas_alarm' (rules.3).sensor_threshold: Value error, clear_below (30.0)",
        ),
        ("    above: 25\n", "    above: lots\n", "rule 'gas_alarm' (rules.3).sensor_threshold.above"),
        (
            "  - source: camera_outage_cluster\n",
            "  - source: no_such_rule\n",
            "inhibit.0.source: no rule 'no_such_rule'",
        ),
        (
            "    severity: warning\n    kind: pm25\n",
            "    severity: severe\n    kind: pm25\n",
            "rule 'pm25_heavy' (rules.4)",
        ),
    ],
)
def test_bad_rules_name_file_rule_and_key(tmp_path, old, new, expected):
    from citybrain.alerts.rules import RulesConfig

    text = (PROJECT_ROOT / "config/rules.yaml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "rules.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        RulesConfig.load(tmp_path)
    assert "rules.yaml" in str(err.value) and expected in str(err.value)
