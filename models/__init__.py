"""Pure ML, no Kafka: training, artifacts and registry, reference statistics."""
