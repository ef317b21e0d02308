import re

import pytest

from axiswatch.config import ConfigError, load_feeds, load_settings


def write(tmp_path, text, name="feeds.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_feeds(tmp_path):
    feeds = load_feeds(write(tmp_path, "feeds:\n  - name: a\n    url: https://a.example/rss\n    language: en\n"))
    assert feeds[0].name == "a" and feeds[0].enabled and feeds[0].outlet == ""


@pytest.mark.parametrize(
    "text,needle",
    [
        ("feeds:\n  - name: a\n    url: https://a.example/rss\n  - name: bad\n    url: ftp://x\n", "feed #2 ('bad'): url"),
        ("feeds:\n  - url: https://a.example/rss\n", "feed #1: name"),
        ("feeds:\n  - name: a\n    url: https://a.example/rss\n    colour: red\n", "feed #1 ('a'): colour"),
        ("feeds:\n  - name: a\n    url: https://a.example/rss\n  - name: a\n    url: https://b.example/rss\n", "duplicate"),
        ("feeds: [\n", "not valid YAML"),
        ("other: 1\n", "top-level 'feeds:'"),
    ],
)
def test_bad_feeds_file_names_feed_and_field(tmp_path, text, needle):
    with pytest.raises(ConfigError) as info:
        load_feeds(write(tmp_path, text))
    assert needle in str(info.value) and "feeds.yaml" in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_feeds_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_feeds(tmp_path / "nope.yaml")


def test_settings_override_only_what_they_name(tmp_path):
    settings = load_settings(write(tmp_path, "workers: 3\nhttp:\n  retries: 0\n", "s.yaml"))
    assert settings.workers == 3 and settings.http.retries == 0 and settings.http.max_redirects == 5


def test_bad_network_in_settings(tmp_path):
    with pytest.raises(ConfigError, match="allow_networks"):
        load_settings(write(tmp_path, "http:\n  allow_networks: ['not-a-cidr']\n", "s.yaml"))


def test_shipped_config_files_are_valid(repo_root):
    assert len(load_feeds(repo_root / "config/feeds.yaml")) >= 20
    assert len(load_feeds(repo_root / "demo/feeds.yaml")) >= 6
    load_settings(repo_root / "config/settings.yaml")
    load_settings(repo_root / "demo/settings.yaml")


def _leaves(model, prefix=""):
    """Dotted names of every setting, nested sections included."""
    from pydantic import BaseModel

    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            yield from _leaves(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def _shown(data, prefix=""):
    for key, value in data.items():
        if isinstance(value, dict):
            yield from _shown(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def test_settings_file_shows_every_setting_with_its_default(repo_root, monkeypatch):
    """config/settings.yaml says it shows every key with its default: hold it to that."""
    import os
    import re

    import yaml

    from axiswatch.config import Settings

    for name in [n for n in os.environ if n.startswith("AXISWATCH_")]:
        monkeypatch.delenv(name)
    path = repo_root / "config/settings.yaml"
    text = path.read_text(encoding="utf-8")
    commented = set(re.findall(r"^# (\w+):", text, re.MULTILINE))  # keys without a default value
    defaults = Settings()
    assert set(_leaves(defaults)) == set(_shown(yaml.safe_load(text))) | commented
    assert all(getattr(defaults, key) is None for key in commented)
    assert load_settings(path) == defaults


def test_environment_overrides_the_settings_file(tmp_path, monkeypatch):
    path = write(tmp_path, "workers: 3\nhttp:\n  retries: 4\n  per_host_limit: 5\n", "settings.yaml")
    monkeypatch.setenv("AXISWATCH_WORKERS", "6")
    monkeypatch.setenv("AXISWATCH_HTTP__RETRIES", "0")
    monkeypatch.setenv("AXISWATCH_CLUSTERS__WINDOW_DAYS", "3")
    settings = load_settings(path)
    assert (settings.workers, settings.http.retries, settings.http.per_host_limit) == (6, 0, 5)
    assert settings.clusters.window_days == 3
    monkeypatch.setenv("AXISWATCH_FEED__MAX_ENTRIES", "lots")
    with pytest.raises(ConfigError, match="^AXISWATCH_FEED__MAX_ENTRIES: "):  # the variable, not the file
        load_settings(path)


@pytest.mark.parametrize("text,needle", [
    ("clusters:\n  window_day: 3\n", "clusters.window_day"),
    ("feed:\n  max_entries: 0\n", "feed.max_entries"),
    ("search:\n  rebuild_share: -1\n", "search.rebuild_share"),
    ("- a\n- b\n", "expected a mapping"),
])
def test_bad_settings_name_the_section_and_key(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=re.escape(needle)):
        load_settings(write(tmp_path, text, "settings.yaml"))
