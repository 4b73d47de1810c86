"""Reading a program's cgroup counters, as the kernel writes them on cgroup v1 and v2."""

from __future__ import annotations

import os
import time
from pathlib import Path

from socklab.grading.program import CpuUse, CpuWatch, _counted, _cpu_sample

V2_CPU_STAT = """usage_usec 1300000
user_usec 1200000
system_usec 100000
nr_periods 29
nr_throttled 20
throttled_usec 1450000
nr_bursts 0
burst_usec 0
"""
V1_CPU_STAT = "nr_periods 40\nnr_throttled 10\nthrottled_time 500000000\n"


def test_cgroup_v2_cpu_stat_has_time_and_periods(tmp_path: Path) -> None:
    stat = tmp_path / "cpu.stat"
    stat.write_text(V2_CPU_STAT)
    use = CpuUse()
    assert _cpu_sample(stat, None, use)
    assert (use.cpu, use.periods, use.throttled) == (1.3, 29, 20)


def test_cgroup_v1_takes_the_time_from_cpuacct(tmp_path: Path) -> None:
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpuacct").mkdir()
    stat, usage = tmp_path / "cpu" / "cpu.stat", tmp_path / "cpuacct" / "cpuacct.usage"
    stat.write_text(V1_CPU_STAT)
    usage.write_text("2500000000\n")
    use = CpuUse()
    assert _cpu_sample(stat, usage, use)
    assert (use.cpu, use.periods, use.throttled) == (2.5, 40, 10)


def test_a_cgroup_gone_with_its_program_is_no_sample(tmp_path: Path) -> None:
    use = CpuUse(cpu=1.0)
    assert not _cpu_sample(tmp_path / "gone" / "cpu.stat", None, use)
    assert use.cpu == 1.0  # the last sample stays


def test_events_count_a_key_only_when_it_happened(tmp_path: Path) -> None:
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n")
    assert not _counted(events, "max") and not _counted(events, "oom_kill")
    events.write_text("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n")
    assert _counted(events, "max") and _counted(events, "oom_kill")


def test_a_watch_counts_from_its_first_look_and_adds_the_wait_for_a_cpu(tmp_path: Path) -> None:
    """The processes listed in cgroup.procs (this one here) give their run delay."""
    stat = tmp_path / "cpu.stat"
    (tmp_path / "cgroup.procs").write_text(f"{os.getpid()}\n")
    watch = CpuWatch()
    stat.write_text("usage_usec 1000000\nnr_periods 10\nnr_throttled 2\n")
    watch.sample(stat, None)
    time.sleep(0.05)
    stat.write_text("usage_usec 1500000\nnr_periods 20\nnr_throttled 9\n")
    watch.sample(stat, None)
    use = watch.use
    assert (use.cpu, use.periods, use.throttled) == (0.5, 10, 7)
    assert 0.04 < use.wall < 5 and use.waited >= 0
