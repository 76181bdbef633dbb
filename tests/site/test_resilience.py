"""The fail-fast Redis client and the soft enqueue: an unreachable Redis costs one timeout, then nothing."""

import time
from unittest import mock

import pytest
import redis

from alerts.tasks import check_account_alerts
from creditsite import resilience


@pytest.fixture
def breakers():
    for breaker in (resilience.cache_breaker, resilience.broker_breaker):
        breaker.reset()
    yield
    for breaker in (resilience.cache_breaker, resilience.broker_breaker):
        breaker.reset()


def test_an_unreachable_redis_trips_the_breaker_and_later_calls_fail_at_once(breakers, settings):
    settings.REDIS_RETRY_AFTER_SECONDS = 30
    client = resilience.FailFastRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.3, socket_timeout=0.3)
    with pytest.raises(redis.ConnectionError):
        client.get("key")
    assert resilience.cache_breaker.is_open()
    started = time.monotonic()
    for _ in range(100):
        with pytest.raises(redis.ConnectionError, match="circuit open"):
            client.get("key")
    assert time.monotonic() - started < 0.1


def test_the_breaker_closes_after_its_pause(breakers, settings):
    settings.REDIS_RETRY_AFTER_SECONDS = 0.05
    resilience.cache_breaker.trip(redis.ConnectionError("down"))
    assert resilience.cache_breaker.is_open()
    time.sleep(0.06)
    assert not resilience.cache_breaker.is_open()


def test_enqueue_with_the_broker_down_logs_and_skips_it_for_a_while(breakers, settings, caplog):
    settings.REDIS_RETRY_AFTER_SECONDS = 30
    app = check_account_alerts.app
    eager, app.conf.task_always_eager = app.conf.task_always_eager, False
    try:
        with mock.patch.object(check_account_alerts, "apply_async",
                               side_effect=redis.ConnectionError("refused")) as apply_async:
            assert resilience.enqueue(check_account_alerts, "a") is False
            assert resilience.enqueue(check_account_alerts, "b") is False
        assert apply_async.call_count == 1  # the second call did not wait on the broker
        assert "could not queue alerts.tasks.check_account_alerts" in caplog.text
        resilience.broker_breaker.reset()
        with mock.patch.object(check_account_alerts, "apply_async") as apply_async:
            assert resilience.enqueue(check_account_alerts, "c", countdown=5) is True
        apply_async.assert_called_once_with(("c",), countdown=5)
    finally:
        app.conf.task_always_eager = eager
