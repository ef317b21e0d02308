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
