"""The front door: the ``streamscore`` command and the programs it runs.

``main`` is the root app; ``broker``, ``batch``, ``replay`` and ``stream`` hold the
commands (kafka/topics/config; train/predict/models; replay/synth; worker/dlq);
``demo`` and ``bench`` are the programs behind ``streamscore demo`` and
``streamscore bench``; ``processes`` runs worker processes for them. This is the
top layer: it may import every package below (``streams``, ``producers``,
``models``, ``ground``); nothing below imports it.
"""
