"""streamscore: real-time ML inference on Kafka event streams.

The house, bottom up; imports only go down (``tests/test_layers.py`` checks it)::

    cli/        the front door: the `streamscore` command, demo, bench, monitor, report
    streams/    the Faust app: score, join labels, learn, measure drift   (-> models, ground)
    producers/  replay files and synthetic streams onto topics            (-> models, ground)
    models/     pure ML, no Kafka: training, artifacts, online models, drift statistics
    ground/     settings, errors, every Kafka chore, table files, timestamps

``models``, ``producers`` and ``streams`` live in the repository's top-level folders
of those names and are reached here as ``streamscore.models`` and so on, so a
user's own ``models`` package can never shadow them.
"""

__version__ = "0.1.0"
