"""Put data on topics: replay recorded files and synthetic streams with known drift.

Modules, in the order data flows through them: ``sources`` (read files in chunks),
``events`` (rows -> keyed JSON), ``pacing`` (when each event is due), ``labels``
(delayed labels), ``sender`` (the kafka-python producer), ``replay`` (the loop that
ties them together), ``synthetic`` (drift streams), ``progress``, ``bench`` and ``cli``.

Public API: ``producers.replay.replay`` -> ``ReplayStats``,
``producers.synthetic.generate`` / ``write``, ``producers.sender.ProducerOptions``.
"""
