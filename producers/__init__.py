"""Put data on topics (``streamscore.producers``): replay files, synthetic streams with drift.

Modules, in the order data flows through them: ``events`` (rows -> keyed JSON),
``pacing`` (when each event is due), ``labels`` (delayed labels), ``sender`` (the
kafka-python producer), ``replay`` (the loop that ties them together),
``synthetic`` (streams with known drift), ``progress`` (the bar). Files are read
in chunks by ``streamscore.ground.tables``.

Public API: ``replay.replay`` -> ``ReplayStats``, ``synthetic.generate`` / ``write``,
``sender.ProducerOptions``.
"""
