"""Every Kafka chore has one home here; nothing else builds a client or loops on a broker."""
