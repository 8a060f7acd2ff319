"""The options both clients take alike (``tuner.api.base.TransportOptions``)."""

from __future__ import annotations

from typing import Any

import pytest

from tuner.api import RetryPolicy, Timeouts, TunerClient
from tuner.api.openai import OpenAIClient

from .support import KEY_A

CLIENTS: list[type[Any]] = [TunerClient, OpenAIClient]


@pytest.mark.parametrize("client_type", CLIENTS)
def test_a_misspelt_option_is_refused_not_ignored(client_type: type[Any]) -> None:
    with pytest.raises(TypeError, match="'timeout'"):
        client_type([KEY_A], timeout=Timeouts(read=1.0))


@pytest.mark.parametrize("client_type", CLIENTS)
def test_options_left_out_take_the_shared_defaults(client_type: type[Any]) -> None:
    client = client_type([KEY_A])
    transport = client._transport
    assert transport.timeouts == Timeouts()
    assert transport.policy == RetryPolicy()


@pytest.mark.parametrize("client_type", CLIENTS)
def test_given_options_reach_the_transport(client_type: type[Any]) -> None:
    timeouts, retry = Timeouts(read=3.0), RetryPolicy(max_attempts=2)
    client = client_type([KEY_A], timeouts=timeouts, retry=retry, wall_clock=lambda: 5.0)
    assert client._transport.timeouts is timeouts
    assert client._transport.policy is retry
    assert client._transport.wall_clock() == 5.0
