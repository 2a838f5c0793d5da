"""``container_detail``: the engine's inspect answer read into the detail panel's fields —
published ports (live ones, else the ones asked for), exposed-only ports, mounts, the
restart policy, the health log and the environment; a missing or odd part reads empty."""

from __future__ import annotations

from windflow_desktop.domain.containers import (
    HealthCheck,
    MountInfo,
    PortMapping,
    container_detail,
)

INSPECT: dict[str, object] = {
    "Id": "0123456789abcdef0123", "Name": "/shop-web-1", "Path": "httpd",
    "Args": ["-f", "-p", "80"],
    "State": {"Status": "running", "Health": {"Status": "unhealthy", "Log": [
        {"Start": "2026-12-05T14:00:01.5Z", "ExitCode": 0, "Output": "ok\n"},
        {"Start": "2026-12-05T14:00:02.5Z", "ExitCode": 1, "Output": "refused\n"}]}},
    "Config": {"Image": "localhost/busybox", "Entrypoint": None,
               "Cmd": ["sh", "-c", "echo hi; sleep 9"],
               "Env": ["A=1", "EMPTY=", "DB_PASSWORD=********", "NOVALUE"],
               "ExposedPorts": {"80/tcp": {}, "9000/udp": {}, "443/tcp": {}}},
    "HostConfig": {"RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                   "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}},
    "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
                                             {"HostIp": "::", "HostPort": "8080"}],
                                  "443/tcp": None}},
    "Mounts": [{"Type": "volume", "Name": "shop_data", "Source": "/var/lib/x",
                "Destination": "/data", "RW": True},
               {"Type": "bind", "Source": "/etc/shop", "Destination": "/conf", "RW": False},
               "not a mount"],
}


def test_reads_every_field() -> None:
    d = container_detail(INSPECT)
    assert (d.id, d.short_id, d.name) == ("0123456789abcdef0123", "0123456789ab", "shop-web-1")
    assert d.image == "localhost/busybox" and d.state == "running"
    assert d.command == 'sh -c "echo hi; sleep 9"'
    assert d.ports == (PortMapping("80/tcp", "0.0.0.0", "8080"),
                       PortMapping("80/tcp", "::", "8080"), PortMapping("443/tcp"),
                       PortMapping("9000/udp"))
    assert [str(p) for p in d.ports] == ["8080 → 80/tcp", "8080 → 80/tcp",
                                         "443/tcp (not published)", "9000/udp (not published)"]
    assert d.mounts == (MountInfo("volume", "shop_data", "/data", False),
                        MountInfo("bind", "/etc/shop", "/conf", True))
    assert str(d.mounts[1]) == "/etc/shop → /conf (bind, read-only)"
    assert d.restart_policy == "unless-stopped"
    assert d.health == "unhealthy"
    assert d.health_log[-1] == HealthCheck("2026-12-05T14:00:02.5Z", 1, "refused")
    assert d.environment == (("A", "1"), ("EMPTY", ""), ("DB_PASSWORD", "********"),
                             ("NOVALUE", ""))


def test_a_stopped_container_shows_the_ports_asked_for() -> None:
    stopped = {**INSPECT, "NetworkSettings": {"Ports": {}},
               "HostConfig": {"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 5},
                              "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1",
                                                           "HostPort": "8080"}]}},
               "Config": {"Image": "x", "Cmd": None}}
    d = container_detail(stopped)
    assert [str(p) for p in d.ports] == ["127.0.0.1:8080 → 80/tcp"]
    assert d.restart_policy == "on-failure (at most 5 retries)"
    assert d.command == "httpd -f -p 80"   # no Cmd: the engine's Path and Args


def test_an_odd_answer_reads_empty() -> None:
    d = container_detail({"Id": "abc", "Config": None, "Mounts": None, "State": "odd"})
    assert (d.name, d.image, d.command, d.state) == ("", "", "", "")
    assert d.ports == d.mounts == d.health_log == d.environment == ()
    assert d.restart_policy == "no" and d.health == ""
