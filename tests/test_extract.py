import fixtures as fx
from fixture_server import Route

from ingest.articles import extract_html, fetch_article


def test_extraction_drops_boilerplate():
    result = extract_html(fx.page("Troops reach Kursk", fx.TROOPS), source="x")
    assert result.reason == "" and result.title == "Troops reach Kursk"
    assert "intelligence agency" in result.text
    for boilerplate in ("We use cookies", "Related", "Comment:", "© 2026"):
        assert boilerplate not in result.text
    assert result.language == "en"


def test_windows_1251_page_declared_in_meta():
    html = fx.page("Новости", ["Северная Корея продолжает поставлять России артиллерийские снаряды, сообщили аналитики по спутниковым снимкам из порта Раджин."] * 2, "ru", "windows-1251")
    result = extract_html(html.encode("windows-1251"), source="x")
    assert "Северная Корея" in result.text and result.language == "ru"


def test_empty_and_non_html(server, client):
    assert extract_html(b"", source="x").reason == "empty page"
    url = server.add("/img", Route(b"\x89PNG", content_type="image/png"))
    assert "not an HTML page" in fetch_article(client, url).reason
    missing = fetch_article(client, server.url("/gone"))
    assert missing.reason.startswith("http_status") and missing.http_status == 404
