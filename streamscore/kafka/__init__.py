"""Apache Kafka: the embedded local broker and topic administration."""
