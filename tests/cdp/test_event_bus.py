"""``cdp.events.EventBus.subscribers``: which handlers an event has, without reaching into the bus."""

from cdp.events import EventBus


def test_subscribers_are_listed_in_subscription_order_once_each():
    bus = EventBus("tests", ("thing.done",))

    def first(**kwargs):
        pass

    def second(**kwargs):
        pass

    bus.subscribe("thing.done", first)
    bus.subscribe("thing.done", second)
    bus.subscribe("thing.done", first)
    assert bus.subscribers("thing.done") == (first, second)
    assert bus.subscribers("thing.other") == ()
