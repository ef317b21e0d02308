import ipaddress

import pytest
from fixture_server import Route

from ingest.http import BadUrlError, BlockedError, HttpClient, HttpSettings
from ingest.netguard import AddressPolicy, BlockedDestination, is_public


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4", "169.254.169.254", "100.64.0.1", "224.0.0.1",
     "0.0.0.0", "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "240.0.0.1"],
)
def test_non_public_addresses_are_refused(address):
    assert not is_public(ipaddress.ip_address(address))
    assert not AddressPolicy().permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert AddressPolicy().permits(ipaddress.ip_address(address))


@pytest.mark.parametrize("host", ["127.0.0.1", "0x7f.1", "2130706433", "localhost", "localhost.", "127.1"])
def test_odd_spellings_of_loopback_are_refused_after_resolution(host):
    with pytest.raises(BlockedDestination):
        AddressPolicy().resolve(host, 80)


def test_allowed_network_opens_loopback():
    policy = AddressPolicy([ipaddress.ip_network("127.0.0.1/32")])
    assert policy.resolve("127.0.0.1", 80) == [ipaddress.ip_address("127.0.0.1")]


def test_client_refuses_loopback_unless_allowed(server):
    url = server.add("/ok", Route("hello"))
    with HttpClient(HttpSettings(retries=0)) as strict:
        with pytest.raises(BlockedError):
            strict.get(url)
    assert server.requests == []  # refused before any byte was sent
    allowed = HttpSettings(retries=0, allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    with HttpClient(allowed) as open_client:
        assert open_client.get(url).body == b"hello"


def test_redirect_to_a_blocked_address_is_refused(server):
    # The first hop is allowed (127.0.0.1/32); the redirect goes to 127.0.0.2, which is not.
    url = server.add("/hop", Route(status=302, location=f"http://127.0.0.2:{server.port}/ok"))
    settings = HttpSettings(retries=0, allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    with HttpClient(settings) as c, pytest.raises(BlockedError):
        c.get(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://x/", "/etc/passwd"])
def test_only_http_and_https(client, url):
    with pytest.raises(BadUrlError):
        client.get(url)
