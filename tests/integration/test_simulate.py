"""The simulator offers a city's worst hour, on the same partitions kafka-python would choose."""

from kafka.partitioner.default import murmur2

from citybrain.events import Topic
from citybrain.runtime.broker import ensure_topics
from citybrain.sim.publish import key_hash
from tests.helpers import read_topic, run_citybrain


def test_keys_land_on_the_partitions_kafka_python_would_choose():
    for i in range(2000):
        key = f"S{i:06d}".encode()
        for n in (1, 4, 12):
            # what BatchPublisher chooses, twice (the second from memory), is kafka-python's (and Java's) rule
            assert key_hash(key) % n == key_hash(key) % n == (murmur2(key) & 0x7FFFFFFF) % n


def test_simulate_at_a_high_rate_puts_every_event_it_counts_on_the_topics(bootstrap):
    """The rate it sustains is measured by `citybrain bench pipeline`; here, that what it says it sent is
    what the broker holds."""
    ensure_topics(bootstrap, 2)
    result = run_citybrain(
        ["simulate", "--rate", "20000", "--duration", "3"],
        timeout=90,
        kafka_bootstrap=bootstrap,
        partitions=2,
    )
    assert result.returncode == 0, result.stderr
    sent = int(result.stdout.split()[1].replace(",", ""))
    assert sent > 20000 and "/s; asked for 20,000/s" in result.stdout
    on_topics = sum(
        len(read_topic(bootstrap, t.value, 2))
        for t in (Topic.READINGS, Topic.CAMERA_STATUS, Topic.CASE_EVENTS)
    )
    assert on_topics == sent


def test_the_publisher_counts_events_sent_per_topic(bootstrap):
    import asyncio

    from prometheus_client import REGISTRY

    from citybrain.sim.publish import BatchPublisher

    ensure_topics(bootstrap, 2)

    def sent(topic: str) -> float:
        return REGISTRY.get_sample_value("citybrain_sim_events_sent_total", {"topic": topic}) or 0.0

    before = {t: sent(t.value) for t in (Topic.READINGS, Topic.CASE_EVENTS, Topic.CAMERA_STATUS)}

    async def send() -> int:
        publisher = BatchPublisher(bootstrap)
        await publisher.start()
        try:
            return await publisher.publish(
                [(Topic.READINGS.value, b"S1", b"{}")] * 5 + [(Topic.CASE_EVENTS.value, b"C1", b"{}")] * 3
            )
        finally:
            await publisher.stop()

    assert asyncio.run(send()) == 8
    assert sent(Topic.READINGS.value) - before[Topic.READINGS] == 5
    assert sent(Topic.CASE_EVENTS.value) - before[Topic.CASE_EVENTS] == 3
    assert sent(Topic.CAMERA_STATUS.value) == before[Topic.CAMERA_STATUS]
