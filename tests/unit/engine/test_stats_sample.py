"""A stats sample of the Engine API read as ``docker stats`` reads it."""

from __future__ import annotations

from windflow_desktop.engine.docker_api import _engine_time, _stats


def _raw(total: int, pre_total: int, system: int, pre_system: int, cpus: int = 2,
         **memory: int) -> dict[str, object]:
    return {
        "read": "2026-12-05T14:30:00.250000000Z",
        "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system,
                      "online_cpus": cpus},
        "precpu_stats": {"cpu_usage": {"total_usage": pre_total},
                         "system_cpu_usage": pre_system},
        "memory_stats": {"usage": memory.get("usage", 0), "limit": 1000,
                         "stats": {k: v for k, v in memory.items() if k != "usage"}},
        "networks": {"eth0": {"rx_bytes": 10, "tx_bytes": 20},
                     "eth1": {"rx_bytes": 1, "tx_bytes": 2}},
        "blkio_stats": {"io_service_bytes_recursive": [
            {"op": "read", "value": 4096}, {"op": "write", "value": 512},
            {"op": "Read", "value": 4}, {"op": "Total", "value": 9999}]},
    }


def test_cpu_is_the_share_of_the_host_times_its_cores() -> None:
    # One of two cores busy: half the host's CPU time, times two cores = 100 % (one core).
    assert _stats(_raw(500, 0, 1000, 0, cpus=2)).cpu_percent == 100.0
    assert _stats(_raw(10, 0, 1000, 0, cpus=2)).cpu_percent == 2.0
    assert _stats(_raw(0, 0, 0, 0)).cpu_percent == 0.0   # no previous sample: no delta


def test_memory_leaves_out_the_inactive_page_cache() -> None:
    assert _stats(_raw(0, 0, 1, 0, usage=800, inactive_file=300)).memory_bytes == 500  # v2
    assert _stats(_raw(0, 0, 1, 0, usage=800, total_inactive_file=100)).memory_bytes == 700
    sample = _stats(_raw(0, 0, 1, 0, usage=800))
    assert (sample.memory_bytes, sample.memory_limit_bytes, sample.memory_percent) == (
        800, 1000, 80.0)


def test_network_and_block_io_are_summed() -> None:
    sample = _stats(_raw(0, 0, 1, 0))
    assert (sample.network_rx_bytes, sample.network_tx_bytes) == (11, 22)
    assert (sample.block_read_bytes, sample.block_write_bytes) == (4100, 512)
    assert sample.online_cpus == 2


def test_engine_time() -> None:
    assert _engine_time("2026-12-05T14:30:00.250000000Z") == 1796481000.25
    assert _engine_time("2026-12-05T14:30:00+01:00") == 1796477400.0
    assert _engine_time("0001-01-01T00:00:00Z") == 0.0
    assert _engine_time(None) == 0.0
