"""The ground floor: what every layer above stands on, importing only libraries.

- ``config``: the one frozen settings object (``STREAMSCORE_*``);
- ``errors``: the one error tree, each message saying what to do;
- ``kafka``: every Kafka chore, once: building clients from the settings
  (``clients``), topics and broker readiness (``admin``), reading a topic from a
  start to its end (``reading``), the embedded local broker (``local``);
- ``tables``: reading and writing CSV/TSV/Parquet/JSON Lines files (and chunks);
- ``times``: parsing timestamps (epoch milliseconds or ISO-8601).
"""
