"""Pure ML, no Kafka: training, the artifact format and registry, online models, drift statistics."""
