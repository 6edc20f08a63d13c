import signal
import sys

import pytest

from aurora.host import runner
from aurora.errors import CommandError, MissingToolError


def test_output_and_streaming_split_on_cr_and_lf():
    seen = []
    result = runner.run(["printf", "a\\rb\\nc\\r\\nd"], stream=seen.append)
    assert seen == ["a", "b", "c", "d"]
    assert result.output == "a\nb\nc\nd"


def test_failure_carries_the_tail():
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "echo one; echo two >&2; exit 3"])
    assert info.value.returncode == 3
    assert info.value.output_tail.splitlines() == ["one", "two"]
    assert "exited 3" in info.value.message


def test_death_by_signal_is_a_failure():
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "kill -TERM $$"])
    assert info.value.returncode == -signal.SIGTERM
    assert "killed by signal 15" in info.value.message


def test_stderr_kept_apart_for_json():
    result = runner.run(["sh", "-c", "echo '{}'; echo warning >&2"], merge_stderr=False)
    assert result.output == "{}" and result.stderr.strip() == "warning"


def test_env_is_per_command(monkeypatch):
    monkeypatch.delenv("AURORA_T", raising=False)
    assert runner.output(["sh", "-c", "echo $AURORA_T"], env={"AURORA_T": "x"}) == "x"
    import os

    assert "AURORA_T" not in os.environ


def test_missing_tool_names_the_package():
    with pytest.raises(MissingToolError) as info:
        runner.run(["aurora-no-such-tool"])
    assert "apt-get install" in info.value.hint


def test_a_stalled_command_is_stopped_by_the_timeout():
    import time

    start = time.monotonic()
    with pytest.raises(CommandError) as info:
        runner.run(["sh", "-c", "echo started; sleep 30"], timeout=1)
    assert time.monotonic() - start < 10
    assert "timeout" in info.value.output_tail and "started" in info.value.output_tail


def test_an_interrupt_in_the_main_thread_stops_the_children_of_worker_threads():
    """The assembler builds its engine stages in worker threads; Ctrl-C reaches only the main
    thread, which passes it on (runner.stop_all), so the workers end at once."""
    import threading
    import time

    errors: list[BaseException] = []

    # A child that dies of SIGINT whatever it inherits (started in the background of a shell, as
    # a CI job may be, the test run and its children inherit SIGINT ignored), and says when it can.
    child = [sys.executable, "-u", "-c",
             "import signal, time; signal.signal(signal.SIGINT, signal.SIG_DFL); print('ready'); time.sleep(60)"]
    ready = threading.Event()

    def work() -> None:
        try:
            runner.run(child, stream=lambda line: ready.set())
        except CommandError as exc:
            errors.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    assert ready.wait(timeout=30)
    started = time.monotonic()
    runner.stop_all(KeyboardInterrupt())
    worker.join(timeout=20)
    assert not worker.is_alive() and time.monotonic() - started < 10
    assert len(errors) == 1 and errors[0].returncode == -signal.SIGINT
    assert not runner._LIVE
