"""Concurrent calls of one Redis script share a round trip (alawael.infra.script_batches),
each caller still gets its own reply, and a Redis that lost its scripts is handled."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from alawael.infra.script_batches import ScriptBatches

# Echoes its key and argument, and counts calls on the server.
ECHO = "redis.call('INCR', 'batches:calls'); return {KEYS[1], ARGV[1]}"


async def test_calls_in_one_turn_share_one_pipeline_and_get_their_own_replies(
    redis_url: str,
) -> None:
    redis = Redis.from_url(redis_url)
    try:
        batches = ScriptBatches(redis, ECHO)
        replies = await asyncio.gather(*(batches.call([f"k{i}"], [i]) for i in range(5)))
        assert replies == [[f"k{i}".encode(), str(i).encode()] for i in range(5)]
        assert (batches.batches, batches.calls) == (1, 5)
        assert await redis.get("batches:calls") == b"5"  # each ran once, none twice

        alone = await batches.call(["solo"], ["x"])
        assert alone == [b"solo", b"x"]
        assert (batches.batches, batches.calls) == (2, 6)
    finally:
        await redis.aclose()


async def test_a_redis_without_the_script_is_given_it(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        batches = ScriptBatches(redis, ECHO)
        await redis.script_flush()
        assert await batches.call(["a"], [1]) == [b"a", b"1"]  # alone: plain EVALSHA
        await redis.script_flush()
        replies = await asyncio.gather(batches.call(["b"], [2]), batches.call(["c"], [3]))
        assert list(replies) == [[b"b", b"2"], [b"c", b"3"]]  # a pipeline of NOSCRIPTs, retried
        assert await redis.get("batches:calls") == b"3"
    finally:
        await redis.aclose()
