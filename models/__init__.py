"""Pure ML, no Kafka (``streamscore.models``): what a model is and how it is judged.

- ``schema``, ``features``: which columns a model reads and how one row is validated
  (the one row-to-features path shared by training, ``predict`` and the stream);
- ``pipeline``, ``training``, ``metrics``: the scikit-learn batch model, trained and evaluated;
- ``artifact``, ``registry``: versions on disk, loaded safely (sha256, trusted types);
- ``scoring``: offline scoring of a file, the twin of the stream's scorer;
- ``reference``: the training data's statistics that drift is measured against;
- ``drift``: window counts merged across workers, drift statistics with thresholds
  from a false-alarm budget, alerts that rise and clear once, ``drift`` topic records.

The online model, the drift statistics and the concept-drift detectors live here
too: the stream calls them, they never see Kafka.
"""
