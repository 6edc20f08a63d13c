"""The demo's STOMP websocket, end to end: a real STOMP client (websocket-client plus the frames
in tests/integration/stomp.py) through the image's web port, where nginx proxies the upgrade to
the Vert.x back end's StompServer."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.integration.conftest import run_container
from tests.integration.stomp import StompClient

pytestmark = pytest.mark.integration
PATH = "/api/web-socket/stomp"


@pytest.fixture(scope="module")
def demo(demo_image):
    with run_container(demo_image.image, wait="/api/health") as running:
        yield running


def ws_url(demo) -> str:
    return f"ws://127.0.0.1:{demo.port}{PATH}"


def message_on(sub_id: str, check=lambda body: True):
    return lambda f: f.command == "MESSAGE" and f.headers.get("subscription") == sub_id and check(json.loads(f.body))


def test_connect_subscribe_and_a_round_trip(demo):
    with StompClient(ws_url(demo)) as stomp:
        assert stomp.ws.getsubprotocol() == "v12.stomp"
        connected = stomp.connect()
        assert connected.command == "CONNECTED", connected
        assert connected.headers["version"] == "1.2"
        assert connected.headers["server"].startswith("vertx-stomp/")

        stomp.subscribe("/topic/echo", "echoes")
        text = f"hello from pytest {uuid.uuid4().hex[:8]} ✓"
        stomp.send("/app/echo", text)
        echo = stomp.wait_for(message_on("echoes", lambda b: b["echo"] == text), 10)
        assert echo.headers["destination"] == "/topic/echo"
        assert echo.headers["content-length"] == str(len(echo.body))


def test_ticks_arrive_on_their_own(demo):
    with StompClient(ws_url(demo)) as stomp:
        assert stomp.connect().command == "CONNECTED"
        stomp.subscribe("/topic/ticks", "ticks")
        first = json.loads(stomp.wait_for(message_on("ticks"), 12).body)
        second = json.loads(stomp.wait_for(message_on("ticks"), 12).body)
        assert first["app"] == "zero-demo" and second["tick"] == first["tick"] + 1


def test_send_to_a_destination_the_bridge_does_not_permit_is_an_error(demo):
    with StompClient(ws_url(demo)) as stomp:
        assert stomp.connect().command == "CONNECTED"
        stomp.send("/topic/ticks", "not yours to publish")
        frame = stomp.read(10)
        assert frame.command == "ERROR" and "Access denied" in frame.headers.get("message", ""), frame


def test_an_idle_connection_stays_open_past_a_minute(demo):
    """No heart-beats (heart-beat:0,0) and no traffic for 65 s: neither nginx's proxy timeouts
    nor the back end may close the connection, and it still carries a round trip afterwards."""
    with StompClient(ws_url(demo), timeout=90) as stomp:
        connected = stomp.connect(heartbeat="0,0")
        assert connected.command == "CONNECTED"
        stomp.subscribe("/topic/echo", "idle")
        started = time.monotonic()
        with pytest.raises(TimeoutError):  # nothing at all comes in the idle minute
            stomp.read(65)
        assert time.monotonic() - started >= 65
        text = f"still here {uuid.uuid4().hex[:8]}"
        stomp.send("/app/echo", text)
        stomp.wait_for(message_on("idle", lambda b: b["echo"] == text), 10)


def test_sessions_left_no_error_in_the_log(demo, container_logs):
    """Every session above ended (DISCONNECT, close frame): the back end logged no error."""
    logs = container_logs(demo.name)
    assert " 101 " in logs  # nginx passed the upgrades
    for error in (" ERROR ", "Exception"):  # (nginx's [error] lines are its start-up 502s)
        assert error not in logs, logs[-3000:]
